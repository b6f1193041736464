"""Error answers that reach the user however the request came.

A plain request and a boosted navigation get the whole error page (htmx swaps
4xx/5xx answers: see `responseHandling` in base.html); an htmx fragment
request gets the message alone, which static/js/app.js shows next to the part
that asked. A form refused for an expired token comes back as the same page
with what was typed, a fresh token and the message."""
from __future__ import annotations

import logging
from io import BytesIO
from urllib.parse import urlsplit

from flask import Flask, current_app, g, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from .. import i18n
from ..extensions import db, login_manager
from ..i18n import N_
from .pages import wants_fragment
from .refill import refill_form

log = logging.getLogger(__name__)

# (title, message) by status: what the user reads (translated when shown: error_response).
MESSAGES = {
    400: (N_("リクエストを処理できませんでした"), N_("入力内容をご確認のうえ、もう一度お試しください。")),
    403: (N_("この操作は許可されていません"), N_("ログインしているアカウントでは、このページを表示できません。")),
    404: (N_("ページが見つかりません"), N_("アドレスが正しいかご確認ください。")),
    405: (N_("この操作はできません"), N_("前の画面に戻って、もう一度お試しください。")),
    409: (N_("ほかの操作と重なりました"), N_("画面を再読み込みして、結果を確かめてからもう一度お試しください。")),
    410: (N_("このページは現在使えません"), N_("新しいご案内をご確認ください。")),
    413: (N_("送信されたデータが大きすぎます"), N_("ファイルを小さくしてから、もう一度お試しください。")),
    422: (N_("入力内容を処理できませんでした"), N_("入力内容をご確認のうえ、もう一度お試しください。")),
    429: (N_("操作が多すぎます"), N_("しばらく時間をおいてから、もう一度お試しください。")),
    500: (N_("システムエラーが発生しました"),
          N_("お手数ですが、時間をおいてもう一度お試しください。解決しない場合はISECA窓口にご連絡ください。")),
    503: (N_("ただいま処理できません"), N_("しばらく時間をおいてから、もう一度お試しください。")),
}
DATABASE_UNAVAILABLE = (N_("ただいま混み合っているか、メンテナンス中です"),
                        N_("お手数ですが、しばらく待ってからもう一度お試しください。お支払いが済んだかどうかは、利用履歴でご確認いただけます。"))
EXPIRED = (N_("画面の有効期限が切れました"), N_("お手数ですが、前の画面に戻って再読み込みしてから、もう一度操作してください。"))
EXPIRED_FORM = N_("画面の有効期限が切れました。入力内容はそのまま残っています。内容を確かめて、もう一度送信してください。")

# The last resort when even the error page cannot be drawn (database down…).
BARE_PAGE = ('<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
             '<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title} | ISECA</title></head>'
             '<body><main><h1>{title}</h1><p>{message}</p><p><a href="/">{home}</a></p></main></body></html>')


def _bare_page(title: str, message: str) -> str:
    """BARE_PAGE in the reader's language, or in Japanese when even that fails."""
    try:
        lang, home = i18n.HTML_LANG.get(i18n.current(), "ja"), _("トップページへ")
    except Exception:  # noqa: BLE001 - the last resort must not fail
        lang, home = "ja", "トップページへ"
    return BARE_PAGE.format(lang=lang, title=escape(title), message=escape(message), home=escape(home))


def _rollback() -> None:
    """A failed write leaves the session unusable (PendingRollbackError even
    for `current_user.is_active`): start clean before drawing anything."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection itself may be gone
        log.exception("rollback failed while answering an error")


def error_response(code: int, title: str | None = None, message: str | None = None, headers=None):
    """The error page, or for a fragment request the message alone, in the
    reader's language (`title` and `message`: marked with N_ or translated)."""
    default_title, default_message = MESSAGES.get(code, MESSAGES[500 if code >= 500 else 400])
    title, message = _(str(title or default_title)), _(str(message or default_message))
    _rollback()
    template = "errors/_message.html" if wants_fragment() else "errors/error.html"
    try:
        body = render_template(template, code=code, title=title, message=message)
    except Exception:  # noqa: BLE001 - never answer an error with a stack trace
        log.exception("the error page for %s could not be drawn", code)
        _rollback()
        body = _bare_page(title, message)
    return body, code, headers or {}


def _same_origin() -> bool:
    """The refused POST came from one of our own pages. A cross-site form
    must never get its values written into a page the user trusts."""
    site = request.headers.get("Sec-Fetch-Site")
    if site:
        return site == "same-origin"
    ours = urlsplit(request.host_url)
    for header in ("Origin", "Referer"):
        value = request.headers.get(header)
        if value:
            theirs = urlsplit(value)
            return (theirs.scheme, theirs.netloc) == (ours.scheme, ours.netloc)
    return False


def _render_page(path: str):
    """GET `path` inside this request (same cookies, same login)."""
    parts = urlsplit(path)
    environ = dict(request.environ)
    environ.update({
        "REQUEST_METHOD": "GET",
        "PATH_INFO": parts.path[len(request.script_root):] if parts.path.startswith(request.script_root) else parts.path,
        "QUERY_STRING": parts.query,
        "CONTENT_LENGTH": "0",
        "wsgi.input": BytesIO(b""),
    })
    environ.pop("CONTENT_TYPE", None)
    with current_app.request_context(environ):
        return current_app.full_dispatch_request()


def _form_again():
    """The page the refused form was on, drawn again with a fresh token and
    what was typed; None when that cannot be done safely."""
    if request.method != "POST" or wants_fragment() or not _same_origin():
        return None
    candidates = []
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path:
        candidates.append(referrer.path + (f"?{referrer.query}" if referrer.query else ""))
    if request.url_rule is not None and "GET" in (request.url_rule.methods or ()):
        candidates.append(request.full_path)
    values = request.form.copy()
    action = request.path
    for path in candidates:
        try:
            page = _render_page(path)
        except Exception:  # noqa: BLE001 - fall back to the plain message
            log.exception("could not draw %s again after an expired token", path)
            _rollback()
            continue
        if page.status_code != 200 or page.mimetype != "text/html":
            continue
        html = refill_form(page.get_data(as_text=True), request.host_url.rstrip("/") + path, action, values,
                           lambda had_password: render_template("errors/_form_expired.html", message=_(EXPIRED_FORM),
                                                                had_password=had_password))
        if html is None:
            continue
        page.set_data(html)
        page.status_code = 400
        # The address bar shows the page the form is on, not where it posts.
        page.headers["HX-Push-Url"] = path
        return page
    return None


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf_error(error):
        again = _form_again()
        if again is not None:
            return again
        return error_response(400, *EXPIRED)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        if error.code is None or error.code < 400 or error.code == 401:
            return error  # redirects, and the BASIC gate's challenge, as they are
        if error.code == 429 and request.endpoint in ("auth.login", "auth.password"):
            # Login and 「パスワード変更」 answer with their own form and its message.
            from ..auth.views import login_throttled, password_throttled

            _rollback()
            return login_throttled() if request.endpoint == "auth.login" else password_throttled()
        headers = {k: v for k, v in error.get_headers() if k.lower() in ("allow", "retry-after")}
        return error_response(error.code, headers=headers)

    @app.errorhandler(InternalServerError)
    def _server_error(error):
        return error_response(500)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _database_unavailable(error):
        """The database is down or restarting: a clear page, and the till may retry."""
        log.error("database unavailable: %s", type(getattr(error, "orig", error)).__name__)
        # Drawn as signed out: the page must not ask the database who is logged in.
        g._login_user = login_manager.anonymous_user()
        return error_response(503, *DATABASE_UNAVAILABLE, headers={"Retry-After": "30", "Cache-Control": "no-store"})
