"""The web layer: what several areas share, so that no area imports another.
This module holds what every page shares (template filters, the menu
context, security headers, the forced password change, error pages); its
modules hold ownership checks (access), page-or-fragment answers (pages),
forms and validators (forms), the history filters (history) and the pages
nested in two areas (registers, cancel)."""
from __future__ import annotations

from flask import Flask, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from sqlalchemy.exc import InterfaceError, OperationalError

from ..auth.areas import area_of_request
from ..auth.passwords import password_expired
from ..auth.views import login_throttled
from ..extensions import db, login_manager
from ..labels import label
from ..models import AccountKind
from ..timeutil import jst

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
PASSWORD_CHANGE_ALLOWED = {"auth.password", "auth.logout", "auth.login", "static"}


def yen(value: int | None) -> str:
    """1234 → '1,234円'."""
    if value is None:
        return ""
    return f"{int(value):,}円"


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

    static_urls.init_app(app)
    app.jinja_env.filters["yen"] = yen
    app.jinja_env.filters["jst"] = jst
    app.jinja_env.filters["label"] = label
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
            flash("初期パスワードからの変更が必要です。新しいパスワードを設定してください。", "warning")
            return redirect(url_for("auth.password", area=area.name))
        return None

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

    def _error(code: int, title: str, message: str):
        return render_template("errors/error.html", code=code, title=title, message=message), code

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _database_unavailable(error):
        """The database is down or restarting: a clear page, and the till may retry."""
        app.logger.error("database unavailable: %s", type(getattr(error, "orig", error)).__name__)
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection is gone; the pool replaces it
            pass
        # Render as signed out: the page must not ask the database who is logged in.
        g._login_user = login_manager.anonymous_user()
        body, code = _error(503, "ただいま混み合っているか、メンテナンス中です",
                            "お手数ですが、しばらく待ってからもう一度お試しください。"
                            "お支払いが済んだかどうかは、利用履歴でご確認いただけます。")
        return body, code, {"Retry-After": "30", "Cache-Control": "no-store"}

    @app.errorhandler(CSRFError)
    def _csrf_error(error):
        return _error(400, "画面の有効期限が切れました", "お手数ですが、前の画面に戻って再読み込みしてから、もう一度操作してください。")

    @app.errorhandler(403)
    def _forbidden(error):
        return _error(403, "この操作は許可されていません", "ログインしているアカウントでは、このページを表示できません。")

    @app.errorhandler(404)
    def _not_found(error):
        return _error(404, "ページが見つかりません", "アドレスが正しいかご確認ください。")

    @app.errorhandler(429)
    def _too_many(error):
        if request.endpoint == "auth.login":
            return login_throttled()
        if request.endpoint == "auth.password":
            from ..auth.views import password_throttled

            return password_throttled()
        return _error(429, "操作が多すぎます", "しばらく時間をおいてから、もう一度お試しください。")

    @app.errorhandler(500)
    def _server_error(error):
        return _error(500, "システムエラーが発生しました", "お手数ですが、時間をおいてもう一度お試しください。解決しない場合はISECA窓口にご連絡ください。")

    app.jinja_env.globals["menu_current"] = menu_current
    app.jinja_env.globals["nl2br"] = lambda text: Markup("<br>").join((text or "").splitlines())
