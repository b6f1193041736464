"""レジ一覧 and 「QRコード表示」: the pages of a store's registers, the same in
the management site (/cms, store and business accounts) and at the counter
(/counter, staff). A nested blueprint: each parent registers it, so the
parent's login guard runs first, and the templates link with relative
endpoints (`url_for('.qr', ...)`). Ownership is checked by the fetch-or-404
helpers of iseca/web/access.py, which let staff see every store.

A parent that passes `list_all_stores=True` also gets /registers, the
registers of every store the account may see (the management site's
レジ一覧); the others list one store at a time."""
from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..merchants import qr
from ..merchants.registers import RegisterError, add_register, all_registers, rename_register, retire_register
from ..models import Register, Store
from .access import get_register_or_404, get_store_or_404, stores_of
from .forms import ConfirmForm, RegisterNameForm

bp = Blueprint("register", __name__)

# Full names ("cms.register") of the registrations that list every store.
_LISTING_ALL_STORES: set[str] = set()


@bp.record
def _list_all_stores(state) -> None:
    if state.options.get("list_all_stores"):
        _LISTING_ALL_STORES.add(f"{state.name_prefix}.{state.name}".lstrip("."))
        state.add_url_rule("/registers", "index", index)


def _lists_all_stores() -> bool:
    return request.blueprint in _LISTING_ALL_STORES


def _list_url(store: Store) -> str:
    """Where a store's registers are listed in this area."""
    if _lists_all_stores():
        return url_for(".index", _anchor=f"store-{store.id}")
    return url_for(".store_list", store_id=store.id)


def _add_form(store: Store, formdata=None) -> RegisterNameForm:
    """The 「レジを追加」 form of one store (prefixed: a page may hold several)."""
    form = RegisterNameForm(formdata=formdata, prefix=f"store{store.id}")
    form.name.label.text = _("追加するレジの名前")
    form.submit.label.text = _("レジを追加")
    return form


def _render_list(stores: list[Store], *, title: str | None = None, forms: dict[int, RegisterNameForm] | None = None):
    """レジ一覧: the registers of `stores`, each with 「QRコード表示」 and 「レジを追加」."""
    forms = forms or {}
    rows = [(s, all_registers(s), forms.get(s.id) or _add_form(s)) for s in stores]
    return render_template("registers/list.html", title=title or _("レジ一覧"), rows=rows)


def _store_title(store: Store) -> str:
    return _("レジ一覧（%(store)s）", store=store.name)


def index():
    """レジ一覧: the registers of every store the account may see."""
    return _render_list(stores_of(current_user))


@bp.route("/stores/<int:store_id>/registers", methods=["GET", "POST"])
def store_list(store_id: int):
    """レジ一覧 of one store (GET) and 「レジを追加」 (POST)."""
    store = get_store_or_404(current_user, store_id)
    if request.method == "GET":
        return _render_list([store], title=_store_title(store))
    form = _add_form(store, formdata=request.form)
    if form.validate_on_submit():
        try:
            register = add_register(store, form.name.data)
        except RegisterError as error:
            form.name.errors = [*form.name.errors, str(error)]
        else:
            db.session.commit()
            flash(_("レジ「%(name)s」を追加しました。「QRコード表示」から店舗QRコードを印刷できます。", name=register.name),
                  "success")
            return redirect(_list_url(store), code=303)
    db.session.rollback()
    if _lists_all_stores():
        return _render_list(stores_of(current_user), forms={store.id: form})
    return _render_list([store], title=_store_title(store), forms={store.id: form})


def _active_register(register_id: int) -> Register:
    register = get_register_or_404(current_user, register_id)
    if register.retired_at is not None:
        abort(404)
    return register


@bp.route("/registers/<int:register_id>/rename", methods=["GET", "POST"])
def rename(register_id: int):
    """「名前を変更」 of a register in use."""
    register = _active_register(register_id)
    form = RegisterNameForm(data={"name": register.name} if request.method == "GET" else None)
    form.submit.label.text = _("名前を変更する")
    if form.validate_on_submit():
        try:
            changed = rename_register(register, form.name.data)
        except RegisterError as error:
            form.name.errors = [*form.name.errors, str(error)]
        else:
            db.session.commit()
            if changed:
                flash(_("レジ名を「%(name)s」に変更しました。掲示している台紙は、印刷し直すと新しい名前になります。",
                        name=register.name), "success")
            return redirect(_list_url(register.store), code=303)
        db.session.rollback()
    return render_template("registers/rename.html", register=register, form=form, list_url=_list_url(register.store))


@bp.route("/registers/<int:register_id>/retire", methods=["GET", "POST"])
def retire(register_id: int):
    """GET: confirmation; POST: 廃止 (the register's code stops working)."""
    register = _active_register(register_id)
    form = ConfirmForm()
    form.submit.label.text = _("廃止する")
    error = None
    if form.validate_on_submit():
        try:
            retire_register(register)
        except RegisterError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.commit()
            flash(_("レジ「%(name)s」を廃止しました。このレジのQRコードでは決済できません。", name=register.name), "success")
            return redirect(_list_url(register.store), code=303)
    return render_template("registers/retire.html", register=register, form=form, error=error,
                           list_url=_list_url(register.store))


@bp.route("/registers/<int:register_id>/reissue", methods=["GET", "POST"])
def reissue(register_id: int):
    """GET: confirmation; POST: 「QRコード再発行」 (the old code stops working)."""
    register = _active_register(register_id)
    form = ConfirmForm()
    form.submit.label.text = _("再発行する")
    if form.validate_on_submit():
        if qr.reissue_qr(register, expected_fingerprint=form.fingerprint.data or ""):
            db.session.commit()
            flash(_("QRコードを再発行しました。以前のQRコード（印刷済みの台紙・画像を含む）は使えなくなりました。"
                    "新しい台紙を印刷して掲示してください。"), "success")
        else:
            db.session.rollback()
            flash(_("このQRコードはすでに再発行されています。表示中のQRコードが最新です。"), "warning")
        return redirect(url_for(".qr", register_id=register.id), code=303)
    form.fingerprint.data = qr.token_fingerprint(register)
    return render_template("registers/reissue.html", register=register, form=form)


def _code_svg(register, url: str):
    """The register's code as SVG, titled with its store and register for screen readers."""
    return qr.qr_svg(url, title=_("%(store)s %(register)s の店舗QRコード", store=register.store.name,
                                  register=register.name))


@bp.route("/registers/<int:register_id>/qr", endpoint="qr")
def qr_page(register_id: int):
    """「QRコード表示」: the code large, with the store and register names."""
    register = _active_register(register_id)
    url = qr.register_pay_url(register)
    return render_template(
        "registers/qr.html", register=register, url=url, base_url_problem=qr.base_url_problem(),
        svg=_code_svg(register, url),
        list_url=_list_url(register.store),
    )


@bp.route("/registers/<int:register_id>/qr.png")
def qr_png(register_id: int):
    """「画像形式でダウンロード」: the code as a PNG file."""
    register = _active_register(register_id)
    return send_file(
        io.BytesIO(qr.register_qr_png(register)), mimetype="image/png", as_attachment=True,
        download_name=qr.png_filename(register), max_age=0,
    )


@bp.route("/registers/<int:register_id>/sheet")
def sheet(register_id: int):
    """「印刷用ページを表示」: the 掲示用QRコード台紙 as an A4 page to print."""
    register = _active_register(register_id)
    url = qr.register_pay_url(register)
    return render_template(
        "registers/sheet.html", register=register, url=url, base_url_problem=qr.base_url_problem(),
        svg=_code_svg(register, url),
        lead=_(qr.SHEET_LEAD), steps=[_(step) for step in qr.SHEET_INSTRUCTIONS], title=_(qr.SHEET_TITLE),
        subtitle=_(qr.SHEET_SUBTITLE), footer=_(qr.SHEET_FOOTER),
    )


@bp.route("/registers/<int:register_id>/sheet.pdf")
def sheet_pdf(register_id: int):
    """The same 台紙 as a PDF (A4, Japanese font embedded)."""
    return send_sheets_pdf([_active_register(register_id)])


def send_sheets_pdf(registers: list[Register]):
    """掲示用QRコード台紙 of `registers` as one PDF download, a page each."""
    return send_file(
        io.BytesIO(qr.qr_sheets_pdf(registers)), mimetype="application/pdf", as_attachment=True,
        download_name=qr.sheet_filename(registers), max_age=0,
    )
