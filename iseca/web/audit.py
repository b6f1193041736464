"""The audit log on screen and as CSV: the counter's 監査ログ (every row,
searched by who, what, which merchant and period) and the management
site's 操作履歴 (a business account's own businesses and stores only)."""
from __future__ import annotations

from flask import Response, request, stream_with_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import Form, SelectField, StringField
from wtforms.validators import ValidationError

from .. import audit
from ..csvexport import CsvStream, content_type, encoding_for, header
from ..csvexport import filename as csv_filename
from ..extensions import db
from ..labels import choices
from ..timeutil import today_jst
from .inputs import JapaneseDateField, page_arg

PER_PAGE = 50


class AuditFilterForm(Form):
    """絞り込み of the audit log, read from the URL."""

    actor = StringField(_l("操作者（IDの一部）"))
    action = SelectField(_l("操作"), choices=[], validate_choice=False)
    business = StringField(_l("加盟店（事業者コード・名称）"))
    date_from = JapaneseDateField(_l("期間（開始日）"))
    date_to = JapaneseDateField(_l("期間（終了日）"))

    def validate_date_to(self, field) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_("終了日は開始日と同じか、それより後の日付にしてください。"))


def filter_form(*, staff: bool) -> AuditFilterForm:
    form = AuditFilterForm(request.args)
    form.action.choices = [("", _("すべて"))] + choices("audit_action")
    if not staff:
        del form.business
    return form


def query_of(form: AuditFilterForm, business_ids: list[int] | None) -> audit.AuditQuery:
    """The search the form asks for (nothing but `business_ids` when it has errors)."""
    if form.errors:
        return audit.AuditQuery(business_ids=business_ids)
    action = form.action.data if form.action.data in dict(form.action.choices) else ""
    return audit.AuditQuery(
        actor=" ".join((form.actor.data or "").split())[:100], action=action,
        business_code=" ".join((form.business.data or "").split())[:100] if "business" in form else "",
        date_from=form.date_from.data, date_to=form.date_to.data, business_ids=business_ids,
    )


def page_of(form: AuditFilterForm, business_ids: list[int] | None) -> dict:
    """One page of the rows the (validated) form asks for, (entry, business
    code, business name) each, and whether there are more (no count over
    the whole log: it only grows)."""
    form.validate()
    page = page_arg()
    stmt = audit.search(query_of(form, business_ids)).limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE)
    rows = [tuple(row) for row in db.session.execute(stmt)]
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return dict(rows=rows[:PER_PAGE], page=page, has_next=len(rows) > PER_PAGE, args=args)


def csv_response(form: AuditFilterForm, business_ids: list[int] | None, name: str) -> Response:
    """The whole search as CSV for Excel (formulas neutralised by CsvStream)."""
    form.validate()
    stream = CsvStream(encoding_for(request.args.get("encoding")))
    stmt = audit.search(query_of(form, business_ids))
    filename = csv_filename(f"iseca-{name}-{today_jst():%Y%m%d}", stream.encoding)
    return Response(stream_with_context(stream.chunks(header(audit.CSV_HEADER), audit.csv_rows(stmt))),
                    content_type=content_type(stream.encoding),
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
