"""決済: a payment of points from one member to one store.

`pay()` moves the points; `pay_once()` wraps it with an idempotency key so a
repeated submission (double tap, network retry, back-and-resubmit) returns
the first result and never charges twice.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import event, func, literal, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from . import amounts, audit, ledger, settlement
from .extensions import db
from .models import (
    Account,
    Campaign,
    Card,
    CardStatus,
    IdempotencyKey,
    LedgerAccount,
    LedgerAccountKind,
    LedgerTransactionKind,
    Member,
    MemberStatus,
    Payment,
    PaymentMethod,
    PeriodStatus,
    Register,
    SettlementPeriod,
    Store,
    MerchantStatus,
    utcnow,
)
from .timeutil import jst_date


class PaymentRefused(Exception):
    """A payment that cannot be made, with a message for the clerk."""


class AmountInvalid(PaymentRefused):
    """The amount typed is not a whole number of yen within the limit."""


class IdempotencyKeyReused(PaymentRefused):
    """The same key came with a different request (HTTP 422)."""


class RequestInFlight(PaymentRefused):
    """The same key is being processed by another request right now (HTTP 409)."""


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
        return amounts.parse_yen(raw, maximum=limit, too_large=f"1回の決済は{limit:,}円までです。")
    except amounts.AmountInvalid as invalid:
        raise AmountInvalid(str(invalid)) from None


# ---------------------------------------------------------------------------
# Registers by their QR token (決済方法①)
# ---------------------------------------------------------------------------


# ---------------------------------------------------------------------------
# Who may pay
# ---------------------------------------------------------------------------


def check_payer(member: Member, card: Card | None) -> None:
    """Refuse a suspended member or a card that is not active."""
    if card is not None:
        if card.status == CardStatus.SUSPENDED:
            raise PaymentRefused("このカードは利用停止中です（紛失・盗難の届出済み）。決済できません。")
        if card.status == CardStatus.REPLACED:
            raise PaymentRefused("このカードは再発行により無効になっています。新しいカードで決済してください。")
        if card.member_id != member.id:
            raise PaymentRefused("カードと会員が一致しません。")
    if member.status != MemberStatus.ACTIVE:
        raise PaymentRefused("この会員は利用停止中です。ISECA窓口にお問い合わせください。")


def check_store(register: Register) -> Store:
    store = register.store
    if register.retired_at is not None:
        raise PaymentRefused("このレジは使用を終了しています。")
    if store.status != MerchantStatus.ACTIVE:
        raise PaymentRefused("この店舗は現在ISECAでの決済を停止しています。")
    return store


# ---------------------------------------------------------------------------
# The payment itself
# ---------------------------------------------------------------------------


def _insert_ignoring_conflict(model, conflict_columns: list[str], values: dict):
    """INSERT … ON CONFLICT DO NOTHING RETURNING id: the new id, or None
    when the unique key already exists (after waiting for an uncommitted
    writer of the same key on PostgreSQL)."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(model).values(**values).on_conflict_do_nothing(index_elements=conflict_columns).returning(model.id)
    return db.session.execute(stmt).scalar()


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
        _insert_ignoring_conflict(SettlementPeriod, ["starts_on"], {"starts_on": starts_on, "ends_on": ends_on, "status": PeriodStatus.OPEN})
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


def _locked_accounts(member_id: int, store_id: int, day: dt.date) -> tuple[list[LedgerAccount], LedgerAccount | None]:
    """The member's spendable accounts (soonest-expiring first) and the
    store's account, in one query. On PostgreSQL the rows are locked in id
    order, the order every ledger transaction locks in, so that payments and
    cancellations crossing the same accounts cannot deadlock; the split over
    campaigns is then computed from balances no one changes before commit.
    (SQLite: the writing request already holds the database's write lock.)"""
    is_member = (
        (LedgerAccount.kind == LedgerAccountKind.MEMBER)
        & (LedgerAccount.member_id == member_id)
        & ((LedgerAccount.campaign_id.is_(None)) | ((Campaign.starts_on <= day) & (Campaign.ends_on >= day)))
    )
    is_store = (
        (LedgerAccount.kind == LedgerAccountKind.STORE)
        & (LedgerAccount.store_id == store_id)
        & LedgerAccount.member_id.is_(None)
        & LedgerAccount.campaign_id.is_(None)
    )
    stmt = (
        select(LedgerAccount, Campaign.ends_on)
        .outerjoin(Campaign, LedgerAccount.campaign_id == Campaign.id)
        .where(is_member | is_store)
        .order_by(LedgerAccount.id)
        .execution_options(populate_existing=True)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=LedgerAccount)
    rows = db.session.execute(stmt).all()
    store_account = next((a for a, _ in rows if a.kind == LedgerAccountKind.STORE), None)
    members = [(a, ends) for a, ends in rows if a.kind == LedgerAccountKind.MEMBER]
    members.sort(key=lambda pair: (pair[1] is None, pair[1] or dt.date.max, pair[0].id))
    return [a for a, _ in members], store_account


@dataclass
class PaymentResult:
    """What the completion screen shows."""

    payment: Payment
    balance_after: int
    replayed: bool = False


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
    return _pay(member, register, amount, method, actor=actor, card=card, at=at).payment


def _pay(member, register, amount, method, *, actor=None, card=None, at=None) -> PaymentResult:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise AmountInvalid("金額は1円以上の整数で入力してください。")
    at = at or utcnow()
    day = jst_date(at)
    store = register.store
    accounts, store_account = _locked_accounts(member.id, store.id, day)
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
    movements.append((store_account or ledger.store_account(store.id), amount))
    # The accounts were locked above (in id order): one UPDATE moves them all.
    txn = ledger.post(LedgerTransactionKind.PAYMENT, movements, actor=actor, memo=f"決済 {store.code}", at=at, locked=True)
    campaign_ids = {a.campaign_id for a, amt in movements if amt < 0}
    payment = Payment(
        number=new_payment_number(at, txn.id),
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
        period_id=_period_id(day),
    )
    db.session.add(payment)
    db.session.flush()
    return PaymentResult(payment=payment, balance_after=available - amount)


def request_hash(**fields) -> str:
    """A fingerprint of what a request asks for: the same key must come with the same one."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


_KEY_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")


def valid_key(key: str | None) -> bool:
    return bool(key and _KEY_RE.fullmatch(key))


def _claim_key_postgresql(values: dict, wait_ms: int) -> int | None:
    """INSERT … SELECT … FROM (SELECT set_config('lock_timeout', …, true))
    ON CONFLICT DO NOTHING RETURNING id: the key's row is produced after the
    lock timeout is in force, so waiting for an uncommitted insert of the
    same key is bounded by it."""
    from sqlalchemy.dialects.postgresql import insert

    table = IdempotencyKey.__table__
    timeout = select(func.set_config("lock_timeout", str(int(wait_ms)), True).label("t")).subquery()
    row = select(*[literal(value, table.c[name].type) for name, value in values.items()]).where(timeout.c.t.is_not(None))
    stmt = (
        insert(IdempotencyKey)
        .from_select(list(values), row)
        .on_conflict_do_nothing(index_elements=["account_id", "key"])
        .returning(IdempotencyKey.id)
    )
    return db.session.execute(stmt).scalar()


def claim_key(actor: Account, key: str, fingerprint: str) -> IdempotencyKey | None:
    """Record `key` for `actor` in the current transaction. Returns None when
    it is new (go ahead), or the row of the first request with that key.
    Raises IdempotencyKeyReused (other request) or RequestInFlight."""
    if not valid_key(key):
        raise PaymentRefused("画面の有効期限が切れました。最初からやり直してください。")
    values = {"account_id": actor.id, "key": key, "request_hash": fingerprint, "created_at": utcnow()}
    try:
        if db.session.get_bind().dialect.name == "postgresql":
            # A duplicate waits this long for the first request to finish,
            # then replays its result; past it the clerk is told it is in
            # progress. The limit is set (for this transaction, as SET LOCAL
            # would) by the row source of the INSERT itself: one round trip.
            wait_ms = int(float(current_app.config.get("IDEMPOTENCY_WAIT_SECONDS", 5)) * 1000)
            new_id = _claim_key_postgresql(values, wait_ms)
        else:
            new_id = _insert_ignoring_conflict(IdempotencyKey, ["account_id", "key"], values)
    except OperationalError as error:
        # Only a lock wait that ran out means "the first is still running";
        # anything else (a lost connection …) is a real error.
        lock_timeout = getattr(error.orig, "sqlstate", None) == "55P03" or "database is locked" in str(error.orig)
        if not lock_timeout:
            raise
        raise RequestInFlight("同じ決済を処理中です。店舗利用履歴で決済が完了したか確認してください。") from error
    if new_id is not None:
        return None
    first = db.session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.account_id == actor.id, IdempotencyKey.key == key)
    )
    if first.request_hash != fingerprint:
        raise IdempotencyKeyReused("この画面からはすでに別の内容で決済しています。最初からやり直してください。")
    if first.result is None:
        raise RequestInFlight("同じ決済を処理中です。店舗利用履歴で決済が完了したか確認してください。")
    return first


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
    is refused. The caller commits (or rolls back on an exception)."""
    fingerprint = request_hash(register=register.id, member=member.id, card=card.id if card else None,
                               amount=amount, method=str(method))
    first = claim_key(actor, key, fingerprint)
    if first is not None:
        payment = db.session.get(Payment, first.payment_id)
        return PaymentResult(payment=payment, balance_after=int((first.result or {}).get("balance_after", 0)), replayed=True)
    check_payer(member, card)
    check_store(register)
    result = _pay(member, register, amount, method, actor=actor, card=card)
    payment = result.payment
    db.session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.account_id == actor.id, IdempotencyKey.key == key)
        .values(payment_id=payment.id, result={"payment_id": payment.id, "number": payment.number,
                                               "amount": amount, "balance_after": result.balance_after})
        .execution_options(synchronize_session=False)
    )
    audit.record("payment_created", payment, {"number": payment.number, "amount": amount, "method": str(method),
                                              "register_id": register.id, "member_code": member.code}, actor=actor)
    return result


def balance_after(payment: Payment, account_id: int, key: str | None) -> int | None:
    """The member's 利用可能ポイント right after `payment`, as stored with the
    key of the request that made it (found by its unique index); None
    when the key is not given or is not that payment's."""
    if not valid_key(key):
        return None
    row = db.session.execute(
        select(IdempotencyKey.payment_id, IdempotencyKey.result)
        .where(IdempotencyKey.account_id == account_id, IdempotencyKey.key == key)
    ).first()
    if row is None or row.payment_id != payment.id or not row.result or "balance_after" not in row.result:
        return None
    return int(row.result["balance_after"])


def prune_idempotency_keys(older_than: dt.timedelta) -> int:
    """Forget request keys older than `older_than` (at least a day, so a
    till's retry always finds its first result). Returns how many went."""
    from sqlalchemy import delete

    if older_than < dt.timedelta(days=1):
        raise ValueError("keys are kept at least 24 hours")
    result = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < utcnow() - older_than))
    return result.rowcount
