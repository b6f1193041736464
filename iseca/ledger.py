"""The points ledger. Points move only through this module.

Every movement is one `LedgerTransaction` whose entries sum to zero. The
`balance` of each ledger account is updated in the same database transaction
by a single conditional UPDATE, so a member's balance can never go below zero,
also under concurrent payments (no read-modify-write in Python).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

from sqlalchemy import BigInteger, and_, case, func, literal, or_, select, text, update

from . import database
from .extensions import db
from .models import (
    Account,
    Campaign,
    LedgerAccount,
    LedgerAccountKind,
    LedgerEntry,
    LedgerTransaction,
    LedgerTransactionKind,
    utcnow,
)
from .timeutil import jst_date, today_jst


class LedgerError(Exception):
    """A movement that the ledger refuses."""


class InsufficientBalance(LedgerError):
    def __init__(self, available: int):
        super().__init__(f"insufficient balance: {available} available")
        self.available = available


def _get_or_create(kind: LedgerAccountKind, **keys) -> LedgerAccount:
    filters = [LedgerAccount.kind == kind]
    for name in ("member_id", "store_id", "campaign_id"):
        value = keys.get(name)
        column = getattr(LedgerAccount, name)
        filters.append(column.is_(None) if value is None else column == value)
    stmt = select(LedgerAccount).where(*filters).order_by(LedgerAccount.id).limit(1)
    account = db.session.scalar(stmt)
    if account is None and db.session.get_bind().dialect.name == "postgresql":
        # The unique constraint does not hold with NULL keys: make two
        # transactions that both want to create this account take turns
        # (SQLite's writers already do).
        digest = hashlib.sha256(f"ledger-account:{kind}:{sorted(keys.items())}".encode()).digest()
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": int.from_bytes(digest[:8], "big", signed=True)})
        account = db.session.scalar(stmt)
    if account is None:
        account = LedgerAccount(kind=kind, balance=0, **keys)
        db.session.add(account)
        db.session.flush()
    return account


def issuer_account() -> LedgerAccount:
    """The city's account: the source of granted and charged points."""
    return _get_or_create(LedgerAccountKind.ISSUER)


def settlement_account() -> LedgerAccount:
    """Where settled points go when the city pays the business by transfer."""
    return _get_or_create(LedgerAccountKind.SETTLEMENT)


def member_account(member_id: int, campaign_id: int | None) -> LedgerAccount:
    """A member's points of one campaign."""
    return _get_or_create(LedgerAccountKind.MEMBER, member_id=member_id, campaign_id=campaign_id)


def store_account(store_id: int) -> LedgerAccount:
    """Points a store received and that are not yet settled."""
    return _get_or_create(LedgerAccountKind.STORE, store_id=store_id)


def post(
    kind: LedgerTransactionKind,
    movements: Sequence[tuple[LedgerAccount, int]],
    *,
    actor: Account | None = None,
    memo: str = "",
    at: dt.datetime | None = None,
) -> LedgerTransaction:
    """Record one movement of points: (account, signed amount) pairs that sum
    to zero. Raises InsufficientBalance (and changes nothing the caller cannot
    roll back) when a member account would go below zero."""
    return _post(kind, movements, actor=actor, memo=memo, at=at, rows_locked=False)


def _post(kind, movements, *, actor, memo, at, rows_locked: bool) -> LedgerTransaction:
    """`post`; `rows_locked`: this module locked the rows already (SELECT …
    FOR UPDATE in id order, see `spend`), so all balances change in one
    statement. Never a caller's word: only this module knows what it locked."""
    amounts = [amount for _, amount in movements]
    if any(not isinstance(a, int) or isinstance(a, bool) for a in amounts):
        raise LedgerError("amounts must be integers of yen")
    if sum(amounts) != 0:
        raise LedgerError("entries of a transaction must sum to zero")
    if any(a == 0 for a in amounts) or len(movements) < 2:
        raise LedgerError("a transaction moves a non-zero amount between at least two accounts")
    txn = LedgerTransaction(kind=kind, actor_account_id=actor.id if actor else None, memo=memo[:300], created_at=at or utcnow())
    db.session.add(txn)
    db.session.flush()
    ordered = sorted(movements, key=lambda m: m[0].id)
    entries = [LedgerEntry(transaction_id=txn.id, account_id=account.id, amount=amount) for account, amount in ordered]
    if rows_locked or db.session.get_bind().dialect.name == "sqlite":
        # The rows are locked already (by `spend` on PostgreSQL; SQLite's
        # writer holds the whole database): one conditional UPDATE for all.
        delta = case({account.id: literal(amount, BigInteger) for account, amount in ordered}, value=LedgerAccount.id)
        result = db.session.execute(
            update(LedgerAccount)
            .where(
                LedgerAccount.id.in_([account.id for account, _ in ordered]),
                or_(LedgerAccount.kind != LedgerAccountKind.MEMBER, LedgerAccount.balance + delta >= 0),
            )
            .values(balance=LedgerAccount.balance + delta)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != len(ordered):
            raise InsufficientBalance(_available([account.id for account, amount in ordered if amount < 0]))
    else:
        # In account id order, whatever the direction, so that any two
        # transactions (a payment and a cancellation too) lock rows in one order.
        for account, amount in ordered:
            result = db.session.execute(
                update(LedgerAccount)
                .where(
                    LedgerAccount.id == account.id,
                    or_(LedgerAccount.kind != LedgerAccountKind.MEMBER, LedgerAccount.balance + amount >= 0),
                )
                .values(balance=LedgerAccount.balance + amount)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:
                raise InsufficientBalance(_available([account.id]))
    # Added together so the flush writes them in one INSERT.
    db.session.add_all(entries)
    db.session.flush()
    for account, _ in movements:
        db.session.expire(account, ["balance"])
    return txn


def post_many(
    kind: LedgerTransactionKind,
    batches: Sequence[Sequence[tuple[LedgerAccount, int]] | None],
    *,
    actor: Account | None = None,
    memo: str = "",
    at: dt.datetime | None = None,
) -> list[int | None]:
    """Record many movements at once (精算 of a whole period): each batch is
    what `post` takes, or None for no movement. Returns the transaction id
    of each batch (None for None). Only for accounts that are not members'
    (no balance floor to check); the rows are locked in id order first."""
    at = at or utcnow()
    movements = [m for m in batches if m]
    for batch in movements:
        amounts = [amount for _, amount in batch]
        if any(not isinstance(a, int) or isinstance(a, bool) for a in amounts):
            raise LedgerError("amounts must be integers of yen")
        if sum(amounts) != 0:
            raise LedgerError("entries of a transaction must sum to zero")
        if any(a == 0 for a in amounts) or len(batch) < 2:
            raise LedgerError("a transaction moves a non-zero amount between at least two accounts")
        if any(account.kind == LedgerAccountKind.MEMBER for account, _ in batch):
            raise LedgerError("post_many does not move members' points")
    if not movements:
        return [None for _ in batches]
    deltas: dict[int, int] = defaultdict(int)
    for batch in movements:
        for account, amount in batch:
            deltas[account.id] += amount
    ids = sorted(deltas)
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(LedgerAccount.id).where(LedgerAccount.id.in_(ids)).order_by(LedgerAccount.id).with_for_update())
    txn_ids = database.insert_rows(LedgerTransaction.__table__, [
        {"kind": kind, "actor_account_id": actor.id if actor else None, "memo": memo[:300], "created_at": at}
        for _ in movements
    ])
    database.insert_rows_without_ids(LedgerEntry.__table__, [
        {"transaction_id": txn_id, "account_id": account.id, "amount": amount}
        for txn_id, batch in zip(txn_ids, movements) for account, amount in sorted(batch, key=lambda m: m[0].id)
    ])
    database.add_by_id(LedgerAccount.__table__, "balance", {i: d for i, d in deltas.items() if d})
    for batch in movements:
        for account, _ in batch:
            db.session.expire(account, ["balance"])
    ids_iter = iter(txn_ids)
    return [next(ids_iter) if m else None for m in batches]


def _available(account_ids: list[int]) -> int:
    """What the member accounts among `account_ids` hold (for the refusal message)."""
    return int(db.session.scalar(
        select(func.coalesce(func.sum(LedgerAccount.balance), 0))
        .where(LedgerAccount.id.in_(account_ids), LedgerAccount.kind == LedgerAccountKind.MEMBER)
    ) or 0)


def grant(
    member_id: int,
    campaign: Campaign,
    amount: int,
    *,
    actor: Account | None = None,
    memo: str = "",
    kind: LedgerTransactionKind = LedgerTransactionKind.GRANT,
    at: dt.datetime | None = None,
) -> LedgerTransaction:
    """付与/チャージ: points from the city to a member, under a campaign."""
    if amount <= 0:
        raise LedgerError("a grant is a positive amount")
    return post(
        kind,
        [(issuer_account(), -amount), (member_account(member_id, campaign.id), amount)],
        actor=actor,
        memo=memo,
        at=at,
    )


def spendable_accounts(member_id: int, on: dt.date | None = None) -> list[LedgerAccount]:
    """The member's accounts whose campaign runs on `on`, soonest-expiring first."""
    on = on or today_jst()
    stmt = (
        select(LedgerAccount)
        .outerjoin(Campaign, LedgerAccount.campaign_id == Campaign.id)
        .where(
            LedgerAccount.kind == LedgerAccountKind.MEMBER,
            LedgerAccount.member_id == member_id,
            or_(LedgerAccount.campaign_id.is_(None), and_(Campaign.starts_on <= on, Campaign.ends_on >= on)),
        )
        .order_by(Campaign.ends_on, LedgerAccount.id)
    )
    return list(db.session.scalars(stmt))


@dataclass
class Spent:
    """What `spend` did: the ledger transaction, what the member can still
    spend that day, and the campaign drawn from (None when several)."""

    transaction: LedgerTransaction
    balance_after: int
    campaign_id: int | None


def _lock_spendable(member_id: int, store_id: int, day: dt.date) -> tuple[list[LedgerAccount], LedgerAccount | None]:
    """The member's accounts spendable on `day` (soonest-expiring first) and
    the store's account, in one query. On PostgreSQL the rows are locked in
    id order, the order every ledger transaction locks in, so that payments
    and cancellations crossing the same accounts cannot deadlock; the split
    over campaigns is then computed from balances no one changes before
    commit. (SQLite: the writing request already holds the database's write lock.)"""
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
    store = next((a for a, _ in rows if a.kind == LedgerAccountKind.STORE), None)
    members = [(a, ends) for a, ends in rows if a.kind == LedgerAccountKind.MEMBER]
    members.sort(key=lambda pair: (pair[1] is None, pair[1] or dt.date.max, pair[0].id))
    return [a for a, _ in members], store


def spend(
    member_id: int,
    store_id: int,
    amount: int,
    *,
    kind: LedgerTransactionKind = LedgerTransactionKind.PAYMENT,
    actor: Account | None = None,
    memo: str = "",
    at: dt.datetime | None = None,
) -> Spent:
    """決済の引き落とし: `amount` points from the member's accounts whose
    campaign runs on the day of `at` (soonest-expiring first) to the store's
    account. The accounts are chosen, locked and split here, in one place.
    Raises InsufficientBalance (nothing moved) when they hold too little."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise LedgerError("a payment is a positive whole number of yen")
    at = at or utcnow()
    accounts, store = _lock_spendable(member_id, store_id, jst_date(at))
    available = sum(a.balance for a in accounts)
    if available < amount:
        raise InsufficientBalance(available)
    movements: list[tuple[LedgerAccount, int]] = []
    remaining = amount
    for account in accounts:
        take = min(account.balance, remaining)
        if take > 0:
            movements.append((account, -take))
            remaining -= take
        if remaining == 0:
            break
    movements.append((store or store_account(store_id), amount))
    # Locked above, in id order: one UPDATE moves every balance.
    txn = _post(kind, movements, actor=actor, memo=memo, at=at, rows_locked=True)
    campaign_ids = {a.campaign_id for a, moved in movements if moved < 0}
    return Spent(txn, available - amount, campaign_ids.pop() if len(campaign_ids) == 1 else None)


def member_balance(member_id: int, on: dt.date | None = None) -> int:
    """利用可能ポイント: what the member can spend today."""
    return sum(a.balance for a in spendable_accounts(member_id, on))


def verify_books() -> list[str]:
    """Problems with the books (empty when they balance): a transaction not
    summing to zero, or a cached balance that differs from its entries."""
    problems: list[str] = []
    unbalanced = db.session.execute(
        select(LedgerEntry.transaction_id, func.sum(LedgerEntry.amount))
        .group_by(LedgerEntry.transaction_id)
        .having(func.sum(LedgerEntry.amount) != 0)
    ).all()
    problems += [f"transaction {t} sums to {s}" for t, s in unbalanced]
    sums = dict(db.session.execute(select(LedgerEntry.account_id, func.sum(LedgerEntry.amount)).group_by(LedgerEntry.account_id)).all())
    for account in db.session.scalars(select(LedgerAccount)):
        if int(sums.get(account.id, 0)) != account.balance:
            problems.append(f"account {account.id} balance {account.balance} != entries {sums.get(account.id, 0)}")
        if account.kind == LedgerAccountKind.MEMBER and account.balance < 0:
            problems.append(f"member account {account.id} is negative")
    return problems


def reverse(
    original: LedgerTransaction,
    kind: LedgerTransactionKind,
    *,
    actor: Account | None = None,
    memo: str = "",
) -> LedgerTransaction:
    """A transaction with the opposite entries of `original` (取消)."""
    totals: dict[int, int] = defaultdict(int)
    for entry in original.entries:
        totals[entry.account_id] -= entry.amount
    accounts = {a.id: a for a in db.session.scalars(select(LedgerAccount).where(LedgerAccount.id.in_(totals)))}
    return post(kind, [(accounts[i], amount) for i, amount in totals.items() if amount], actor=actor, memo=memo)


def member_accounts(member_id: int) -> list[LedgerAccount]:
    """All of a member's accounts, every campaign's (also ended ones), oldest first."""
    return list(db.session.scalars(
        select(LedgerAccount)
        .where(LedgerAccount.kind == LedgerAccountKind.MEMBER, LedgerAccount.member_id == member_id)
        .order_by(LedgerAccount.id)
    ))


def recent_movements(accounts: Iterable[LedgerAccount], limit: int = 30) -> list[tuple[LedgerEntry, LedgerTransaction]]:
    """The latest entries of some accounts with their transactions, newest first (最近の動き)."""
    ids = [a.id for a in accounts]
    if not ids:
        return []
    return [tuple(row) for row in db.session.execute(
        select(LedgerEntry, LedgerTransaction)
        .join(LedgerTransaction, LedgerEntry.transaction_id == LedgerTransaction.id)
        .where(LedgerEntry.account_id.in_(ids))
        .order_by(LedgerEntry.id.desc())
        .limit(limit)
    )]
