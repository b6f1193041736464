"""Public pages of onboarding: 加盟店登録 (the application form) and
「使えるお店」 (the list of published stores, their pages and images)."""
from __future__ import annotations

from flask import abort, current_app, make_response, redirect, render_template, request, url_for
from jinja2_fragments.flask import render_block
from sqlalchemy import func, or_, select

from .. import banking, onboarding, outbox
from ..web.inputs import page_arg
from ..extensions import db, limiter
from ..kana import KanaError, to_zengin_kana
from ..models import MerchantStatus, Store, StoreImage
from . import bp
from .forms import MAX_STORES, ApplicationForm

PER_PAGE = 20


def handle_store_buttons(form: ApplicationForm) -> bool:
    """「店舗を追加」/「この店舗を削除」: change the list of stores and show the
    form again, keeping everything typed. True when one was pressed."""
    if "add_store" in request.form:
        if len(form.stores.entries) < MAX_STORES:
            form.stores.append_entry()
        return True
    remove = request.form.get("remove_store")
    if remove is not None:
        if len(form.stores.entries) > 1:
            form.stores.entries = [e for e in form.stores.entries if e.name != remove]
            form.stores._compact_indices()
        return True
    return False


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
    if request.method == "POST" and not handle_store_buttons(form) and form.validate_on_submit():
        _, message = onboarding.submit_application(form.as_data(), source="online")
        db.session.commit()
        outbox.send_after_commit([message])
        return redirect(url_for("public.apply_done"), code=303)
    # Errors come back with 200: htmx (hx-boost) swaps only successful responses.
    return render_template("public/apply.html", form=form, **bank_names(form))


@bp.route("/apply/done")
def apply_done():
    """お申込みの受付完了."""
    return render_template("public/apply_done.html")


def bank_names(form) -> dict:
    return {
        "bank_label": banking.bank_name(form.bank_code.data),
        "branch_label": banking.branch_name(form.bank_code.data, form.branch_code.data),
        **holder_preview(form.account_holder_kana.data),
    }


def holder_preview(holder: str | None) -> dict:
    """The holder name as the transfer file will carry it, or why it cannot."""
    if not (holder or "").strip():
        return {"holder_label": None, "holder_problem": None}
    try:
        return {"holder_label": to_zengin_kana(holder, max_bytes=banking.HOLDER_MAX, field="口座名義（カナ）"),
                "holder_problem": None}
    except KanaError as problem:
        return {"holder_label": None, "holder_problem": problem.message}


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
    response = make_response(html)
    return response


# ---------------------------------------------------------------------------
# 使えるお店
# ---------------------------------------------------------------------------


def published_stores():
    """Stores customers may see: published and not suspended."""
    return select(Store).where(Store.published_at.is_not(None), Store.status == MerchantStatus.ACTIVE)


@bp.route("/stores")
def stores():
    """使えるお店: search by name, category and area; paginated."""
    q = (request.args.get("q") or "").strip()[:100]
    category = request.args.get("category") or ""
    area = request.args.get("area") or ""
    stmt = published_stores()
    if q:
        import jaconv

        like = f"%{q.replace('%', '').replace('_', '')}%"
        kana_like = f"%{jaconv.hira2kata(q).replace('%', '').replace('_', '')}%"
        stmt = stmt.where(or_(Store.name.ilike(like), Store.name_kana.ilike(kana_like)))
    if category in onboarding.CATEGORIES:
        stmt = stmt.where(Store.category == category)
    else:
        category = ""
    if area in onboarding.AREAS:
        stmt = stmt.where(Store.area == area)
    else:
        area = ""
    pagination = db.paginate(stmt.order_by(Store.name_kana, Store.id), page=page_arg(), per_page=PER_PAGE,
                             error_out=False)
    first_images = _first_images([s.id for s in pagination.items])
    context = dict(pagination=pagination, q=q, category=category, area=area, first_images=first_images,
                   categories=onboarding.CATEGORIES, areas=onboarding.AREAS)
    # A search swaps only the results; a boosted link, a reload or htmx
    # restoring history (no cache: historyCacheSize 0) gets the whole page.
    if request.htmx and not request.htmx.boosted and not request.headers.get("HX-History-Restore-Request"):
        return render_block("public/stores.html", "results", **context)
    return render_template("public/stores.html", **context)


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


def image_response(image: StoreImage, *, public: bool):
    """The stored bytes with their own content type; never rendered as anything else."""
    response = make_response(image.data)
    response.headers["Content-Type"] = image.content_type
    response.headers["Content-Disposition"] = "inline"
    response.headers["Cache-Control"] = "public, max-age=300" if public else "private, no-store"
    return response


def count_published() -> int:
    return db.session.scalar(select(func.count()).select_from(published_stores().subquery())) or 0
