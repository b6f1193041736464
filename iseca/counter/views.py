"""Counter console: the front page (窓口TOP): what needs action today and
the city's figures for a chosen range, each chart with its numbers as a
table and as CSV."""
from __future__ import annotations

import datetime as dt

from flask import Response, abort, render_template, request
from wtforms import Form
from wtforms.validators import ValidationError

from .. import figures, schedule
from ..csvexport import CsvStream
from ..timeutil import today_jst
from ..web.inputs import JapaneseDateField
from . import bp

DEFAULT_DAYS = 30
MAX_DAYS = 366


class RangeForm(Form):
    date_from = JapaneseDateField("期間（開始日）")
    date_to = JapaneseDateField("期間（終了日）")

    def validate_date_to(self, field) -> None:
        if field.data and self.date_from.data:
            if field.data < self.date_from.data:
                raise ValidationError("終了日は開始日と同じか、それより後の日付にしてください。")
            if (field.data - self.date_from.data).days >= MAX_DAYS:
                raise ValidationError(f"期間は{MAX_DAYS}日以内にしてください。")


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
                           f=figures.city_figures(first, last), wareki=schedule.wareki)


CHARTS = {
    "daily": (["日付", "決済件数", "決済金額（円）", "利用会員数"],
              lambda f: [[d.isoformat(), n, yen, members] for d, n, yen, members in f.daily]),
    "category": (["業種", "決済件数（取消除く）", "決済金額（円・取消除く）"], lambda f: [list(r) for r in f.by_category]),
    "area": (["地区", "決済件数（取消除く）", "決済金額（円・取消除く）"], lambda f: [list(r) for r in f.by_area]),
    "stores": (["店舗コード", "店舗名", "決済件数（取消除く）", "決済金額（円・取消除く）"], lambda f: [list(r) for r in f.top_stores]),
    "outstanding": (["キャンペーン", "有効期限", "未使用残高（ポイント）"],
                    lambda f: [[name, ends_on.isoformat(), amount] for name, ends_on, amount in f.outstanding]),
}


@bp.route("/figures.csv")
def figures_csv():
    """The numbers of one chart of 窓口TOP, as CSV for Excel."""
    chart = request.args.get("chart", "daily")
    if chart not in CHARTS:
        abort(404)
    _, first, last = _range()
    header, rows = CHARTS[chart]
    stream = CsvStream("cp932")
    body = b"".join(stream.chunks(header, rows(figures.city_figures(first, last))))
    return Response(body, content_type="text/csv; charset=Windows-31J", headers={
        "Content-Disposition": f'attachment; filename="iseca-{chart}-{first:%Y%m%d}-{last:%Y%m%d}.csv"'})
