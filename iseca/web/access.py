"""Who may see what: fetch-or-404 helpers that also check ownership, so no
view checks authorisation by hand. A store account reaches only its own
store; a business account reaches the stores it owns."""
from __future__ import annotations

from flask import abort
from sqlalchemy import select

from ..extensions import db
from ..models import Account, AccountKind, Business, Payment, Register, Settlement, SettlementPeriod, Store


def stores_of(account: Account) -> list[Store]:
    """The stores an account may see, in code order."""
    if account.kind == AccountKind.STORE:
        return [account.store] if account.store is not None else []
    if account.kind == AccountKind.BUSINESS:
        return list(db.session.scalars(select(Store).where(Store.business_id == account.business_id).order_by(Store.code)))
    if account.kind == AccountKind.STAFF:
        return list(db.session.scalars(select(Store).order_by(Store.code)))
    return []


def get_store_or_404(account: Account, store_id: int) -> Store:
    """The store if `account` may see it; 404 otherwise (never 403, so
    another store's ids are not confirmed)."""
    store = db.session.get(Store, store_id)
    if store is None:
        abort(404)
    if account.kind == AccountKind.STAFF:
        return store
    if account.kind == AccountKind.STORE and account.store_id == store.id:
        return store
    if account.kind == AccountKind.BUSINESS and account.business_id == store.business_id:
        return store
    abort(404)


def get_business_or_404(account: Account) -> Business:
    """The business of a business account (事業者情報 is for them alone)."""
    if account.kind != AccountKind.BUSINESS or account.business is None:
        abort(404)
    return account.business


def get_register_or_404(account: Account, register_id: int) -> Register:
    """A register of a store the account may see."""
    register = db.session.get(Register, register_id)
    if register is None:
        abort(404)
    get_store_or_404(account, register.store_id)
    return register


def get_store_payment_or_404(account: Account, payment_id: int) -> Payment:
    """A payment of a store the account may see (利用状況一覧, 取消); 404 for
    anyone else's, so another store's payments are neither shown nor confirmed."""
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        abort(404)
    get_store_or_404(account, payment.store_id)
    return payment


def settlements_of(account: Account) -> list[Settlement]:
    """The settlements an account may see, newest period first: its
    business's (a store account sees its store's share of them)."""
    if account.kind not in (AccountKind.STORE, AccountKind.BUSINESS) or account.business_id is None:
        return []
    return list(db.session.scalars(
        select(Settlement).join(SettlementPeriod)
        .where(Settlement.business_id == account.business_id)
        .order_by(SettlementPeriod.starts_on.desc())
    ))


def share_of(account: Account) -> int | None:
    """The store whose share a store account sees; None for the whole business."""
    return account.store_id if account.kind == AccountKind.STORE else None


def get_settlement_or_404(account: Account, settlement_id: int) -> Settlement:
    """A settlement of the account's business (staff: any); 404 otherwise."""
    row = db.session.get(Settlement, settlement_id)
    if row is None:
        abort(404)
    if account.kind == AccountKind.STAFF:
        return row
    if account.kind in (AccountKind.STORE, AccountKind.BUSINESS) and account.business_id == row.business_id:
        return row
    abort(404)
