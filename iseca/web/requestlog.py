"""One JSON line per request, and a request id a merchant can quote.

The id comes from the reverse proxy (nginx's `$request_id` in the
X-Request-ID header) when it looks sane, else it is made here; it goes back
in the X-Request-ID response header and on error pages
(お問い合わせ番号), and into the log line, so the counter can find the
request a merchant saw fail.

The log line never carries a query string, a form, a cookie or the parts of
an address that are secrets: a card's number and secret
(/card/<number>/<secret>) and a wallet's payment token (/wallet/pay/<token>)
are written as `***`.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import time
import uuid

from flask import Flask, g, request

logger = logging.getLogger("iseca.requests")

REQUEST_ID_HEADER = "X-Request-ID"
# nginx's $request_id is 32 hex digits; other proxies send UUIDs. Anything
# else (too long, spaces, quotes) is replaced rather than logged.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,63}")
# Parts of an address that open a card's balance or pay from a wallet.
SECRET_URL_ARGS = frozenset({"number", "secret", "token"})
# <number>, <int:payment_id> … in a route.
RULE_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^:<>]+)>")
# Addresses that did not match a route are masked by their shape.
SECRET_PATHS = [
    (re.compile(r"^/card/[^/]+(?:/[^/]+)?"), "/card/***/***"),
    (re.compile(r"^/wallet/pay/[^/]+"), "/wallet/pay/***"),
]


class _JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return record.getMessage()


def _install_handler() -> None:
    """Log lines to stderr (gunicorn and systemd's journal collect it), once per process."""
    if logger.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonLineFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def request_id() -> str:
    """The current request's id ('' outside a request)."""
    return g.get("request_id", "")


def masked_path() -> str:
    """The request's path with card numbers, card secrets and payment tokens replaced by ***."""
    rule = request.url_rule
    if rule is not None and request.view_args is not None:
        args = request.view_args

        def value(match: re.Match) -> str:
            name = match.group(1)
            return "***" if name in SECRET_URL_ARGS else str(args.get(name, ""))

        return RULE_ARGUMENT.sub(value, rule.rule)
    path = request.path
    for pattern, replacement in SECRET_PATHS:
        path = pattern.sub(replacement, path)
    return path


def _account_kind() -> str | None:
    # Only an account this request already loaded: logging must not query
    # the database (it may be the very thing that is down).
    user = g.get("_login_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return str(user.kind)


def init_app(app: Flask) -> None:
    """Register first, so the id and the clock exist before any other hook can answer."""
    if app.config["REQUEST_LOG"]:
        _install_handler()

    @app.before_request
    def _start():
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response):
        response.headers[REQUEST_ID_HEADER] = request_id()
        if app.config["REQUEST_LOG"]:
            started = g.get("request_started", time.perf_counter())
            line = {
                "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                "request_id": request_id(),
                "method": request.method,
                "route": request.url_rule.rule if request.url_rule is not None else None,
                "path": masked_path(),
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "account_kind": _account_kind(),
            }
            logger.info(json.dumps(line, ensure_ascii=False))
        return response

    app.jinja_env.globals["request_id"] = request_id
