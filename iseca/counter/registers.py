"""店舗QRコード at the counter (ISECA窓口): find a store to open its レジ一覧
(iseca/web/registers.py, shared with the management site), and the
掲示用QRコード台紙 of many stores in one PDF for the kit hand-over
(加盟店キットの受け取り)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from ..database import contains_text
from ..extensions import db
from ..merchants import qr
from ..models import Register, Store
from ..web.inputs import id_args, page_arg
from ..web.registers import send_sheets_pdf
from .blueprint import bp

STORES_PER_PAGE = 100
MAX_SHEETS_PER_PDF = 500  # about 8 s of work (bench/qr_sheets.py)


def _store_search(q: str, unpublished_only: bool):
    stmt = select(Store)
    if q:
        stmt = stmt.where(or_(contains_text(Store.code, q), contains_text(Store.name, q),
                              contains_text(Store.name_kana, q)))
    if unpublished_only:
        stmt = stmt.where(Store.published_at.is_(None))
    return stmt


@bp.route("/registers")
def registers():
    """店舗QRコード: find stores, open one's registers, print many stores' 台紙."""
    q = " ".join((request.args.get("q") or "").split())[:100]
    unpublished_only = request.args.get("unpublished") == "1"
    pagination = db.paginate(_store_search(q, unpublished_only).order_by(Store.code), page=page_arg(),
                             per_page=STORES_PER_PAGE, error_out=False)
    stores = list(pagination.items)
    counts = dict(
        db.session.execute(
            select(Register.store_id, func.count())
            .where(Register.store_id.in_([s.id for s in stores]), Register.retired_at.is_(None))
            .group_by(Register.store_id)
        ).all()
    ) if stores else {}
    return render_template(
        "counter/registers.html", pagination=pagination, stores=stores, counts=counts, q=q,
        unpublished_only=unpublished_only, base_url_problem=qr.base_url_problem(),
    )


@bp.route("/registers/sheets.pdf")
def register_sheets_pdf():
    """掲示用QRコード台紙 of the chosen stores: one PDF, one page per register."""
    registers = qr.registers_for_sheets(id_args("store_id"))
    back = url_for("counter.registers", q=request.args.get("q") or None,
                   unpublished=request.args.get("unpublished") or None)
    if not registers:
        flash(_("台紙を印刷する店舗を選んでください（利用中のレジがある店舗に限ります）。"), "warning")
        return redirect(back, code=303)
    if len(registers) > MAX_SHEETS_PER_PDF:
        flash(_("一度に印刷できる台紙は%(max)s枚までです。店舗を分けて印刷してください。", max=MAX_SHEETS_PER_PDF), "warning")
        return redirect(back, code=303)
    return send_sheets_pdf(registers)
