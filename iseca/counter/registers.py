"""Registers and store QR codes at the counter (ISECA窓口): a store's
レジ一覧 with the same actions as the management site, and the 掲示用QRコード台紙
of many stores in one PDF for the kit hand-over (加盟店キットの受け取り)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select

from .. import qr
from .. import register_pages as pages
from ..web.access import get_store_or_404
from ..web.inputs import id_args, page_arg
from ..extensions import db
from ..models import Register, Store
from . import bp

UI = pages.RegisterUi(
    bp="counter",
    layout="counter/layout.html",
    list_url=lambda store: url_for("counter.store_registers", store_id=store.id),
)

STORES_PER_PAGE = 100
MAX_SHEETS_PER_PDF = 500  # about 8 s of work (bench/qr_sheets.py)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _store_search(q: str, unpublished_only: bool):
    stmt = select(Store)
    if q:
        pattern = f"%{_escape_like(q)}%"
        stmt = stmt.where(or_(Store.code.ilike(pattern, escape="\\"), Store.name.ilike(pattern, escape="\\"),
                              Store.name_kana.ilike(pattern, escape="\\")))
    if unpublished_only:
        stmt = stmt.where(Store.published_at.is_(None))
    return stmt


@bp.route("/registers")
def registers():
    """店舗QRコード: find stores, open one's registers, print many stores' 台紙."""
    q = " ".join((request.args.get("q") or "").split())[:100]
    unpublished_only = request.args.get("unpublished") == "1"
    page = page_arg()
    stmt = _store_search(q, unpublished_only)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    stores = list(db.session.scalars(stmt.order_by(Store.code).limit(STORES_PER_PAGE).offset((page - 1) * STORES_PER_PAGE)))
    counts = dict(
        db.session.execute(
            select(Register.store_id, func.count())
            .where(Register.store_id.in_([s.id for s in stores]), Register.retired_at.is_(None))
            .group_by(Register.store_id)
        ).all()
    ) if stores else {}
    pages_total = max(1, -(-total // STORES_PER_PAGE))
    return render_template(
        "counter/registers.html", stores=stores, counts=counts, q=q, unpublished_only=unpublished_only,
        page=page, pages_total=pages_total, total=total, base_url_problem=qr.base_url_problem(),
    )


@bp.route("/registers/sheets.pdf")
def register_sheets_pdf():
    """掲示用QRコード台紙 of the chosen stores: one PDF, one page per register."""
    registers = qr.registers_for_sheets(id_args("store_id"))
    back = url_for("counter.registers", q=request.args.get("q") or None,
                   unpublished=request.args.get("unpublished") or None)
    if not registers:
        flash("台紙を印刷する店舗を選んでください（利用中のレジがある店舗に限ります）。", "warning")
        return redirect(back, code=303)
    if len(registers) > MAX_SHEETS_PER_PDF:
        flash(f"一度に印刷できる台紙は{MAX_SHEETS_PER_PDF}枚までです。店舗を分けて印刷してください。", "warning")
        return redirect(back, code=303)
    return pages.send_pdf(registers)


def _store_title(store: Store) -> str:
    return f"レジ一覧（{store.name}）"


@bp.route("/stores/<int:store_id>/registers")
def store_registers(store_id: int):
    """レジ一覧 of one store."""
    store = get_store_or_404(current_user, store_id)
    return pages.render_list(UI, [store], title=_store_title(store))


@bp.route("/stores/<int:store_id>/registers", methods=["POST"])
def register_add(store_id: int):
    """「レジを追加」."""
    return pages.add(
        UI, store_id,
        on_error=lambda store, form: pages.render_list(UI, [store], title=_store_title(store), forms={store.id: form}),
    )


pages.add_register_routes(bp, UI)
