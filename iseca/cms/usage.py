"""利用状況一覧: the payments of the account's stores, 「絞り込み」 → 「検索」,
totals, CSV download, 「取消」 and the 日計 (daily totals)."""
from __future__ import annotations

from flask import Response, current_app, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import i18n, labels
from ..bulk import copy_csv_records
from ..csvexport import (
    ENCODINGS,
    FORMULA_STARTS,
    CsvStream,
    content_type,
    date_text,
    datetime_text,
    encoding_choices,
    encoding_for,
    filename,
    unencodable,
)
from ..csvexport import header as csv_header
from ..extensions import db
from ..i18n import N_
from ..models import Account, AccountKind, utcnow
from ..money import usage
from ..timeutil import today_jst
from ..web.access import stores_of
from ..web.history import UsageFilterForm, make_filter
from ..web.inputs import page_arg
from ..web.pages import page_or_fragment
from .blueprint import bp

CSV_HEADER = [
    N_("利用日時（日本時間 JST）"),
    N_("取引番号"),
    N_("店舗コード"),
    N_("店舗名"),
    N_("レジ"),
    N_("会員コード"),
    N_("決済方法"),
    N_("金額（円）"),
    N_("状態"),
    N_("取消日時（日本時間 JST）"),
    N_("取消したアカウント"),
    N_("取消可能期限"),
]
# 取引番号, 店舗コード, 会員コード: codes that must keep every digit in a spreadsheet.
CSV_IDENTIFIERS = (1, 2, 5)
DAILY_CSV_HEADER = [N_("日付（日本時間 JST）"), N_("店舗コード"), N_("店舗名"), N_("レジ"), N_("決済件数"),
                    N_("決済金額（円）"), N_("取消件数"), N_("取消金額（円）"), N_("差引（円）")]
DAILY_CSV_IDENTIFIERS = (1,)  # 店舗コード


def _filter_form() -> UsageFilterForm:
    """The form as the URL says; this month when the URL says nothing."""
    form = UsageFilterForm(request.args)
    form.setup(current_user)
    if not any(k in request.args for k in form._fields):
        _, first, last = usage.presets()[3]  # 今月
        form.date_from.data, form.date_to.data = first, last
    return form


def _preset_links(endpoint: str, args: dict[str, str]) -> list[tuple[str, str, bool]]:
    """今日 / 昨日 / 今週 / 今月 / 前回の精算期間, keeping the other conditions."""
    links = []
    for label, first, last in usage.presets():
        target = {**args, "date_from": first.isoformat(), "date_to": last.isoformat()}
        current = args.get("date_from") == target["date_from"] and args.get("date_to") == target["date_to"]
        links.append((_(label), url_for(endpoint, **target), current))
    return links


def _replacement_notes(account: Account, store_id: int | None) -> list[tuple[str, list[str]]]:
    """Names in the export that CP932 cannot hold exactly, and the characters
    that become 〓 (said before the download, since a stream cannot say it after)."""
    stores = [s for s in stores_of(account) if store_id is None or s.id == store_id]
    names = [s.name for s in stores]
    names += [r.name for s in stores for r in s.registers]
    names += list(db.session.scalars(select(Account.name).where(Account.store_id.in_([s.id for s in stores]))))
    if account.kind == AccountKind.BUSINESS:
        names.append(account.name)
    notes = []
    for name in dict.fromkeys(names):
        chars = unencodable(name or "")
        if chars:
            notes.append((name, chars))
    return notes


@bp.route("/usage", endpoint="usage")
def usage_list():
    """利用状況一覧: 「絞り込み」 then 「検索」; the same URL serves the page
    and, for htmx, just the results."""
    form = _filter_form()
    page = None
    args: dict[str, str] = {}
    if form.validate():
        args = form.url_args()
        page = usage.page_of(make_filter(current_user, form), page_arg())
    context = dict(
        form=form,
        page=page,
        args=args,
        presets=_preset_links("cms.usage", args),
        today=today_jst(),
        csv_encodings=encoding_choices(),
        replacement_notes=_replacement_notes(current_user, int(form.store.data) if form.store.data and not form.errors else None),
        several_stores=current_user.kind == AccountKind.BUSINESS,
        back=request.full_path.rstrip("?"),
    )
    # Errors come back with 200 so that htmx swaps them in (it ignores 4xx).
    return page_or_fragment("cms/usage.html", "results", **context)


class _CsvWords:
    """The words and the language of one export, looked up once (not per row)."""

    def __init__(self) -> None:
        self.locale = i18n.current()
        self.methods = {key: _(word) for key, word in METHOD_TEXT.items()}
        self.statuses = {key: _(word) for key, word in STATUS_TEXT.items()}


def _csv_row(row, words: _CsvWords | None = None) -> list:
    # Unpacked by position: attribute access per row costs more over a million rows.
    # `words`: looked up once per export by the caller (here only when not given).
    words = words or _CsvWords()
    (_row_id, number, created_at, amount, status, method, cancelled_at, member_code, store_code, store_name,
     register_name, cancelled_by_name, cancelled_by_login, deadline) = row
    return [
        datetime_text(created_at, words.locale),
        number,
        store_code,
        store_name,
        register_name,
        member_code,
        words.methods[method],
        amount,
        words.statuses[status],
        datetime_text(cancelled_at, words.locale),
        _("%(name)s（%(login)s）", name=cancelled_by_name, login=cancelled_by_login) if cancelled_by_login else "",
        date_text(deadline, words.locale),
    ]


METHOD_TEXT = dict(labels.PAYMENT_METHOD)
STATUS_TEXT = dict(labels.PAYMENT_STATUS)


def _csv_response(name: str, encoding: str, header: list[str], rows, identifiers: tuple[int, ...],
                  *, records: bool = False) -> Response:
    """The CSV download; `records`: the rows come written already (COPY)."""
    stream = CsvStream(encoding, identifiers)
    header = csv_header(header)

    def generate():
        if records:
            yield from stream.chunks_of_records(header, rows)
        else:
            yield from stream.chunks(header, rows)
        current_app.logger.info("CSV %s: %d rows, %d characters replaced by 〓", name, stream.rows, stream.replaced)

    return Response(
        stream_with_context(generate()),
        content_type=content_type(stream.encoding),
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _file_stem(kind: str, form: UsageFilterForm) -> str:
    code = current_user.login
    first = form.date_from.data.strftime("%Y%m%d") if form.date_from.data else "start"
    last = form.date_to.data.strftime("%Y%m%d") if form.date_to.data else "now"
    return f"iseca-{kind}-{code}-{first}-{last}"


def _encoding() -> str:
    value = request.args.get("encoding", "cp932")
    return value if value in ENCODINGS else "cp932"


@bp.route("/usage.csv")
def usage_csv():
    """CSVダウンロード: exactly the filtered rows, streamed."""
    form = _filter_form()
    if not form.validate():
        return usage_list_with_errors(form)
    f = make_filter(current_user, form)
    encoding = _encoding()
    name = filename(_file_stem('usage', form), encoding_for(encoding))
    words = _CsvWords()
    if words.locale == "ja" and db.session.get_bind().dialect.name == "postgresql":
        # The database writes the rows (COPY), the same bytes as below; it
        # writes Japanese dates and words, so other languages take the Python path.
        statement = usage.csv_statement(f, method_labels=METHOD_TEXT, status_labels=STATUS_TEXT,
                                        formula_starts=FORMULA_STARTS)
        return _csv_response(name, encoding, CSV_HEADER, copy_csv_records(statement), CSV_IDENTIFIERS, records=True)
    return _csv_response(name, encoding, CSV_HEADER, (_csv_row(r, words) for r in usage.iter_rows(f)), CSV_IDENTIFIERS)


def usage_list_with_errors(form: UsageFilterForm):
    return render_template(
        "cms/usage.html", form=form, page=None, args={}, presets=_preset_links("cms.usage", {}),
        today=today_jst(), csv_encodings=encoding_choices(), replacement_notes=[],
        several_stores=current_user.kind == AccountKind.BUSINESS,
        back=url_for("cms.usage"),
    ), 400


@bp.route("/usage/daily")
def usage_daily():
    """日計: per day and register, payments and cancellations (printable)."""
    form = _filter_form()
    report = None
    args = {}
    if form.validate():
        # Every condition of the address is shown on the page (the template
        # lists those it does not offer), applied and carried to the CSV.
        args = form.url_args()
        report = usage.daily_totals(make_filter(current_user, form), page=page_arg())
    return render_template(
        "cms/usage_daily.html",
        form=form,
        report=report,
        args=args,
        presets=_preset_links("cms.usage_daily", args),
        several_stores=current_user.kind == AccountKind.BUSINESS,
        csv_encodings=encoding_choices(),
        printed_at=utcnow(),
    )


@bp.route("/usage/daily.csv")
def usage_daily_csv():
    """日計 as CSV."""
    form = _filter_form()
    if not form.validate():
        return usage_list_with_errors(form)
    report = usage.daily_totals(make_filter(current_user, form))
    rows = (
        [date_text(line.day), line.store_code, line.store_name, line.register_name, line.payment_count,
         line.payment_sum, line.cancel_count, line.cancel_sum, line.net]
        for line in report.lines
    )
    encoding = _encoding()
    return _csv_response(filename(_file_stem('daily', form), encoding_for(encoding)), encoding, DAILY_CSV_HEADER, rows,
                         DAILY_CSV_IDENTIFIERS)
