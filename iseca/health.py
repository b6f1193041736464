"""Health checks for load balancers and monitoring.

/healthz answers as long as the process serves requests (it touches nothing
else); /readyz says whether this process can do its work: the database
answers, its schema is at the migrations' head, and how much mail waits in
the outbox (a growing backlog means SMTP or the send-mail timer is down).
It also says whether the throttles' shared storage (Redis) answers: without
it the process still serves, counting failed logins and scans in its own
memory, so it stays ready and names the part in `degraded`.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import Blueprint, Flask, current_app, g, jsonify, request
from sqlalchemy import func, select, text

from .extensions import db, limiter, login_manager
from .models import OutboxMessage, OutboxStatus, utcnow

bp = Blueprint("health", __name__)

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


@lru_cache(maxsize=1)
def migration_heads() -> frozenset[str]:
    """The revisions the code expects (read once: the code does not change while it runs)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def readiness() -> dict:
    """The state /readyz reports; `ready` is False when this process cannot serve."""
    report: dict = {"ready": False, "database": "unreachable"}
    try:
        db.session.execute(text("SELECT 1"))
        report["database"] = "ok"
        current = frozenset(db.session.scalars(text("SELECT version_num FROM alembic_version")))
        expected = migration_heads()
        report["migrations"] = {"at_head": current == expected, "database": sorted(current), "code": sorted(expected)}
        backlog, oldest = db.session.execute(
            select(func.count(OutboxMessage.id), func.min(OutboxMessage.created_at))
            .where(OutboxMessage.status != OutboxStatus.SENT)
        ).one()
        if isinstance(oldest, str):  # SQLite's MIN() returns the stored text
            oldest = dt.datetime.fromisoformat(oldest)
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=dt.UTC)
        report["outbox"] = {
            "unsent": int(backlog),
            "oldest_unsent_age_seconds": int((utcnow() - oldest).total_seconds()) if oldest is not None else None,
        }
        report["ready"] = report["migrations"]["at_head"]
    except Exception as error:  # noqa: BLE001 - any failure means "not ready", said in the answer
        current_app.logger.warning("readiness check failed: %s", type(error).__name__)
        report["error"] = type(error).__name__
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - a dead connection is discarded by the pool
        pass
    report["rate_limits"] = rate_limit_storage()
    report["degraded"] = ["rate_limits"] if report["rate_limits"]["state"] != "ok" else []
    return report


def rate_limit_storage() -> dict:
    """Where the throttles (failed logins, unknown cards at a till, 取消's
    password) count: `storage` is the URI's scheme; `state` "ok", or
    "unreachable" while shared storage does not answer, when every process
    counts on its own (`fallback`: a client spread over N workers gets up
    to N times the limit until it is back)."""
    scheme = str(current_app.config["RATELIMIT_STORAGE_URI"]).split("://", 1)[0]
    if scheme == "memory":
        return {"storage": scheme, "state": "ok"}
    if limiter.storage.check():  # a PING, bounded by RATELIMIT_STORAGE_OPTIONS' timeouts
        return {"storage": scheme, "state": "ok"}
    current_app.logger.warning("readiness: the rate limit storage (%s) does not answer", scheme)
    return {"storage": scheme, "state": "unreachable", "fallback": "memory, per process"}


def init_app(app: Flask) -> None:
    """Health checks act for no account: a browser's session cookie must not
    make them ask the database who is signed in (it may be down)."""

    def _as_nobody():
        if request.blueprint == bp.name:
            g._login_user = login_manager.anonymous_user()

    # First of all hooks, before any that looks at the signed-in account.
    app.before_request_funcs.setdefault(None, []).insert(0, _as_nobody)


@bp.route("/healthz")
def healthz():
    """Process up: no database, no disk."""
    return _no_store(jsonify(status="ok"), 200)


@bp.route("/readyz")
def readyz():
    """Ready to serve: 200 with the details, or 503 with the same JSON."""
    report = readiness()
    return _no_store(jsonify(report), 200 if report["ready"] else 503)


def _no_store(response, status: int):
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
