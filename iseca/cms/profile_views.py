"""店舗情報 and 事業者情報: the store's and the business's own pages."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from .. import outbox
from ..extensions import db
from ..merchants import profiles
from ..money import banking, settlement
from ..web.access import get_business_or_404, get_store_or_404
from ..web.forms import bank_names
from ..web.inputs import accepts_files
from ..web.pages import image_response
from ..web.profile_forms import BusinessProfileForm, StoreImageForm, StoreProfileForm
from .blueprint import bp


def _store_page(store, form, image_form):
    return render_template("cms/store.html", store=store, form=form, image_form=image_form)


@bp.route("/stores/<int:store_id>", methods=["GET", "POST"])
def store(store_id: int):
    """店舗情報: view and edit contact details, hours, description; images below."""
    store = get_store_or_404(current_user, store_id)
    form = StoreProfileForm(obj=store if request.method == "GET" else None)
    if form.validate_on_submit():
        values = {name: form[name].data for name in profiles.STORE_FIELDS + profiles.STORE_SETTINGS}
        changed = profiles.update_store_profile(store, values, current_user._get_current_object())
        db.session.commit()
        flash(_("店舗情報を保存しました。") if changed else _("変更はありませんでした。"), "success" if changed else "info")
        return redirect(url_for("cms.store", store_id=store.id), code=303)
    return _store_page(store, form, StoreImageForm(formdata=None))


@bp.route("/stores/<int:store_id>/images", methods=["POST"])
@accepts_files("image")
def store_image_upload(store_id: int):
    """画像の追加: checked, re-encoded, stored."""
    store = get_store_or_404(current_user, store_id)
    image_form = StoreImageForm()
    if image_form.validate_on_submit():
        upload = image_form.image.data
        data = upload.read() if upload else b""
        try:
            profiles.add_store_image(store, data, image_form.caption.data or "", current_user._get_current_object())
        except profiles.ImageProblem as problem:
            image_form.image.errors = list(image_form.image.errors) + [problem.message]
        else:
            db.session.commit()
            flash(_("画像を追加しました。"), "success")
            return redirect(url_for("cms.store", store_id=store.id, _anchor="images"), code=303)
    return _store_page(store, StoreProfileForm(obj=store, formdata=None), image_form)


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(error):
    """A request beyond MAX_CONTENT_LENGTH (refused before any view runs):
    back to the store page with a message instead of a bare 413."""
    store_id = (request.view_args or {}).get("store_id")
    if request.endpoint == "cms.store_image_upload" and store_id is not None:
        flash(_("画像ファイルが大きすぎます。5MB以下の画像を選んでください。"), "danger")
        return redirect(url_for("cms.store", store_id=store_id, _anchor="images"), code=303)
    return render_template("errors/error.html", code=413, title=_("送信されたデータが大きすぎます"),
                           message=_("ファイルを小さくしてから、もう一度お試しください。")), 413


@bp.route("/stores/<int:store_id>/images/<int:image_id>")
def store_image(store_id: int, image_id: int):
    """An image of the store (also before publication)."""
    store = get_store_or_404(current_user, store_id)
    return image_response(profiles.get_store_image_or_404(store, image_id), public=False)


@bp.route("/stores/<int:store_id>/images/<int:image_id>/delete", methods=["POST"])
def store_image_delete(store_id: int, image_id: int):
    """画像の削除."""
    store = get_store_or_404(current_user, store_id)
    image = profiles.get_store_image_or_404(store, image_id)
    profiles.delete_store_image(store, image, current_user._get_current_object())
    db.session.commit()
    flash(_("画像を削除しました。"), "success")
    return redirect(url_for("cms.store", store_id=store.id, _anchor="images"), code=303)


@bp.route("/stores/<int:store_id>/images/<int:image_id>/move", methods=["POST"])
def store_image_move(store_id: int, image_id: int):
    """画像の並べ替え (one step earlier or later)."""
    store = get_store_or_404(current_user, store_id)
    image = profiles.get_store_image_or_404(store, image_id)
    step = -1 if request.form.get("direction") == "up" else 1
    profiles.move_store_image(store, image, step, current_user._get_current_object())
    db.session.commit()
    return redirect(url_for("cms.store", store_id=store.id, _anchor="images"), code=303)


@bp.route("/business", methods=["GET", "POST"])
def business():
    """事業者情報 (business accounts only): contact details and 振込先口座."""
    business = get_business_or_404(current_user)
    form = BusinessProfileForm(obj=business if request.method == "GET" else None)
    if request.method == "GET":
        form.account_type.data = business.account_type.value if business.account_type else "1"
    if form.validate_on_submit():
        values = {name: form[name].data for name in profiles.BUSINESS_FIELDS}
        messages = profiles.update_business_profile(business, values, form.bank_account, current_user._get_current_object())
        db.session.commit()
        outbox.send_after_commit(messages)
        if messages:
            flash(_("事業者情報を保存しました。振込先口座の変更をメールでお知らせしました。"), "success")
        else:
            flash(_("事業者情報を保存しました。"), "success")
        return redirect(url_for("cms.business"), code=303)
    return render_template("cms/business.html", business=business, form=form,
                           bank_line=banking.describe(profiles.bank_of(business)),
                           bank_effective=settlement.account_takes_effect_from(business.id), **bank_names(form))
