"""Counter console: the front page (窓口TOP): what needs action today and
the city's figures for a chosen range, each chart with its numbers as a
table and as CSV."""
from __future__ import annotations

import datetime as dt

from flask import Response, abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import Form
from wtforms.validators import ValidationError

from ..city import figures
from ..csvexport import CsvStream, content_type, encoding_for
from ..csvexport import filename as csv_filename
from ..timeutil import today_jst
from ..web.inputs import JapaneseDateField
from .blueprint import bp

DEFAULT_DAYS = 30
MAX_DAYS = 366


class RangeForm(Form):
    date_from = JapaneseDateField(_l("期間（開始日）"))
    date_to = JapaneseDateField(_l("期間（終了日）"))

    def validate_date_to(self, field) -> None:
        if field.data and self.date_from.data:
            if field.data < self.date_from.data:
                raise ValidationError(_("終了日は開始日と同じか、それより後の日付にしてください。"))
            if (field.data - self.date_from.data).days >= MAX_DAYS:
                raise ValidationError(_("期間は%(days)s日以内にしてください。", days=MAX_DAYS))


def _range() -> tuple[RangeForm, dt.date, dt.date]:
    """The range asked for; the last 30 days when absent or wrong (the form says what was wrong)."""
    form = RangeForm(request.args)
    today = today_jst()
    last = today
    first = today - dt.timedelta(days=DEFAULT_DAYS - 1)
    if form.validate():
        last = form.date_to.data or last
        first = form.date_from.data or min(first, last)
        first = min(first, last)
    if not form.date_from.data and not form.errors:
        form.date_from.data = first
    if not form.date_to.data and not form.errors:
        form.date_to.data = last
    return form, first, last


@bp.route("/")
def index():
    """窓口TOP: today's actions and the figures of the chosen range."""
    form, first, last = _range()
    return render_template("counter/index.html", form=form, actions=figures.actions_today(),
                           f=figures.city_figures(first, last))


# Each chart's CSV: its header (translated when written) and its rows.
CHARTS = {
    "daily": ([_l("日付"), _l("決済件数"), _l("決済金額（円）"), _l("利用会員数")],
              lambda f: [[d.isoformat(), n, yen, members] for d, n, yen, members in f.daily]),
    "category": ([_l("業種"), _l("決済件数（取消除く）"), _l("決済金額（円・取消除く）")], lambda f: [list(r) for r in f.by_category]),
    "area": ([_l("地区"), _l("決済件数（取消除く）"), _l("決済金額（円・取消除く）")], lambda f: [list(r) for r in f.by_area]),
    "stores": ([_l("店舗コード"), _l("店舗名"), _l("決済件数（取消除く）"), _l("決済金額（円・取消除く）")], lambda f: [list(r) for r in f.top_stores]),
    "outstanding": ([_l("キャンペーン"), _l("有効期限"), _l("未使用残高（ポイント）")],
                    lambda f: [[name, ends_on.isoformat(), amount] for name, ends_on, amount in f.outstanding]),
}

CHART_IDENTIFIERS = {"stores": (0,)}  # 店舗コード keeps every digit in a spreadsheet


def csv_encoding() -> str:
    """The encoding of a console CSV: for a Japanese reader the one asked for
    (?encoding=, CP932 for Excel by default); UTF-8 with a BOM for any other
    language whatever was asked (Excel outside Japan reads it; CP932 would not)."""
    return encoding_for(request.args.get("encoding"))


@bp.route("/figures.csv")
def figures_csv():
    """The numbers of one chart of 窓口TOP, as CSV for Excel."""
    chart = request.args.get("chart", "daily")
    if chart not in CHARTS:
        abort(404)
    _form, first, last = _range()
    header, rows = CHARTS[chart]
    encoding = csv_encoding()
    stream = CsvStream(encoding, identifiers=CHART_IDENTIFIERS.get(chart, ()))
    body = b"".join(stream.chunks([str(h) for h in header], rows(figures.city_figures(first, last))))
    name = csv_filename(f"iseca-{chart}-{first:%Y%m%d}-{last:%Y%m%d}", encoding)
    return Response(body, content_type=content_type(encoding), headers={
        "Content-Disposition": f'attachment; filename="{name}"'})
