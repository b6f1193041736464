"""精算 for merchants, the same in the management site (/cms/settlements)
and the terminal (/terminal/settlements, phone layout): 「精算金額の確認」
(each period's state and figures), the 利用額明細 as a page, PDF and CSV,
and the 振込スケジュール. A nested blueprint, so each parent's login guard
runs first. A business account sees its settlements; a store account its
own store's share, read-only."""
from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user

from ..csvexport import ENCODINGS, content_type, encoding_choices, encoding_for
from ..models import Account
from ..money import banking, statements
from .access import get_settlement_or_404, settlements_of, share_of

bp = Blueprint("settlement", __name__)


def _account() -> Account:
    return current_user._get_current_object()


@bp.route("")
def index():
    """精算金額の確認, and the 振込スケジュール."""
    account = _account()
    store_id = share_of(account)
    rows = [(row, statements.statement(row, store_id=store_id)) for row in settlements_of(account)]
    running = statements.running_totals(account.business_id, store_id) if account.business_id else []
    return render_template(
        "settlements/index.html", rows=rows, running=running, periods=statements.schedule_rows(),
        transferor=banking.payer_name(),
        store_share=store_id is not None,
    )


@bp.route("/<int:settlement_id>")
def statement(settlement_id: int):
    """利用額明細 of one period."""
    account = _account()
    row = get_settlement_or_404(account, settlement_id)
    st = statements.statement(row, store_id=share_of(account))
    return render_template("settlements/statement.html", row=row, st=st, summary=statements.summary_rows(st),
                           line_kind=statements.line_kind_text,
                           encodings=encoding_choices())


@bp.route("/<int:settlement_id>/meisai.pdf")
def statement_pdf(settlement_id: int):
    """利用額明細 (PDF)."""
    account = _account()
    st = statements.statement(get_settlement_or_404(account, settlement_id), store_id=share_of(account))
    return Response(statements.statement_pdf(st), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{statements.filename(st, "pdf")}"'})


@bp.route("/<int:settlement_id>/meisai.csv")
def statement_csv(settlement_id: int):
    """利用額明細 (CSV: Shift_JIS for Excel or UTF-8 with BOM)."""
    account = _account()
    encoding = request.args.get("encoding", "cp932")
    if encoding not in ENCODINGS:
        abort(404)
    encoding = encoding_for(encoding)  # another language than Japanese: UTF-8 (BOM)
    st = statements.statement(get_settlement_or_404(account, settlement_id), store_id=share_of(account))
    return Response(statements.statement_csv(st, encoding), headers={
        "Content-Type": content_type(encoding),
        "Content-Disposition": f'attachment; filename="{statements.filename(st, "csv", encoding)}"'})
