"""Creating login accounts (the counter, the CLI and onboarding use these)."""
from __future__ import annotations

from sqlalchemy import select

from .auth.passwords import generate_initial_password, set_password
from .extensions import db
from .models import Account, AccountKind


class AccountExists(Exception):
    pass


def create_account(
    kind: AccountKind,
    login: str,
    *,
    password: str | None = None,
    initial: bool = True,
    name: str = "",
    email: str = "",
    **links,
) -> tuple[Account, str]:
    """A new login account and its password (generated when not given).
    With `initial` the password must be changed at the first login."""
    if db.session.scalar(select(Account.id).where(Account.kind == kind, Account.login == login)) is not None:
        raise AccountExists(f"{kind}:{login}")
    password = password or generate_initial_password()
    account = Account(kind=kind, login=login, name=name, email=email, **links)
    set_password(account, password, initial=initial)
    db.session.add(account)
    db.session.flush()
    return account, password
