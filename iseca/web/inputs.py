"""What the app accepts from a request, decided once for every page:

- one cleaning rule: a control character (NUL and the like) in the address,
  a query parameter or a form field, or a body that is not a form (JSON…),
  is refused with a 400 page before any view or the database sees it
  (PostgreSQL refuses NUL in text; nobody types them);
- one reader for integers in the query string or a hidden form field
  (`id_arg`, `id_args`, `page_arg`, `form_id`, `value_id`, `as_id`),
  bounded to what the database holds;
- form fields for whole numbers, ids of a list and dates, with their
  messages in the reader's language, bounded before conversion.

Ids in the path are bounded by the `int` converter (`web.converters`).
"""
from __future__ import annotations

import datetime as dt
import re

from babel import dates as babel_dates
from flask import Flask, abort, current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest
from wtforms import Field, SelectField
from wtforms.fields import DateField
from wtforms.widgets import TextInput

from .. import i18n
from ..i18n import N_
from ..numbers import DB_INT_MAX, NumberInvalid, fold_digits, parse_whole_number
from .errors import error_response

# C0 controls but tab, line feed and carriage return (text areas send them),
# DEL and the C1 controls: never typed, and NUL breaks PostgreSQL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# Dates the product can mean: 0001-01-01 or 9999-12-31 overflow the
# conversion to UTC (and are typing slips anyway).
FIRST_DATE = dt.date(2000, 1, 1)
LAST_DATE = dt.date(2099, 12, 31)
_DATE_SEPARATORS = str.maketrans({"/": "-", ".": "-", "／": "-", "－": "-", "．": "-"})
DATE_MESSAGE = _l("日付を正しく入力してください（例: 2026-04-01）。")
CHOOSE_FROM_LIST = _l("一覧から選んでください。")


def date_range_message() -> str:
    """The dates accepted, each as the reader writes a date (2000年1月1日, January 1, 2000…)."""
    locale = i18n.current()
    first, last = (babel_dates.format_date(day, "long", locale=locale) for day in (FIRST_DATE, LAST_DATE))
    return _("日付は%(first)sから%(last)sまでの範囲で入力してください。", first=first, last=last)


class InputRefused(BadRequest):
    """A request the app does not read at all, with the message of its 400 page
    (title and message marked with N_: the page translates them)."""

    def __init__(self, title: str, message: str):
        super().__init__(message)
        self.title = title


def has_control_character(text: str) -> bool:
    return _CONTROL.search(text) is not None


def _multidict_has_control(values: MultiDict) -> bool:
    return any(has_control_character(k) or has_control_character(v) for k, v in values.items(multi=True))


def refuse_unreadable_input() -> None:
    """The app-wide cleaning rule (runs before every view)."""
    unreadable = InputRefused(
        N_("入力できない文字が含まれています"),
        N_("入力内容またはアドレスに、使えない制御文字が含まれています。入力し直してから、もう一度お試しください。"),
    )
    if has_control_character(request.path) or _multidict_has_control(request.args):
        raise unreadable
    if request.method in _BODY_METHODS:
        view = current_app.view_functions.get(request.endpoint or "")
        accepted_files = getattr(view, "accepts_files", ())
        if not accepted_files:
            request.max_content_length = min(current_app.config["MAX_CONTENT_LENGTH"] or float("inf"),
                                             current_app.config["FORM_MAX_CONTENT_LENGTH"])
        if request.mimetype and request.mimetype not in _FORM_TYPES:
            raise InputRefused(N_("送信内容を読み取れません"),
                               N_("この画面は入力フォームからの送信だけを受け付けます。画面から操作してください。"))
        if _multidict_has_control(request.form):
            raise unreadable
        if request.files:
            if any(name not in accepted_files for name in request.files):
                # A file where the page has a text field would reach the
                # form as an object its validators cannot read.
                raise InputRefused(N_("送信内容を読み取れません"),
                                   N_("この画面ではファイルを送信できません。画面から操作してください。"))


def accepts_files(*names: str):
    """Mark a view whose form has file fields `names` (other views refuse files)."""

    def mark(view):
        view.accepts_files = names
        return view

    return mark


def init_app(app: Flask) -> None:
    """Install the cleaning rule and its 400 page (call before the other
    before_request hooks, so no view or guard reads unclean input)."""
    app.before_request(refuse_unreadable_input)

    @app.errorhandler(InputRefused)
    def _input_refused(error: InputRefused):
        # The same answer as every other error: whole page, or the message alone for an htmx fragment.
        return error_response(400, error.title, error.description)


# ---------------------------------------------------------------------------
# Integers in the query string and in hidden fields
# ---------------------------------------------------------------------------


def _read_int(raw: str | None, *, minimum: int, not_valid) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        value = parse_whole_number(raw, maximum=DB_INT_MAX)
    except NumberInvalid:
        not_valid()
    if value < minimum:
        not_valid()
    return value


def _not_found() -> None:
    abort(404)


def not_sent_by_the_page() -> None:
    """400: a form field holds what its page never sends (a hidden field altered)."""
    raise InputRefused(N_("送信内容を読み取れません"),
                       N_("画面の内容が正しく送信されませんでした。前の画面に戻って、もう一度操作してください。"))


def id_arg(name: str) -> int | None:
    """An id in the query string (`?before=`, `?register=`): None when absent; 404
    when it is not one that could exist (a link the app never makes)."""
    return _read_int(request.args.get(name), minimum=1, not_valid=_not_found)


def as_id(text: object) -> int | None:
    """`text` as an id (1 … 2³¹−1), or None when it cannot be one."""
    try:
        value = parse_whole_number(text, maximum=DB_INT_MAX)
    except NumberInvalid:
        return None
    return value or None


def id_args(name: str) -> list[int]:
    """The ids chosen as `name` (checkboxes: `?store_id=1&store_id=2`). A value
    that is no id chooses nothing, like the id of a row that is gone; the
    page then says what was chosen."""
    return [i for i in map(as_id, request.args.getlist(name)) if i is not None]


def page_arg(name: str = "page") -> int:
    """`?page=` of a list: 1 when absent; 404 when it is not a page number."""
    return _read_int(request.args.get(name), minimum=1, not_valid=_not_found) or 1


def form_id(name: str) -> int | None:
    """An id in a hidden field of a POSTed form: None when absent; 400 when
    the page could not have sent it."""
    return _read_int(request.form.get(name), minimum=1, not_valid=not_sent_by_the_page)


def value_id(name: str) -> int | None:
    """An id carried by a link (GET) or by the form that follows it (POST)."""
    return form_id(name) if request.method in _BODY_METHODS and name in request.form else id_arg(name)


# ---------------------------------------------------------------------------
# Form fields
# ---------------------------------------------------------------------------


def choice_id(value) -> int:
    """`coerce` of a select whose options are ids (0 = 「選んでください」)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return parse_whole_number(value, maximum=DB_INT_MAX)
    except NumberInvalid:
        raise ValueError(_("一覧から選んでください。")) from None


class IdSelectField(SelectField):
    """A select of database rows by id, with messages in the reader's language."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("coerce", choice_id)
        kwargs.setdefault("invalid_value_message", CHOOSE_FROM_LIST)
        kwargs.setdefault("invalid_choice_message", CHOOSE_FROM_LIST)
        super().__init__(label, validators, **kwargs)


class WholeNumberField(Field):
    """A count typed by a person (発行枚数, のぼり旗 …): ASCII or full-width
    digits; range checked by the form's validators."""

    widget = TextInput()

    def __init__(self, label=None, validators=None, maximum: int = DB_INT_MAX, message: str | None = None, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "numeric"})
        super().__init__(label, validators, **kwargs)
        self.maximum = maximum
        self.message = message or _("0〜%(maximum)sの数字で入力してください。", maximum=i18n.number(maximum))

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)

    def process_formdata(self, valuelist) -> None:
        if not valuelist or valuelist[0].strip() == "":
            self.data = None
            return
        try:
            self.data = parse_whole_number(valuelist[0], maximum=self.maximum)
        except NumberInvalid:
            self.data = None
            raise ValueError(self.message) from None


class JapaneseDateField(DateField):
    """A date typed as 2026-04-01 or 2026/4/1 (full-width digits too),
    between FIRST_DATE and LAST_DATE."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("format", "%Y-%m-%d")
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist) -> None:
        if not valuelist or not valuelist[0].strip():
            # Only blanks (a tab, an ideographic space) is nothing typed: InputRequired asks for the date.
            self.data = None
            if valuelist:
                self.raw_data = [""]
            return
        raw = fold_digits(valuelist[0]).translate(_DATE_SEPARATORS).strip()
        self.data = None
        if len(raw) > 10 or not re.fullmatch(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}", raw):
            raise ValueError(str(DATE_MESSAGE))
        try:
            day = dt.datetime.strptime(raw, "%Y-%m-%d").date()
        except ValueError:
            raise ValueError(str(DATE_MESSAGE)) from None
        if not FIRST_DATE <= day <= LAST_DATE:
            raise ValueError(date_range_message())
        self.data = day
