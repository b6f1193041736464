"""決済: a payment of points from one member to one store.

`pay()` moves the points (through `ledger.spend`); `pay_once()` wraps it
with an idempotency key (iseca/money/idempotency.py) so a repeated
submission (double tap, network retry, back-and-resubmit) returns the first
result and never charges twice. What a payment writes, and PostgreSQL's
statements writing it, are in iseca/money/payment_statement.py.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select

from .. import amounts, audit
from ..extensions import db
from ..i18n import yen
from ..models import (
    Account,
    Card,
    CardStatus,
    LedgerTransactionKind,
    Member,
    MemberStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    PeriodStatus,
    Register,
    SettlementPeriod,
    Store,
    utcnow,
)
from ..timeutil import jst_date
from . import day_totals, idempotency, ledger, periods
from .payment_statement import (
    audit_details,
    claim_and_lock_statement,
    key_result,
    new_payment_number,
    payment_row,
    recorded_payment_statement,
    row_parameters,
)


class PaymentRefused(Exception):
    """A payment that cannot be made, with a message for the clerk or the
    customer (in the reader's language: raised inside their request)."""


class AmountInvalid(PaymentRefused):
    """The amount typed is not a whole number of yen within the limit."""


class StoreSuspended(PaymentRefused):
    """The store is suspended (利用停止): it takes no payments."""


class PeriodClosed(PaymentRefused):
    """The moment of the payment lies in a settlement period already closed
    (精算済み): it would never be settled."""


# ---------------------------------------------------------------------------
# Amounts
# ---------------------------------------------------------------------------

def max_amount() -> int:
    return int(current_app.config["PAYMENT_MAX_AMOUNT"])


def parse_amount(raw: str | int | None, limit: int | None = None) -> int:
    """The tax-included amount as typed (the one yen parser, `amounts`).
    Raises AmountInvalid with the message shown next to the field."""
    limit = max_amount() if limit is None else limit
    try:
        return amounts.parse_yen(raw, maximum=limit, too_large=lambda: _("1回の決済は%(amount)sまでです。", amount=yen(limit)))
    except amounts.AmountInvalid as invalid:
        raise AmountInvalid(str(invalid)) from None


# ---------------------------------------------------------------------------
# Who may pay, and who may be paid
# ---------------------------------------------------------------------------


def check_payer(member: Member, card: Card | None) -> None:
    """Refuse a suspended member or a card that is not active."""
    if card is not None:
        if card.status == CardStatus.SUSPENDED:
            raise PaymentRefused(_("このカードは利用停止中です（紛失・盗難の届出済み）。決済できません。"))
        if card.status == CardStatus.REPLACED:
            raise PaymentRefused(_("このカードは再発行により無効になっています。新しいカードで決済してください。"))
        if card.member_id != member.id:
            raise PaymentRefused(_("カードと会員が一致しません。"))
    if member.status != MemberStatus.ACTIVE:
        raise PaymentRefused(_("この会員は利用停止中です。ISECA窓口にお問い合わせください。"))


def check_store(register: Register) -> Store:
    """Refuse a retired register, or a store that is suspended (利用停止:
    the store, its business or either's login; see Store.payments_stopped)."""
    store = register.store
    if register.retired_at is not None:
        raise PaymentRefused(_("このレジは使用を終了しています。"))
    if store.payments_stopped:
        raise StoreSuspended(_("この店舗は現在ISECAでの決済を停止しています（利用停止中）。決済はされていません。"))
    return store


# ---------------------------------------------------------------------------
# The duplicate guard: the same payer, store and amount again, with a new key
# ---------------------------------------------------------------------------


class DuplicateSuspected(Exception):
    """A completed payment of the same member at the same store for the same
    amount was made within the window (`duplicate_window`) under another key:
    nothing is charged until the clerk or customer confirms (`confirmed` of
    `pay_once` naming this earlier payment). Raised under the payment's locks,
    so of two tills sending at once one charges and the other asks."""

    def __init__(self, earlier: Payment, at: dt.datetime):
        super().__init__(earlier.number)
        self.earlier = earlier
        self.seconds_ago = max(0, int((at - earlier.created_at).total_seconds()))

    @property
    def minutes_ago(self) -> int:
        """Whole minutes since the earlier payment, at least 1 (「1分前」 for the last minute)."""
        return max(1, -(-self.seconds_ago // 60))


def duplicate_window() -> int:
    """ISECA_DUPLICATE_PAYMENT_WINDOW_SECONDS (0 or less: the guard is off)."""
    return int(current_app.config.get("DUPLICATE_PAYMENT_WINDOW_SECONDS", 180))


def recent_duplicate(member_id: int, store_id: int, amount: int, at: dt.datetime) -> Payment | None:
    """The latest completed payment of the member at the store for `amount`
    within the window before `at` (index ix_payments_member_created)."""
    window = duplicate_window()
    if window <= 0:
        return None
    return db.session.scalar(
        select(Payment)
        .where(Payment.member_id == member_id, Payment.created_at >= at - dt.timedelta(seconds=window),
               Payment.store_id == store_id, Payment.amount == amount, Payment.status == PaymentStatus.COMPLETED)
        .order_by(Payment.created_at.desc(), Payment.id.desc())
        .limit(1)
    )


def _check_duplicate(member: Member, store_id: int, amount: int, at: dt.datetime, confirmed: int | None) -> int | None:
    """DuplicateSuspected unless the latest such payment is the one the
    clerk confirmed (or an older one). Returns the id of the confirmed
    earlier payment when the confirmation is what let this one through.
    Runs after the payer's accounts are locked: a payment committed by
    another till meanwhile is seen here (a new statement, a new snapshot)."""
    earlier = recent_duplicate(member.id, store_id, amount, at)
    if earlier is None:
        return None
    if confirmed is not None and earlier.id <= confirmed:
        return earlier.id
    raise DuplicateSuspected(earlier, at)


def record_duplicate_question(actor: Account, suspected: DuplicateSuspected, register: Register) -> None:
    """The audit row of a question asked (the payment it was about as the
    target); written in its own transaction after the refused one's rollback."""
    earlier = suspected.earlier
    audit.write("payment_duplicate_asked", "payment", earlier.id,
                {"number": earlier.number, "amount": earlier.amount, "register_id": register.id,
                 "member_code": earlier.member.code, "seconds": suspected.seconds_ago},
                actor=actor, business_id=earlier.business_id)


def _record_duplicate_confirmed(actor: Account, result: PaymentResult, earlier_id: int, register: Register) -> None:
    earlier_number = db.session.scalar(select(Payment.number).where(Payment.id == earlier_id))
    audit.write("payment_duplicate_confirmed", "payment", result.payment_id,
                {"number": result.number, "earlier": earlier_number, "register_id": register.id},
                actor=actor, business_id=register.store.business_id)


# ---------------------------------------------------------------------------
# The payment itself
# ---------------------------------------------------------------------------


@dataclass
class PaymentResult:
    """What the completion screen needs: the payment's id and 取引番号, and
    the member's 利用可能ポイント right after it."""

    payment_id: int
    number: str
    balance_after: int
    replayed: bool = False

    @property
    def payment(self) -> Payment:
        """The payment (loaded when asked for: the charge itself needs only its id)."""
        return db.session.get(Payment, self.payment_id)


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
    """Move `amount` points from the member to the register's store, after
    the same checks as every payment (payer, card, register, store).

    Raises PaymentRefused (PeriodClosed for an `at` in a settlement period
    already closed), or ledger.InsufficientBalance when the member's
    campaigns that run on the payment day hold too little; nothing is
    charged then."""
    check_payer(member, card)
    return _pay(member, register, amount, method, actor=actor, card=card, at=at).payment


_INSERT_PAYMENT = insert(Payment.__table__).returning(Payment.__table__.c.id)


def _check_amount(amount) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise AmountInvalid(_("金額は1円以上の整数で入力してください。"))


def _open_period_id(at: dt.datetime) -> int:
    """The id of the settlement period of `at`, refused (PeriodClosed) when
    it is closed: its payments are counted already and a late one would
    never be settled. Read under a share lock before any points move, so a
    closing (an UPDATE of the period's status) waits for this payment or
    happens before it, and both take the period's row first."""
    period_id = periods.period_id(jst_date(at))
    status = db.session.scalar(
        select(SettlementPeriod.status).where(SettlementPeriod.id == period_id).with_for_update(read=True)
    )
    if status != PeriodStatus.OPEN:
        raise PeriodClosed(_("%(day)sの精算期間は締められているため、その日時の決済は記録できません。",
                             day=jst_date(at).isoformat()))
    return period_id


def _pay(member, register, amount, method, *, actor=None, card=None, at=None) -> PaymentResult:
    """The payment of `pay`, the payer already checked: the ledger's
    movement, then the payment row (one INSERT, in the same transaction)."""
    _check_amount(amount)
    store = check_store(register)
    at = at or utcnow()
    period_id = _open_period_id(at)
    spent = ledger.spend(member.id, store.id, amount, actor=actor, memo=f"決済 {store.code}", at=at)
    number = new_payment_number(at, spent.transaction_id)
    row = payment_row(business_id=store.business_id, store_id=store.id, register_id=register.id, member_id=member.id,
                      card_id=card.id if card else None, campaign_id=spent.campaign_id, method=method, amount=amount,
                      at=at, actor_id=actor.id if actor else None, period_id=period_id)
    payment_id = db.session.connection().execute(
        _INSERT_PAYMENT, {**row, "number": number, "ledger_transaction_id": spent.transaction_id}
    ).scalar_one()
    day_totals.record_payment(register_id=register.id, store_id=store.id, business_id=store.business_id,
                              method=method, amount=amount, at=at)
    return PaymentResult(payment_id=payment_id, number=number, balance_after=spent.balance_after)


def _pay_once_postgresql(conn, fingerprint, actor, key, member, register, amount, method, *, card,
                         confirmed) -> PaymentResult:
    """`pay_once` on PostgreSQL in two statements: the claim with the
    locks, then (a new key) every row of the payment; between them the
    duplicate guard's query, under the payer's locks."""
    at = utcnow()
    day = jst_date(at)
    params = idempotency.claim_parameters(actor.id, key, fingerprint, KEY_MESSAGES)
    params.update(member_id=member.id, store_id=register.store.id, day=day)
    with idempotency.lock_waits_refused(KEY_MESSAGES):
        rows = conn.execute(claim_and_lock_statement(), params).all()
    if rows[0].claimed is None:
        return _replayed(idempotency.first_claim(actor.id, key, fingerprint, KEY_MESSAGES))
    check_payer(member, card)
    _check_amount(amount)
    store = check_store(register)
    confirmed_id = _check_duplicate(member, store.id, amount, at, confirmed)
    plan = ledger.plan_spend(member.id, store.id, amount, at=at, locked=rows)
    # The period's row, read beside the claim; made here by the first payment of a period.
    period_id = rows[0].period_id if rows[0].period_id is not None else periods.period_id(day)
    written = payment_row(business_id=store.business_id, store_id=store.id, register_id=register.id,
                          member_id=member.id, card_id=card.id if card else None, campaign_id=plan.campaign_id,
                          method=method, amount=amount, at=at, actor_id=actor.id, period_id=period_id)
    params = ledger.movement_parameters(plan.movements)
    params.update(
        row_parameters(written), tx_kind=LedgerTransactionKind.PAYMENT, tx_memo=f"決済 {store.code}"[:300], tx_at=at,
        pay_number_day=day.strftime("%y%m%d"), pay_day=day, pay_balance_after=plan.balance_after,
        pay_member_code=member.code, account_id_=actor.id, key_=key,
        **audit.parameters("payment_created", "payment", actor=actor, business_id=store.business_id),
    )
    row = conn.execute(recorded_payment_statement(len(plan.movements), tuple(written)), params).one()
    if row.moved != len(plan.movements) or row.payment_id is None:
        # The rows were locked and read above: only a broken invariant gets here.
        raise ledger.InsufficientBalance(plan.balance_after + amount)
    ledger.expire_balances([account_id for account_id, _ in plan.movements])
    result = PaymentResult(payment_id=row.payment_id, number=row.number, balance_after=plan.balance_after)
    if confirmed_id is not None:
        _record_duplicate_confirmed(actor, result, confirmed_id, register)
    return result


# What the clerk or customer reads when a payment's key is refused (lazy:
# in the language of the request that is refused).
KEY_MESSAGES = idempotency.Messages(
    invalid=_l("画面の有効期限が切れました。最初からやり直してください。"),
    reused=_l("この画面からはすでに別の内容で決済しています。最初からやり直してください。"),
    in_flight=_l("同じ決済を処理中です。店舗利用履歴で決済が完了したか確認してください。"),
)


def pay_once(
    actor: Account,
    key: str,
    member: Member,
    register: Register,
    amount: int,
    method: PaymentMethod,
    *,
    card: Card | None = None,
    confirmed: int | None = None,
) -> PaymentResult:
    """A payment made at most once per (actor, key): a repeat of the same
    request returns the first result; the same key with a different request
    is refused (idempotency.KeyRefused, with KEY_MESSAGES). The payer is
    checked here, once. The caller commits (or rolls back on an exception).

    A new key for the same member, store and amount as a payment completed
    within the window raises DuplicateSuspected, unless `confirmed` names
    that payment (the clerk's 「もう一度決済する」): then it charges, audited.

    On PostgreSQL two statements (`_pay_once_postgresql`); elsewhere the
    key, the payment (`_pay`), the key's result and the audit row one after
    the other. Either way in the caller's transaction."""
    fingerprint = idempotency.fingerprint(register=register.id, member=member.id, card=card.id if card else None,
                                          amount=amount, method=str(method))
    conn = ledger.connection()
    if conn.dialect.name == "postgresql":
        return _pay_once_postgresql(conn, fingerprint, actor, key, member, register, amount, method, card=card,
                                    confirmed=confirmed)
    # The claim is the transaction's first write: SQLite's write lock is held
    # from here, so the duplicate guard below sees every other till's payment.
    first = idempotency.claim(actor.id, key, fingerprint, KEY_MESSAGES)
    if first is not None:
        return _replayed(first)
    check_payer(member, card)
    at = utcnow()
    _check_amount(amount)
    confirmed_id = _check_duplicate(member, check_store(register).id, amount, at, confirmed)
    result = _pay(member, register, amount, method, actor=actor, card=card, at=at)
    idempotency.finish(actor.id, key, key_result(result.payment_id, result.number, amount, result.balance_after),
                       payment_id=result.payment_id)
    audit.write("payment_created", "payment", result.payment_id,
                audit_details(result.number, amount, str(method), register.id, member.code),
                actor=actor, business_id=register.store.business_id)
    if confirmed_id is not None:
        _record_duplicate_confirmed(actor, result, confirmed_id, register)
    return result


def _replayed(first) -> PaymentResult:
    """The first result of a key, for its repeat."""
    result = first.result or {}
    return PaymentResult(payment_id=first.payment_id, number=str(result.get("number", "")),
                         balance_after=int(result.get("balance_after", 0)), replayed=True)


def balance_after(payment: Payment, account_id: int, key: str | None) -> int | None:
    """The member's 利用可能ポイント right after `payment`, as stored with the
    key of the request that made it; None when the key is not given or is
    not that payment's."""
    found = idempotency.stored(account_id, key)
    if found is None or found[0] != payment.id or "balance_after" not in found[1]:
        return None
    return int(found[1]["balance_after"])
