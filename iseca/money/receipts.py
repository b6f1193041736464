"""レシート: what the receipt of a payment, or of its 取消, says.

A receipt shows the store (name and address), the moment (Japan time), the
amount in ISECAポイント, the card or member code masked to its last four
digits, the 取引番号 and, for card members only (they have no app to look
it up), the balance left right after that moment. A cancelled payment's
receipt and the receipt of the 取消 itself are both marked 取消. Nothing
else about the member is on it: the same receipt opens from its QR code
without a login."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from ..extensions import db
from ..models import LedgerAccount, LedgerAccountKind, LedgerEntry, MemberKind, Payment, PaymentStatus

PAYMENT = "payment"  # the receipt of the payment (決済)
CANCELLATION = "cancellation"  # the receipt of its 取消
KINDS = (PAYMENT, CANCELLATION)
SHOWN_DIGITS = 4


class NoReceipt(LookupError):
    """The receipt asked for does not exist (a 取消 receipt of a payment not cancelled)."""


@dataclass(frozen=True)
class Receipt:
    """One receipt's fields, as plain values."""

    payment_id: int
    kind: str
    store_name: str
    postal_code: str
    address: str
    at: dt.datetime
    amount: int
    number: str
    masked_code: str
    card: bool  # paid with a card (the code is the card's number), else the member code
    balance: int | None  # card members only
    cancelled: bool  # marked 取消: the cancellation, or a payment cancelled since
    cancelled_at: dt.datetime | None


def mask(code: str) -> str:
    """A card number or member code with all but its last four digits hidden: ****1234."""
    return "*" * 4 + code[-SHOWN_DIGITS:]


def balance_after(member_id: int, ledger_transaction_id: int) -> int:
    """The member's points right after a ledger transaction: the sum of the
    entries of their accounts up to and including it (a member's entries
    are written one transaction at a time, under the lock of their accounts)."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0))
        .join(LedgerAccount, LedgerEntry.account_id == LedgerAccount.id)
        .where(LedgerAccount.kind == LedgerAccountKind.MEMBER, LedgerAccount.member_id == member_id,
               LedgerEntry.transaction_id <= ledger_transaction_id)
    )
    return int(total)


def receipt_of(payment: Payment, kind: str = PAYMENT) -> Receipt:
    """The receipt of `payment` (kind PAYMENT) or of its 取消 (CANCELLATION);
    NoReceipt for the 取消 receipt of a payment that is not cancelled."""
    if kind not in KINDS:
        raise NoReceipt(kind)
    cancelled = payment.status == PaymentStatus.CANCELLED
    if kind == CANCELLATION and not (cancelled and payment.cancelled_at is not None):
        raise NoReceipt(kind)
    transaction_id = payment.cancel_transaction_id if kind == CANCELLATION else payment.ledger_transaction_id
    balance = None
    if payment.member.kind == MemberKind.CARD and transaction_id is not None:
        balance = balance_after(payment.member_id, transaction_id)
    store = payment.store
    return Receipt(
        payment_id=payment.id,
        kind=kind,
        store_name=store.name,
        postal_code=store.postal_code,
        address=store.address,
        at=payment.cancelled_at if kind == CANCELLATION else payment.created_at,
        amount=payment.amount,
        number=payment.number,
        masked_code=mask(payment.card.number if payment.card is not None else payment.member.code),
        card=payment.card is not None,
        balance=balance,
        cancelled=cancelled,
        cancelled_at=payment.cancelled_at,
    )
