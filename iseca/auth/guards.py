"""Who may enter an area: the login guard every logged-in area applies."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit, urlunsplit

from flask import abort, flash, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import pgettext
from flask_login import current_user

from ..areas import area_of_request
from ..labels import label
from ..models import AccountKind


def login_required(*kinds: AccountKind) -> Callable:
    """Only a logged-in account of one of `kinds` may call the view; others
    are sent to the area's login page (and told why)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            area = area_of_request()
            if not current_user.is_authenticated:
                return _to_login(url_for("auth.login", area=area.name, next=_back()))
            if current_user.kind not in kinds:
                if area is None:
                    abort(403)
                # 「店舗・事業者」: "store or business" in English.
                labels = pgettext("between account kinds", "・").join(label(k, "account_kind") for k in kinds)
                flash(_("この画面は%(kinds)sアカウントでログインして使います。", kinds=labels), "warning")
                return _to_login(url_for("auth.login", area=area.name))
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _back() -> str | None:
    """The page to come back to after logging in: the page asked for; for
    what htmx asked for in a page (a poll such as HOME's 「金額を確認」, a
    part of a list) or a form sent, the page the user was on (htmx's
    HX-Current-URL), never the fragment itself."""
    from_htmx = request.headers.get("HX-Request") == "true"
    if from_htmx and (request.headers.get("HX-Boosted") != "true" or request.method != "GET"):
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        if not current.path or (current.netloc and current.netloc != request.host):
            return None
        return urlunsplit(("", "", current.path, current.query, ""))
    return request.full_path.rstrip("?") if request.method == "GET" else None


def _to_login(target: str):
    """Send the browser to a login page; an htmx swap is told to load it as
    a whole page rather than swap it into a fragment."""
    if request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true":
        response = make_response("", 204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def require_kinds_for_blueprint(bp, *kinds: AccountKind, public_endpoints: tuple[str, ...] = ()) -> None:
    """Apply `login_required(*kinds)` to every view of a blueprint."""

    @bp.before_request
    def _check():
        if request.endpoint in public_endpoints:
            return None
        guard = login_required(*kinds)(lambda: None)
        return guard()
