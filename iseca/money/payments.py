"""決済: a payment of points from one member to one store.

`pay()` moves the points (through `ledger.spend`); `pay_once()` wraps it
with an idempotency key (iseca/idempotency.py) so a repeated submission
(double tap, network retry, back-and-resubmit) returns the first result and
never charges twice.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, Date, Integer, String, bindparam, cast, event, func, insert, literal_column, select
from sqlalchemy.orm import Session

from .. import amounts, audit
from . import day_totals, idempotency, ledger, settlement
from ..database import insert_ignoring_conflict
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


class PaymentRefused(Exception):
    """A payment that cannot be made, with a message for the clerk or the
    customer (in the reader's language: raised inside their request)."""


class AmountInvalid(PaymentRefused):
    """The amount typed is not a whole number of yen within the limit."""


class StoreSuspended(PaymentRefused):
    """The store is suspended (利用停止): it takes no payments."""


# 取引番号 = JST date + a bijection of the ledger transaction id onto ten
# digits: unique without a retry loop, and not a visible running count.
_NUMBER_MULTIPLIER = 3_141_592_653  # odd and not a multiple of 5: invertible mod 10**10
_NUMBER_OFFSET = 2_718_281_828


def new_payment_number(at: dt.datetime, sequence: int | None = None) -> str:
    """取引番号: yymmdd (JST) and ten digits derived from `sequence`."""
    import secrets

    value = secrets.randbelow(10**10) if sequence is None else (sequence * _NUMBER_MULTIPLIER + _NUMBER_OFFSET) % 10**10
    return jst_date(at).strftime("%y%m%d") + f"{value:010d}"


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
# ---------------------------------------------------------------------------
# The payment itself
# ---------------------------------------------------------------------------


def _period_id(day: dt.date) -> int:
    """The settlement period of `day`, created when first needed; safe when
    two payments open a new period at the same moment.

    Periods are never deleted and their start day is unique, so once a
    transaction that saw the period's id commits, the id is kept for the
    process (per app) and later payments of the period need no query."""
    starts_on, ends_on = settlement.period_bounds(day)
    known = current_app.extensions.setdefault("iseca_period_ids", {})
    period_id = known.get(starts_on)
    if period_id is not None:
        return period_id
    period_id = db.session.scalar(select(SettlementPeriod.id).where(SettlementPeriod.starts_on == starts_on))
    if period_id is None:
        insert_ignoring_conflict(SettlementPeriod, ["starts_on"], {"starts_on": starts_on, "ends_on": ends_on, "status": PeriodStatus.OPEN})
        period_id = db.session.scalar(select(SettlementPeriod.id).where(SettlementPeriod.starts_on == starts_on))
    db.session.info.setdefault(_PERIODS_SEEN, []).append((known, starts_on, period_id))
    return period_id


_PERIODS_SEEN = "iseca_periods_seen"


@event.listens_for(Session, "after_commit")
def _remember_periods(session):
    for known, starts_on, period_id in session.info.pop(_PERIODS_SEEN, ()):
        known[starts_on] = period_id


@event.listens_for(Session, "after_rollback")
def _forget_periods(session):
    # A period created by the rolled-back transaction does not exist.
    session.info.pop(_PERIODS_SEEN, None)


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

    Raises PaymentRefused, or ledger.InsufficientBalance when the member's
    campaigns that run on the payment day hold too little; nothing is
    charged then."""
    check_payer(member, card)
    return _pay(member, register, amount, method, actor=actor, card=card, at=at).payment


_INSERT_PAYMENT = insert(Payment.__table__).returning(Payment.__table__.c.id)


def _check_amount(amount) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise AmountInvalid(_("金額は1円以上の整数で入力してください。"))


def _pay(member, register, amount, method, *, actor=None, card=None, at=None) -> PaymentResult:
    """The payment of `pay`, the payer already checked: the ledger's
    movement, then the payment row (one INSERT, in the same transaction)."""
    _check_amount(amount)
    store = check_store(register)
    at = at or utcnow()
    spent = ledger.spend(member.id, store.id, amount, actor=actor, memo=f"決済 {store.code}", at=at)
    number = new_payment_number(at, spent.transaction_id)
    payment_id = db.session.connection().execute(_INSERT_PAYMENT, {
        "number": number,
        "business_id": store.business_id,
        "store_id": store.id,
        "register_id": register.id,
        "member_id": member.id,
        "card_id": card.id if card else None,
        "campaign_id": spent.campaign_id,
        "method": method,
        "amount": amount,
        "status": PaymentStatus.COMPLETED,
        "created_at": at,
        "created_by_account_id": actor.id if actor else None,
        "ledger_transaction_id": spent.transaction_id,
        "period_id": _period_id(jst_date(at)),
    }).scalar_one()
    day_totals.record_payment(register_id=register.id, store_id=store.id, business_id=store.business_id,
                              method=method, amount=amount, at=at)
    return PaymentResult(payment_id=payment_id, number=number, balance_after=spent.balance_after)


def _constant(value: int | str):
    """A constant written into the SQL rather than sent as a parameter:
    psycopg converts a statement's placeholders once and keeps the result
    only for statements of at most 50 parameters and 4,096 characters (the
    conversion costs about a millisecond); the payment's stays under both."""
    if isinstance(value, int):
        return literal_column(str(int(value)), BigInteger)
    assert value.replace("_", "").isalnum(), value
    return literal_column(f"'{value}'", String)


def _json_object(**members):
    """json_build_object of `members`, the names written into the SQL."""
    return func.json_build_object(*[part for name, value in members.items() for part in (_constant(name), value)])


@functools.cache
def _recorded_payment_statement(n: int):
    """PostgreSQL: everything a payment writes after its accounts are
    locked and split (`ledger.plan_spend`), as one statement of
    data-modifying CTEs: the balances, the ledger transaction and its `n`
    entries, the payment (its 取引番号 computed from the transaction's id as
    `new_payment_number` does), its day's totals, the key's result and the
    audit row. One round trip instead of seven; the same rows as `_pay`,
    `idempotency.finish` and `audit.write` write on SQLite. Built once per
    number of entries (SQLAlchemy then reuses its compiled form)."""
    moved, tx, entries = ledger.movement_ctes(n)
    table = Payment.__table__
    # Parameters named pay_<column>: see ledger.movement_ctes on names.
    p = {name: bindparam(f"pay_{name}", type_=table.c[name].type)
         for name in ("business_id", "store_id", "register_id", "member_id", "card_id", "campaign_id", "method",
                      "amount", "status", "created_at", "period_id")}
    actor_id = bindparam("tx_actor", type_=Integer)
    sequence = (cast(tx.c.id, BigInteger) * _constant(_NUMBER_MULTIPLIER) + _constant(_NUMBER_OFFSET)) % _constant(10**10)
    number = bindparam("pay_number_day", type_=String) + func.lpad(cast(sequence, String), _constant(10), _constant("0"))
    pay = (
        insert(table)
        .from_select(["number", *p, "created_by_account_id", "ledger_transaction_id"],
                     select(number, *p.values(), actor_id, tx.c.id))
        .returning(table.c.id, table.c.number)
        .cte("pay")
    )
    totals = day_totals.payment_upsert_postgresql(
        select(bindparam("pay_day", type_=Date), p["register_id"], p["method"], p["store_id"], p["business_id"],
               p["amount"]).select_from(pay)
    ).cte("totals")
    result = _json_object(payment_id=pay.c.id, number=pay.c.number, amount=p["amount"],
                          balance_after=bindparam("pay_balance_after", type_=BigInteger))
    key = idempotency.finish_with_payment(select(pay.c.id).scalar_subquery(),
                                          select(result).select_from(pay).scalar_subquery()).cte("key")
    audit_row = audit.insert_from(pay.c.id, _json_object(
        number=pay.c.number, amount=p["amount"], method=cast(p["method"], String), register_id=p["register_id"],
        member_code=bindparam("pay_member_code", type_=String),
    )).cte("audit_row")
    return (
        select(moved.label("moved"), select(pay.c.id).scalar_subquery().label("payment_id"),
               select(pay.c.number).scalar_subquery().label("number"))
        .add_cte(entries, totals, key, audit_row)
    )


@functools.cache
def _claim_and_lock_statement():
    """PostgreSQL: the key's claim (idempotency.CLAIM_POSTGRESQL), then the
    payer's and the store's accounts locked (ledger.spendable_locked_with),
    in one round trip. The claim comes first, as when they were two
    statements: a repeat of a request waits on the key for the first one,
    not holding the accounts the first one is about to lock."""
    claim = idempotency.CLAIM_POSTGRESQL.cte("claim")
    claimed = select(select(claim.c.id).scalar_subquery().label("claimed")).subquery("claim_result")
    return ledger.spendable_locked_with(claimed)


def _pay_once_postgresql(conn, fingerprint, actor, key, member, register, amount, method, *, card) -> PaymentResult:
    """`pay_once` on PostgreSQL in two statements: the claim with the
    locks, then (a new key) every row of the payment."""
    at = utcnow()
    day = jst_date(at)
    params = idempotency.claim_parameters(actor.id, key, fingerprint, KEY_MESSAGES)
    params.update(member_id=member.id, store_id=register.store.id, day=day)
    with idempotency.lock_waits_refused(KEY_MESSAGES):
        rows = conn.execute(_claim_and_lock_statement(), params).all()
    if rows[0].claimed is None:
        return _replayed(idempotency.first_claim(actor.id, key, fingerprint, KEY_MESSAGES))
    check_payer(member, card)
    _check_amount(amount)
    store = check_store(register)
    plan = ledger.plan_spend(member.id, store.id, amount, at=at, locked=rows)
    params = ledger.movement_parameters(plan.movements)
    params.update(
        tx_kind=LedgerTransactionKind.PAYMENT, tx_memo=f"決済 {store.code}"[:300], tx_actor=actor.id, tx_at=at,
        pay_number_day=day.strftime("%y%m%d"), pay_business_id=store.business_id, pay_store_id=store.id,
        pay_register_id=register.id, pay_member_id=member.id, pay_card_id=card.id if card else None,
        pay_campaign_id=plan.campaign_id, pay_method=method, pay_amount=amount, pay_status=PaymentStatus.COMPLETED,
        pay_created_at=at, pay_period_id=_period_id(day), pay_day=day, pay_balance_after=plan.balance_after,
        pay_member_code=member.code, account_id_=actor.id, key_=key,
        **audit.parameters("payment_created", "payment", actor=actor, business_id=store.business_id),
    )
    row = conn.execute(_recorded_payment_statement(len(plan.movements)), params).one()
    if row.moved != len(plan.movements) or row.payment_id is None:
        # The rows were locked and read above: only a broken invariant gets here.
        raise ledger.InsufficientBalance(plan.balance_after + amount)
    ledger.expire_balances([account_id for account_id, _ in plan.movements])
    return PaymentResult(payment_id=row.payment_id, number=row.number, balance_after=plan.balance_after)


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
) -> PaymentResult:
    """A payment made at most once per (actor, key): a repeat of the same
    request returns the first result; the same key with a different request
    is refused (idempotency.KeyRefused, with KEY_MESSAGES). The payer is
    checked here, once. The caller commits (or rolls back on an exception).

    On PostgreSQL two statements (`_pay_once_postgresql`); elsewhere the
    key, the payment (`_pay`), the key's result and the audit row one after
    the other. Either way in the caller's transaction."""
    fingerprint = idempotency.fingerprint(register=register.id, member=member.id, card=card.id if card else None,
                                          amount=amount, method=str(method))
    conn = ledger.connection()
    if conn.dialect.name == "postgresql":
        return _pay_once_postgresql(conn, fingerprint, actor, key, member, register, amount, method, card=card)
    first = idempotency.claim(actor.id, key, fingerprint, KEY_MESSAGES)
    if first is not None:
        return _replayed(first)
    check_payer(member, card)
    result = _pay(member, register, amount, method, actor=actor, card=card)
    idempotency.finish(actor.id, key, {"payment_id": result.payment_id, "number": result.number, "amount": amount,
                                       "balance_after": result.balance_after}, payment_id=result.payment_id)
    audit.write("payment_created", "payment", result.payment_id,
                {"number": result.number, "amount": amount, "method": str(method), "register_id": register.id,
                 "member_code": member.code}, actor=actor, business_id=register.store.business_id)
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
