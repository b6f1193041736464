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

from flask import current_app, request, session
from flask_login import LoginManager, login_user, logout_user
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload, undefer

from ..extensions import db
from ..models import Account, LoginSession, Store, utcnow


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


# One query per request for who is logged in: the live session (revoked or
# expired ones never match), its account, the account's business, store
# (with whether it may take payments) and registers, and an app member's
# member record, through the unique index on token_hash. Every later use
# (`current_user.store`, the forced password change, 利用停止 checks, a
# register looked up by id) is answered from what this loaded. Built once:
# loader options are immutable, and building them costs every request.
_ACCOUNT_OF_SESSION = (
    select(Account, LoginSession.id, LoginSession.remember)
    .join(LoginSession, LoginSession.account_id == Account.id)
    .options(
        joinedload(Account.business),
        joinedload(Account.member),
        joinedload(Account.store).options(undefer(Store.payments_stopped), joinedload(Store.registers)),
    )
    .where(
        LoginSession.token_hash == bindparam("token_hash"),
        LoginSession.revoked_at.is_(None),
        LoginSession.expires_at > bindparam("now", type_=LoginSession.expires_at.type),
    )
)


def load_account(token: str) -> Account | None:
    """Flask-Login's user loader: the account of a live session, or None.
    Reads only; an ordinary request writes nothing about the session."""
    if not token or len(token) > 100:
        return None
    row = db.session.execute(_ACCOUNT_OF_SESSION, {"token_hash": _hash(token), "now": utcnow()}).unique().first()
    if row is None:
        return None
    account, session_id, remember = row
    if not account.is_active:
        return None
    account.login_session = CurrentSession(session_id, remember, token)
    return account


def init_login_manager(manager: LoginManager) -> None:
    manager.user_loader(load_account)
    # Our sessions are bound to the server row; Flask-Login's IP/UA "strong"
    # protection would log tills out when the shop's address changes.
    manager.session_protection = None
    manager.login_message = "ログインしてください。"
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
