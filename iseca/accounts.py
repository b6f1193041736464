"""Login accounts and their administration: creating them (the counter,
the CLI and onboarding), and at the counter a merchant account's password
reset (mailed), 利用停止 and 利用再開; each writes its audit row."""
from __future__ import annotations

from sqlalchemy import select

from . import audit, outbox
from .extensions import db
from .i18n import N_
from .models import Account, AccountKind, Business, MerchantStatus, OutboxMessage
from .passwords import generate_initial_password, set_password
from .sessions import revoke_all_sessions

SUBJECT_PASSWORD_RESET = N_("【ISECA】パスワード再発行のお知らせ")


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


def merchant_accounts(business: Business) -> list[Account]:
    """The business account and its stores' accounts."""
    return list(db.session.scalars(
        select(Account)
        .where(Account.business_id == business.id, Account.kind.in_([AccountKind.BUSINESS, AccountKind.STORE]))
        .order_by(Account.kind, Account.login)
    ))


def mail_address_of(account: Account) -> str:
    """Where a merchant account's mail goes: its own address, else its business's."""
    if account.email:
        return account.email
    business = db.session.get(Business, account.business_id) if account.business_id else None
    return business.email if business is not None else ""


def reset_password(account: Account, staff: Account) -> tuple[str, OutboxMessage]:
    """A new initial password, mailed; every session ends; the account must
    change it at the next login."""
    password = generate_initial_password()
    set_password(account, password, initial=True)
    revoke_all_sessions(account.id)
    audit.record("password_reset", account, {"login": account.login}, actor=staff)
    message = outbox.queue_mail(mail_address_of(account), SUBJECT_PASSWORD_RESET, "password_reset",
                                locale=outbox.locale_of_account(account), account=account, password=password)
    return password, message


def suspend_account(account: Account, staff: Account) -> None:
    """利用停止: the account can no longer log in; its sessions end now."""
    account.status = MerchantStatus.SUSPENDED
    revoke_all_sessions(account.id)
    audit.record("account_suspended", account, {"login": account.login}, actor=staff)


def reactivate_account(account: Account, staff: Account) -> None:
    """利用再開."""
    account.status = MerchantStatus.ACTIVE
    audit.record("account_reactivated", account, {"login": account.login}, actor=staff)
