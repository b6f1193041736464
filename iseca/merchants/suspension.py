"""利用停止 / 利用再開 of a business (事業者) or one of its stores: while
suspended a store takes no payments by either method (Store.payments_stopped),
is not listed in 「使えるお店」, and the suspended merchant's accounts cannot
log in (Account.is_active). A suspension always has a reason (ISECA窓口
types it on the confirmation page): it is mailed to the business and kept
in the audit row. Each change is audited and mailed to the business; the
reactivation mail says the tills must log in again (the suspension ended
their sessions)."""
from __future__ import annotations

from sqlalchemy import select

from .. import audit, outbox
from ..extensions import db
from ..i18n import N_
from ..models import Account, AccountKind, Business, MerchantStatus, OutboxMessage, Store
from ..sessions import revoke_all_sessions

SUBJECT_SUSPENDED = N_("【ISECA】利用停止のお知らせ")
SUBJECT_REACTIVATED = N_("【ISECA】利用再開のお知らせ")


def _end_sessions(accounts: list[Account]) -> None:
    for account in accounts:
        revoke_all_sessions(account.id)


def _accounts_of_business(business: Business) -> list[Account]:
    return list(db.session.scalars(
        select(Account).where(Account.business_id == business.id,
                              Account.kind.in_([AccountKind.BUSINESS, AccountKind.STORE]))
    ))


def _accounts_of_store(store: Store) -> list[Account]:
    return list(db.session.scalars(select(Account).where(Account.kind == AccountKind.STORE, Account.store_id == store.id)))


def _mail(business: Business, template: str, subject: str, **context) -> OutboxMessage | None:
    if not business.email:
        return None
    return outbox.queue_mail(business.email, subject, template, locale=outbox.locale_of_business(business),
                             business=business, **context)


def _checked_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("a suspension needs its reason")
    return reason


def suspend_business(business: Business, staff: Account, reason: str) -> OutboxMessage | None:
    """事業者の利用停止: all its stores stop taking payments and leave
    「使えるお店」; its accounts are logged out and cannot log in. None
    (and nothing changed) when it already was suspended."""
    reason = _checked_reason(reason)
    if business.status == MerchantStatus.SUSPENDED:
        return None
    business.status = MerchantStatus.SUSPENDED
    _end_sessions(_accounts_of_business(business))
    audit.record("business_suspended", business, {"business": business.code, "reason": reason}, actor=staff)
    return _mail(business, "merchant_suspended", SUBJECT_SUSPENDED, stores=list(business.stores), whole=True,
                 reason=reason)


def reactivate_business(business: Business, staff: Account) -> OutboxMessage | None:
    """事業者の利用再開: what the suspension stopped works again."""
    if business.status == MerchantStatus.ACTIVE:
        return None
    business.status = MerchantStatus.ACTIVE
    audit.record("business_reactivated", business, {"business": business.code}, actor=staff)
    return _mail(business, "merchant_reactivated", SUBJECT_REACTIVATED, stores=list(business.stores), whole=True)


def suspend_store(store: Store, staff: Account, reason: str) -> OutboxMessage | None:
    """店舗の利用停止: this store alone stops taking payments, leaves
    「使えるお店」, and its store account is logged out and cannot log in."""
    reason = _checked_reason(reason)
    if store.status == MerchantStatus.SUSPENDED:
        return None
    store.status = MerchantStatus.SUSPENDED
    _end_sessions(_accounts_of_store(store))
    audit.record("store_suspended", store, {"business": store.business.code, "store": store.code, "reason": reason},
                 actor=staff)
    return _mail(store.business, "merchant_suspended", SUBJECT_SUSPENDED, stores=[store], whole=False,
                 reason=reason)


def reactivate_store(store: Store, staff: Account) -> OutboxMessage | None:
    """店舗の利用再開."""
    if store.status == MerchantStatus.ACTIVE:
        return None
    store.status = MerchantStatus.ACTIVE
    audit.record("store_reactivated", store, {"business": store.business.code, "store": store.code}, actor=staff)
    return _mail(store.business, "merchant_reactivated", SUBJECT_REACTIVATED, stores=[store], whole=False)
