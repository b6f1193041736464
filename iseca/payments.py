"""決済: a payment of points from one member to one store."""
from __future__ import annotations

import datetime as dt
import secrets

from . import ledger, settlement
from .extensions import db
from .models import (
    Account,
    Card,
    LedgerTransactionKind,
    Member,
    Payment,
    PaymentMethod,
    Register,
    utcnow,
)
from .timeutil import jst_date


class PaymentRefused(Exception):
    """A payment that cannot be made, with a message for the clerk."""


def new_payment_number(at: dt.datetime) -> str:
    """取引番号: the JST date and eight random digits (not a guessable sequence)."""
    return jst_date(at).strftime("%y%m%d") + f"{secrets.randbelow(10**8):08d}"


def pay(
    member: Member,
    register: Register,
    amount: int,
    method: PaymentMethod,
    *,
    actor: Account | None = None,
    card: Card | None = None,
    at: dt.datetime | None = None,
) -> Payment:
    """Move `amount` points from the member to the register's store.

    Draws from the member's campaigns that run on the payment day, soonest
    expiring first. Raises ledger.InsufficientBalance when they do not hold
    enough; nothing is charged then.
    """
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise PaymentRefused("金額は1円以上の整数で入力してください。")
    at = at or utcnow()
    day = jst_date(at)
    accounts = ledger.spendable_accounts(member.id, day)
    available = sum(a.balance for a in accounts)
    if available < amount:
        raise ledger.InsufficientBalance(available)
    movements: list[tuple] = []
    remaining = amount
    for account in accounts:
        take = min(account.balance, remaining)
        if take > 0:
            movements.append((account, -take))
            remaining -= take
        if remaining == 0:
            break
    store = register.store
    movements.append((ledger.store_account(store.id), amount))
    txn = ledger.post(LedgerTransactionKind.PAYMENT, movements, actor=actor, memo=f"決済 {store.code}", at=at)
    campaign_ids = {a.campaign_id for a, amt in movements if amt < 0}
    payment = Payment(
        number=new_payment_number(at),
        business_id=store.business_id,
        store_id=store.id,
        register_id=register.id,
        member_id=member.id,
        card_id=card.id if card else None,
        campaign_id=campaign_ids.pop() if len(campaign_ids) == 1 else None,
        method=method,
        amount=amount,
        created_at=at,
        created_by_account_id=actor.id if actor else None,
        ledger_transaction_id=txn.id,
        period_id=settlement.period_for(day).id,
    )
    db.session.add(payment)
    db.session.flush()
    return payment
