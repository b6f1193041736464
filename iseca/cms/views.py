"""Management site pages."""
from __future__ import annotations

from flask import abort, redirect, render_template, url_for
from flask_login import current_user

from ..models import AccountKind
from ..web import audit as web_audit
from ..web.access import stores_of
from .blueprint import bp


@bp.route("/")
def index():
    """TOPページメニュー."""
    return render_template("cms/index.html", stores=stores_of(current_user))


@bp.route("/stores")
def stores():
    """店舗情報: a store goes straight to its own page; a business picks one."""
    own = stores_of(current_user)
    if current_user.kind == AccountKind.STORE and own:
        return redirect(url_for("cms.store", store_id=own[0].id))
    return render_template("cms/stores.html", stores=own)


def _own_business_ids() -> list[int]:
    """操作履歴 is the business account's: its own business (a store account has none here)."""
    if current_user.kind != AccountKind.BUSINESS or current_user.business_id is None:
        abort(404)
    return [current_user.business_id]


@bp.route("/audit")
def audit_log():
    """操作履歴: who did what to this business and its stores, and from which address."""
    business_ids = _own_business_ids()
    form = web_audit.filter_form(staff=False)
    return render_template("cms/audit.html", form=form, list_endpoint="cms.audit_log", csv_endpoint="cms.audit_csv",
                           show_business=False, **web_audit.page_of(form, business_ids))


@bp.route("/audit.csv")
def audit_csv():
    """操作履歴 as CSV."""
    business_ids = _own_business_ids()
    return web_audit.csv_response(web_audit.filter_form(staff=False), business_ids, "history")
