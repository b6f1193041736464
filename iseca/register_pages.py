"""The pages of レジ一覧 and 「QRコード表示」, shared by the management site
(/cms, store and business accounts) and the counter console (/counter,
staff). Each area registers thin routes that call these with its `RegisterUi`
(which blueprint, which layout, where the list is); ownership is checked by
the fetch-or-404 helpers of iseca/access.py, which let staff see every store.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from . import qr
from .web.access import get_register_or_404, get_store_or_404
from .extensions import db
from .models import Register, Store
from .register_forms import ConfirmForm, RegisterNameForm
from .registers import RegisterError, add_register, all_registers, rename_register, retire_register


@dataclass(frozen=True)
class RegisterUi:
    bp: str  # blueprint name: endpoints are f"{bp}.register_qr" ...
    layout: str  # the template the pages extend
    list_url: Callable[[Store], str]  # where a store's register list is


def add_form(store: Store, formdata=None) -> RegisterNameForm:
    """The 「レジを追加」 form of one store (prefixed: a page may hold several)."""
    form = RegisterNameForm(formdata=formdata, prefix=f"store{store.id}")
    form.name.label.text = "追加するレジの名前"
    form.submit.label.text = "レジを追加"
    return form


def render_list(area: RegisterUi, stores: list[Store], *, title: str = "レジ一覧", forms: dict[int, RegisterNameForm] | None = None, status: int = 200):
    """レジ一覧: the registers of `stores`, each with 「QRコード表示」."""
    forms = forms or {}
    rows = [(s, all_registers(s), forms.get(s.id) or add_form(s, formdata=None)) for s in stores]
    return render_template("registers/list.html", ui=area, title=title, rows=rows), status


def add(area: RegisterUi, store_id: int, *, on_error: Callable[[Store, RegisterNameForm], object]):
    """POST: add a register to a store the account may manage."""
    store = get_store_or_404(current_user, store_id)
    form = add_form(store, formdata=request.form)
    if form.validate_on_submit():
        try:
            register = add_register(store, form.name.data)
        except RegisterError as error:
            form.name.errors = [*form.name.errors, str(error)]
        else:
            db.session.commit()
            flash(f"レジ「{register.name}」を追加しました。「QRコード表示」から店舗QRコードを印刷できます。", "success")
            return redirect(area.list_url(store), code=303)
    db.session.rollback()
    return on_error(store, form)


def _active_register(register_id: int) -> Register:
    register = get_register_or_404(current_user, register_id)
    if register.retired_at is not None:
        abort(404)
    return register


def rename(area: RegisterUi, register_id: int):
    """GET/POST: 「名前を変更」 of a register in use."""
    register = _active_register(register_id)
    form = RegisterNameForm(data={"name": register.name} if request.method == "GET" else None)
    form.submit.label.text = "名前を変更する"
    if form.validate_on_submit():
        try:
            changed = rename_register(register, form.name.data)
        except RegisterError as error:
            form.name.errors = [*form.name.errors, str(error)]
        else:
            db.session.commit()
            if changed:
                flash(f"レジ名を「{register.name}」に変更しました。掲示している台紙は、印刷し直すと新しい名前になります。", "success")
            return redirect(area.list_url(register.store), code=303)
        db.session.rollback()
    return render_template("registers/rename.html", ui=area, register=register, form=form)


def retire(area: RegisterUi, register_id: int):
    """GET: confirmation; POST: 廃止 (the register's code stops working)."""
    register = _active_register(register_id)
    form = ConfirmForm()
    form.submit.label.text = "廃止する"
    error = None
    if form.validate_on_submit():
        try:
            retire_register(register)
        except RegisterError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.commit()
            flash(f"レジ「{register.name}」を廃止しました。このレジのQRコードでは決済できません。", "success")
            return redirect(area.list_url(register.store), code=303)
    return render_template("registers/retire.html", ui=area, register=register, form=form, error=error)


def reissue(area: RegisterUi, register_id: int):
    """GET: confirmation; POST: 「QRコード再発行」 (the old code stops working)."""
    register = _active_register(register_id)
    form = ConfirmForm()
    form.submit.label.text = "再発行する"
    if form.validate_on_submit():
        if qr.reissue_qr(register, expected_fingerprint=form.fingerprint.data or ""):
            db.session.commit()
            flash("QRコードを再発行しました。以前のQRコード（印刷済みの台紙・画像を含む）は使えなくなりました。"
                  "新しい台紙を印刷して掲示してください。", "success")
        else:
            db.session.rollback()
            flash("このQRコードはすでに再発行されています。表示中のQRコードが最新です。", "warning")
        return redirect(url_for(f"{area.bp}.register_qr", register_id=register.id), code=303)
    form.fingerprint.data = qr.token_fingerprint(register)
    return render_template("registers/reissue.html", ui=area, register=register, form=form)


def show_qr(area: RegisterUi, register_id: int):
    """「QRコード表示」: the code large, with the store and register names."""
    register = _active_register(register_id)
    url = qr.register_pay_url(register)
    return render_template(
        "registers/qr.html", ui=area, register=register, url=url, base_url_problem=qr.base_url_problem(),
        svg=qr.qr_svg(url, title=f"{register.store.name} {register.name} の店舗QRコード"),
    )


def download_png(register_id: int):
    """「画像形式でダウンロード」: the code as a PNG file."""
    register = _active_register(register_id)
    return send_file(
        _bytes(qr.register_qr_png(register)), mimetype="image/png", as_attachment=True,
        download_name=qr.png_filename(register), max_age=0,
    )


def print_sheet(area: RegisterUi, register_id: int):
    """「印刷用ページを表示」: the 掲示用QRコード台紙 as an A4 page to print."""
    register = _active_register(register_id)
    url = qr.register_pay_url(register)
    return render_template(
        "registers/sheet.html", ui=area, register=register, url=url, base_url_problem=qr.base_url_problem(),
        svg=qr.qr_svg(url, title=f"{register.store.name} {register.name} の店舗QRコード"),
        lead=qr.SHEET_LEAD, steps=qr.SHEET_INSTRUCTIONS, title=qr.SHEET_TITLE,
        subtitle=qr.SHEET_SUBTITLE, footer=qr.SHEET_FOOTER,
    )


def sheet_pdf(register_id: int):
    """The same 台紙 as a PDF (A4, Japanese font embedded)."""
    register = _active_register(register_id)
    return send_pdf([register])


def send_pdf(registers: list[Register]):
    return send_file(
        _bytes(qr.qr_sheets_pdf(registers)), mimetype="application/pdf", as_attachment=True,
        download_name=qr.sheet_filename(registers), max_age=0,
    )


def _bytes(data: bytes):
    import io

    return io.BytesIO(data)


def add_register_routes(bp, area: RegisterUi) -> None:
    """The pages of one register, the same in the management site and at the
    counter: 「名前を変更」, 「廃止」, 「QRコード再発行」 (each with confirmation),
    「QRコード表示」, 「画像形式でダウンロード」, 「印刷用ページを表示」 and its PDF."""
    routes = [
        ("rename", "register_rename", lambda register_id: rename(area, register_id), ["GET", "POST"]),
        ("retire", "register_retire", lambda register_id: retire(area, register_id), ["GET", "POST"]),
        ("reissue", "register_reissue", lambda register_id: reissue(area, register_id), ["GET", "POST"]),
        ("qr", "register_qr", lambda register_id: show_qr(area, register_id), ["GET"]),
        ("qr.png", "register_qr_png", download_png, ["GET"]),
        ("sheet", "register_sheet", lambda register_id: print_sheet(area, register_id), ["GET"]),
        ("sheet.pdf", "register_sheet_pdf", sheet_pdf, ["GET"]),
    ]
    for suffix, endpoint, view, methods in routes:
        bp.add_url_rule(f"/registers/<int:register_id>/{suffix}", endpoint, view, methods=methods)
