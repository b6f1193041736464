"""Public pages of onboarding: 加盟店登録 (the application form) and
「使えるお店」 (the list of published stores, their pages and images)."""
from __future__ import annotations

import jaconv
from flask import abort, current_app, redirect, render_template, request, url_for
from sqlalchemy import not_, or_, select

from ..database import contains_text
from ..extensions import db, limiter
from ..labels import STORE_AREA, STORE_CATEGORY
from ..models import Store, StoreImage
from ..money import banking
from ..web.forms import (
    ApplicationForm,
    bank_names,
    holder_preview,
    submit_application_form,
)
from ..web.inputs import page_arg
from ..web.pages import image_response, page_or_fragment
from .blueprint import bp

PER_PAGE = 20


@bp.route("/apply", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["APPLY_RATE_LIMIT"],
    methods=["POST"],
    deduct_when=lambda response: response.status_code == 303,  # only applications received count
    scope="apply",
)
def apply():
    """加盟店登録: the online application form."""
    form = ApplicationForm()
    if submit_application_form(form, source="online") is not None:
        return redirect(url_for("public.apply_done"), code=303)
    # Errors come back with 200: htmx (hx-boost) swaps only successful responses.
    return render_template("public/apply.html", form=form, **bank_names(form))


@bp.route("/apply/done")
def apply_done():
    """お申込みの受付完了."""
    return render_template("public/apply_done.html")


@bp.route("/bank-names", methods=["GET", "POST"])
def bank_lookup():
    """The bank and branch names for the codes being typed, and the holder
    name as the bank will get it (htmx fragment). htmx POSTs, so that the
    holder's name stays out of addresses and access logs."""
    bank_code = request.values.get("bank_code", "")[:10]
    branch_code = request.values.get("branch_code", "")[:10]
    html = render_template(
        "public/_bank_names.html",
        bank_code=bank_code, branch_code=branch_code,
        bank_label=banking.bank_name(bank_code), branch_label=banking.branch_name(bank_code, branch_code),
        **holder_preview(request.values.get("account_holder_kana", "")[:100]),
    )
    return html


# ---------------------------------------------------------------------------
# 使えるお店
# ---------------------------------------------------------------------------


def published_stores():
    """Stores customers may see: published and taking payments (neither the
    store, its business nor their logins suspended: Store.payments_stopped)."""
    return select(Store).where(Store.published_at.is_not(None), not_(Store.payments_stopped))


@bp.route("/stores")
def stores():
    """使えるお店: search by name, category and area; paginated."""
    q = (request.args.get("q") or "").strip()[:100]
    category = request.args.get("category") or ""
    area = request.args.get("area") or ""
    stmt = published_stores()
    if q:
        stmt = stmt.where(or_(contains_text(Store.name, q), contains_text(Store.name_kana, jaconv.hira2kata(q))))
    if category in STORE_CATEGORY:
        stmt = stmt.where(Store.category == category)
    else:
        category = ""
    if area in STORE_AREA:
        stmt = stmt.where(Store.area == area)
    else:
        area = ""
    pagination = db.paginate(stmt.order_by(Store.name_kana, Store.id), page=page_arg(), per_page=PER_PAGE,
                             error_out=False)
    first_images = _first_images([s.id for s in pagination.items])
    context = dict(pagination=pagination, q=q, category=category, area=area, first_images=first_images,
                   categories=list(STORE_CATEGORY), areas=list(STORE_AREA))
    # A search swaps only the results; a boosted link, a reload or htmx
    # restoring history (no cache: historyCacheSize 0) gets the whole page.
    return page_or_fragment("public/stores.html", "results", **context)


def _first_images(store_ids: list[int]) -> dict[int, int]:
    """The id of each store's first image (for the list's thumbnails)."""
    if not store_ids:
        return {}
    rows = db.session.execute(
        select(StoreImage.store_id, StoreImage.id, StoreImage.position)
        .where(StoreImage.store_id.in_(store_ids))
        .order_by(StoreImage.store_id, StoreImage.position, StoreImage.id)
    )
    result: dict[int, int] = {}
    for store_id, image_id, _ in rows:
        result.setdefault(store_id, image_id)
    return result


def get_published_store_or_404(store_id: int) -> Store:
    store = db.session.scalar(published_stores().where(Store.id == store_id))
    if store is None:
        abort(404)
    return store


@bp.route("/stores/<int:store_id>")
def store(store_id: int):
    """A store's page in 「使えるお店」 (published stores only)."""
    return render_template("public/store.html", store=get_published_store_or_404(store_id))


@bp.route("/stores/<int:store_id>/images/<int:image_id>")
def store_image(store_id: int, image_id: int):
    """A published store's image: only the re-encoded bytes, as an image."""
    store = get_published_store_or_404(store_id)
    image = db.session.get(StoreImage, image_id)
    if image is None or image.store_id != store.id:
        abort(404)
    return image_response(image, public=True)
