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
from flask_babel import gettext
from flask_login import LoginManager, login_user, logout_user
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload, undefer

from ..extensions import db
from ..i18n import N_
from ..models import Account, LoginSession, Store, utcnow


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# A store account's store and registers come in the same query: every till
# request needs them (held by `account.store`, so later lookups by id are
# answered from the session's identity map, not the database); so does
# whether the store may take payments (checked by each charge). Built once:
# loader options are immutable, and building them costs every request.
_STORE_OF_ACCOUNT = joinedload(Account.store).options(undefer(Store.payments_stopped), joinedload(Store.registers))


def load_account(token: str) -> Account | None:
    """Flask-Login's user loader: the account of a live session, or None."""
    if not token or len(token) > 100:
        return None
    row = db.session.execute(
        select(LoginSession, Account)
        .join(Account, LoginSession.account_id == Account.id)
        .options(_STORE_OF_ACCOUNT)
        .where(LoginSession.token_hash == _hash(token))
    ).unique().first()
    if row is None:
        return None
    login_session, account = row
    if login_session.revoked_at is not None or login_session.expires_at <= utcnow():
        return None
    if not account.is_active:
        return None
    login_session.cookie_token = token
    account.login_session = login_session
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
        account.login_session.revoked_at = utcnow()
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
