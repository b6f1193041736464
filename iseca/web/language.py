"""The language switch on every page: remembers the reader's choice in a
cookie, and for a logged-in account in its own setting (so that its pages
on any device, and its mails, follow)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, request
from flask_login import current_user

from .. import audit, i18n
from ..extensions import db

bp = Blueprint("language", __name__)


def _back() -> str:
    """The page the switch was used on, when it is a path of this site."""
    target = request.form.get("next") or "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or any(ord(c) < 32 for c in target):
        return "/"
    return target


@bp.route("/language", methods=["POST"])
def switch():
    """Show the site in the language chosen (日本語, English, Português, Tiếng Việt)."""
    code = i18n.normalise(request.form.get("lang"))
    if code is None:
        abort(400)
    if current_user.is_authenticated and current_user.locale != code:
        before = current_user.locale
        current_user.locale = code
        audit.record("language_changed", current_user._get_current_object(), {"from": before, "to": code})
        db.session.commit()
    response = redirect(_back(), code=303)
    response.set_cookie(i18n.COOKIE, code, max_age=i18n.COOKIE_MAX_AGE, samesite="Lax",
                        secure=request.is_secure, httponly=True)
    return response
