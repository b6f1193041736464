"""The web layer: what several areas share, so that no area imports another.
This module holds what every page shares (template filters, the menu
context, security headers, the forced password change, error pages); its
modules hold ownership checks (access), page-or-fragment answers (pages),
forms and validators (forms), the history filters (history) and the pages
nested in two areas (registers, cancel)."""
from __future__ import annotations

from flask import Flask, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

from ..areas import area_of_request
from ..audit import describe_actor, describe_details
from ..city.notices import running_notices
from ..dates import chart_day, period_text, wareki, weekday_date
from ..i18n import date as local_date
from ..i18n import jst, number, points, yen
from ..labels import label
from ..models import AccountKind
from ..passwords import password_expired
from ..timeutil import datetime_attr
from . import errors
from .pages import wants_fragment

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob: mediastream:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# Endpoints an account that must change its initial password may still reach.
PASSWORD_CHANGE_ALLOWED = {"auth.password", "auth.logout", "auth.login", "static",
                           # The installed app's files (web/installable.py): a worker script may not redirect.
                           *(f"{area}.app.{name}" for area in ("terminal", "wallet")
                             for name in ("manifest", "service_worker", "offline"))}


def menu_current(endpoint: str, *section: str) -> Markup:
    """aria-current for a menu link: "page" on the page itself, "true" on the
    pages under it (`section`: endpoints, or prefixes ending in "_" or in "."
    for a nested blueprint's pages)."""
    current = request.endpoint or ""
    if current == endpoint:
        return Markup(' aria-current="page"')
    if any(current.startswith(s) if s.endswith(("_", ".")) else current == s for s in section):
        return Markup(' aria-current="true"')
    return Markup("")


def init_app(app: Flask) -> None:
    from . import static_urls
    from .sessioncookie import SessionCookie

    static_urls.init_app(app)
    app.session_interface = SessionCookie()
    app.jinja_env.filters["yen"] = yen
    app.jinja_env.filters["jst"] = jst
    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["points"] = points
    app.jinja_env.filters["local_date"] = local_date
    app.jinja_env.filters["datetime_attr"] = datetime_attr
    app.jinja_env.filters["label"] = label
    app.jinja_env.filters["audit_details"] = describe_details
    app.jinja_env.filters["audit_actor"] = describe_actor
    # The guide's dates (iseca/dates.py), for pages and mails alike: wareki(day)
    # or day|wareki, period_text(period), and the days of tables and charts.
    for name, function in (("wareki", wareki), ("period_text", period_text), ("weekday_date", weekday_date),
                           ("chart_day", chart_day)):
        app.jinja_env.globals[name] = function
        app.jinja_env.filters[name] = function
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.before_request
    def _forced_password_change():
        if request.endpoint in PASSWORD_CHANGE_ALLOWED or request.endpoint is None:
            return None
        if current_user.is_authenticated and current_user.must_change_password:
            area = area_of_request()
            if area is None or current_user.kind not in area.kinds:
                return None
            flash(_("初期パスワードからの変更が必要です。新しいパスワードを設定してください。"), "warning")
            # A page asked for on the way (a store QR read while logged in) is kept;
            # the password view follows it only when it is a page of this area.
            target = request.full_path.rstrip("?") if request.method == "GET" and not wants_fragment() else None
            return redirect(url_for("auth.password", area=area.name, next=target))
        return None

    def _shows_notices() -> bool:
        # Pages only (not static files, not htmx fragments that swap part of a page).
        return request.endpoint not in (None, "static") and not request.headers.get("HX-Request") or \
            bool(request.headers.get("HX-Boosted"))

    def _notices(area_name: str) -> list:
        # An error page (the database down) still renders, without notices.
        try:
            return running_notices(area_name)
        except SQLAlchemyError:
            return []

    @app.context_processor
    def _page_context():
        area = area_of_request()
        account = current_user if current_user.is_authenticated else None
        in_area = account is not None and area is not None and account.kind in area.kinds
        return {
            "area": area,
            "account": account if in_area else None,
            "kind_label": label(account.kind, "account_kind") if account is not None else "",
            "password_alert": in_area and not account.must_change_password and password_expired(account),
            "AccountKind": AccountKind,
            "notices": _notices(area.name if area is not None else "public") if _shows_notices() else [],
        }

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
        if app.config["PRODUCTION"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if current_user and current_user.is_authenticated:
            # Pages behind a login never go to shared caches or the back-forward cache.
            headers.setdefault("Cache-Control", "no-store")
        # htmx: a swap response must not be reused as a whole page.
        headers.add("Vary", "HX-Request")
        return response

    errors.init_app(app)

    app.jinja_env.globals["menu_current"] = menu_current
    app.jinja_env.globals["nl2br"] = lambda text: Markup("<br>").join((text or "").splitlines())
