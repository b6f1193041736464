"""Server-side login sessions.

The cookie (and the remember-me cookie) holds only a random token; the
database keeps its SHA-256. Logging out revokes that one session, so a copy of
the cookie taken before stops working, while the same store stays logged in
on its other tills. A password change revokes every other session.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import current_app, g, has_request_context, request, session
from flask_babel import gettext
from flask_login import LoginManager, login_user, logout_user
from flask_login.utils import decode_cookie
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import contains_eager, joinedload, undefer

from .areas import area_of_request
from .extensions import db
from .i18n import N_
from .models import Account, Business, LoginSession, Store, utcnow


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class CurrentSession:
    """The session a request is authenticated by, as the login query read it
    (only what later code needs: no ORM object to track or flush)."""

    __slots__ = ("id", "remember", "cookie_token")

    def __init__(self, session_id: int, remember: bool, cookie_token: str):
        self.id = session_id
        self.remember = remember
        self.cookie_token = cookie_token


def _account_of_session(*options):
    """One query per request for who is logged in: the live session (revoked
    or expired ones never match, through the unique index on token_hash), its
    account, and the states of the account's business and store that decide
    whether it may log in (利用停止), with `options` loading in the same query
    what the request's area uses. Built once per area: loader options are
    immutable, and building them costs every request."""
    return (
        select(Account, LoginSession.id, LoginSession.remember, Business.status, Store.status)
        .join(LoginSession, LoginSession.account_id == Account.id)
        .outerjoin(Business, Business.id == Account.business_id)
        .outerjoin(Store, Store.id == Account.store_id)
        .options(*options)
        .where(
            LoginSession.token_hash == bindparam("token_hash"),
            LoginSession.revoked_at.is_(None),
            LoginSession.expires_at > bindparam("now", type_=LoginSession.expires_at.type),
        )
    )


# What each area reads of the account in every request comes with it: the
# merchant areas the store (with whether it may take payments) and its
# registers (a charge's register is then found in the session, not the
# database); the wallet the member. Other pages (public, counter) get the
# account alone; anything else is loaded when first used.
_MERCHANT = _account_of_session(
    contains_eager(Account.store).options(undefer(Store.payments_stopped), joinedload(Store.registers)),
)
_QUERY_OF_AREA = {
    "cms": _MERCHANT,
    "terminal": _MERCHANT,
    "wallet": _account_of_session(joinedload(Account.member)),
}
_ACCOUNT_ONLY = _account_of_session()


def load_account(token: str) -> Account | None:
    """Flask-Login's user loader: the account of a live session, or None.
    Reads only; an ordinary request writes nothing about the session."""
    if not token or len(token) > 100:
        return None
    area = area_of_request() if has_request_context() else None
    query = _QUERY_OF_AREA.get(area.name, _ACCOUNT_ONLY) if area is not None else _ACCOUNT_ONLY
    row = db.session.execute(query, {"token_hash": _hash(token), "now": utcnow()}).unique().first()
    if row is None:
        return None
    account, session_id, remember, business_status, store_status = row
    # Flask-Login asks is_active (through is_authenticated) many times a request.
    g.login_statuses = (account.id, business_status, store_status)
    if not account.is_active:
        return None
    account.login_session = CurrentSession(session_id, remember, token)
    return account


def init_login_manager(manager: LoginManager) -> None:
    manager.user_loader(load_account)
    # Our sessions are bound to the server row; Flask-Login's IP/UA "strong"
    # protection would log tills out when the shop's address changes.
    manager.session_protection = None
    # Flashed in the reader's language (a flash is stored as text in the session).
    manager.login_message = N_("ログインしてください。")
    manager.localize_callback = gettext
    manager.login_message_category = "info"


def start_session(account: Account, *, remember: bool) -> LoginSession:
    """Log the account in with a fresh session (never reuse the old cookie)."""
    session.clear()
    now = utcnow()
    if remember:
        lifetime = current_app.config["REMEMBER_COOKIE_DURATION"]
        if not isinstance(lifetime, dt.timedelta):
            lifetime = dt.timedelta(seconds=int(lifetime))
    else:
        lifetime = dt.timedelta(hours=int(current_app.config["SESSION_IDLE_HOURS"]))
    token = secrets.token_urlsafe(32)
    login_session = LoginSession(
        account_id=account.id,
        token_hash=_hash(token),
        remember=remember,
        created_at=now,
        expires_at=now + lifetime,
        ip_address=(request.remote_addr or "")[:45],
        user_agent=(request.user_agent.string or "")[:300],
    )
    db.session.add(login_session)
    db.session.flush()
    login_session.cookie_token = token
    account.login_session = login_session
    account.last_login_at = now
    login_user(account, remember=remember)
    return login_session


def end_session(account: Account) -> None:
    """Log out: revoke this session on the server and clear the cookies."""
    if account.login_session is not None:
        db.session.execute(
            update(LoginSession).where(LoginSession.id == account.login_session.id).values(revoked_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    logout_user()
    session.clear()


def revoke_all_sessions(account_id: int) -> int:
    """End every session of an account (suspension, password reset by staff)."""
    stmt = (
        update(LoginSession)
        .where(LoginSession.account_id == account_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return db.session.execute(stmt).rowcount


def account_of_ended_session() -> Account | None:
    """The account whose session this browser's cookies still name although
    it no longer lets them in (revoked by a suspension or a password reset,
    or expired), or None. Only a login page asks, to tell a till why it was
    logged out (利用停止); the remember cookie is read only when signed by us."""
    tokens = [session.get("_user_id")]
    cookie = request.cookies.get(current_app.config["REMEMBER_COOKIE_NAME"])
    if cookie and session.get("_remember") != "clear":
        tokens.append(decode_cookie(cookie))
    for token in tokens:
        if not isinstance(token, str) or not token or len(token) > 100:
            continue
        account = db.session.scalar(
            select(Account).join(LoginSession, LoginSession.account_id == Account.id)
            .where(LoginSession.token_hash == _hash(token))
        )
        if account is not None:
            return account
    return None
