"""Management site pages."""
from __future__ import annotations

from flask import redirect, render_template, url_for
from flask_login import current_user

from ..web.access import stores_of
from ..models import AccountKind
from . import bp


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
