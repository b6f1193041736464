"""The points ledger. Points move only through this module.

Every movement is one `LedgerTransaction` whose entries sum to zero. The
`balance` of each ledger account is updated in the same database transaction
by a single conditional UPDATE, so a member's balance can never go below zero,
also under concurrent payments (no read-modify-write in Python).
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Integer,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.orm.util import identity_key

from .. import bulk
from ..extensions import db
from ..models import (
    Account,
    Campaign,
    LedgerAccount,
    LedgerAccountKind,
    LedgerEntry,
    LedgerTransaction,
    LedgerTransactionKind,
    utcnow,
)
from ..timeutil import jst_date, today_jst


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
    _check_movements([amount for _, amount in movements])
    txn_id = _write(kind, [(account.id, amount) for account, amount in movements],
                    actor_id=actor.id if actor else None, memo=memo, at=at or utcnow(), rows_locked=rows_locked)
    return db.session.get(LedgerTransaction, txn_id)


def _check_movements(amounts: list[int]) -> None:
    if any(not isinstance(a, int) or isinstance(a, bool) for a in amounts):
        raise LedgerError("amounts must be integers of yen")
    if sum(amounts) != 0:
        raise LedgerError("entries of a transaction must sum to zero")
    if any(a == 0 for a in amounts) or len(amounts) < 2:
        raise LedgerError("a transaction moves a non-zero amount between at least two accounts")


# The statements of a movement, built once (SQLAlchemy then reuses their
# compiled form): one INSERT … RETURNING of the transaction, one UPDATE of
# every balance, one multi-row INSERT of the entries. Core statements on the
# session's connection: no unit of work to flush for rows nobody reads back.
_ACCOUNTS = LedgerAccount.__table__
_TRANSACTIONS = LedgerTransaction.__table__
_ENTRIES = LedgerEntry.__table__
_INSERT_TRANSACTION = insert(_TRANSACTIONS).returning(_TRANSACTIONS.c.id)


@functools.cache
def _update_balances(n: int):
    """UPDATE of `n` balances by a0…/d0… (id, signed amount); a member's only
    where it stays at zero or above (the CHECK constraint holds it too)."""
    delta = case(*[(_ACCOUNTS.c.id == bindparam(f"a{i}", type_=Integer), bindparam(f"d{i}", type_=BigInteger))
                   for i in range(n)])
    return (
        update(_ACCOUNTS)
        .where(_ACCOUNTS.c.id.in_([bindparam(f"a{i}", type_=Integer) for i in range(n)]),
               or_(_ACCOUNTS.c.kind != LedgerAccountKind.MEMBER, _ACCOUNTS.c.balance + delta >= 0))
        .values(balance=_ACCOUNTS.c.balance + delta)
    )


@functools.cache
def _insert_entries(n: int):
    """One INSERT of `n` entries of transaction `t` (a0…/d0…), as INSERT …
    SELECT … UNION ALL SELECT …: unlike a multi-row VALUES, SQLAlchemy
    compiles it once and reuses it."""
    rows = [select(bindparam("t", type_=Integer), bindparam(f"a{i}", type_=Integer), bindparam(f"d{i}", type_=BigInteger))
            for i in range(n)]
    return insert(_ENTRIES).from_select(["transaction_id", "account_id", "amount"],
                                        rows[0] if n == 1 else union_all(*rows))


def connection():
    """The session's connection, in its transaction, for Core statements;
    changes the session still holds are written first, so that the
    statements see them."""
    session = db.session()
    if session.new or session.dirty or session.deleted:
        session.flush()
    return session.connection()


def _write(kind: LedgerTransactionKind, movements: list[tuple[int, int]], *, actor_id: int | None, memo: str,
           at: dt.datetime, rows_locked: bool) -> int:
    """Write one movement ((ledger account id, signed amount) pairs that sum
    to zero) and return its transaction id. Raises InsufficientBalance when
    a member account would go below zero (the caller rolls back)."""
    conn = connection()
    # In account id order, whatever the direction, so that any two
    # transactions (a payment and a cancellation too) lock rows in one order.
    ordered = sorted(movements)
    params: dict = movement_parameters(ordered)
    if rows_locked or conn.dialect.name == "sqlite":
        # The rows are locked already (by `spend` on PostgreSQL; SQLite's
        # writer holds the whole database): one conditional UPDATE for all.
        if conn.execute(_update_balances(len(ordered)), params).rowcount != len(ordered):
            raise InsufficientBalance(_available([a for a, amount in ordered if amount < 0]))
    else:
        for account_id, amount in ordered:
            if conn.execute(_update_balances(1), {"a0": account_id, "d0": amount}).rowcount != 1:
                raise InsufficientBalance(_available([account_id]))
    txn_id = conn.execute(_INSERT_TRANSACTION, {"kind": kind, "actor_account_id": actor_id, "memo": memo[:300],
                                                "created_at": at}).scalar_one()
    params["t"] = txn_id
    conn.execute(_insert_entries(len(ordered)), params)
    expire_balances([a for a, _ in ordered])
    return txn_id


def expire_balances(account_ids: Iterable[int]) -> None:
    """Ledger accounts the session holds read their new balance when next used."""
    session = db.session()
    for account_id in account_ids:
        account = session.identity_map.get(identity_key(LedgerAccount, account_id))
        if account is not None:
            session.expire(account, ["balance"])


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
        _check_movements([amount for _, amount in batch])
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
    txn_ids = bulk.insert_rows(LedgerTransaction.__table__, [
        {"kind": kind, "actor_account_id": actor.id if actor else None, "memo": memo[:300], "created_at": at}
        for _ in movements
    ])
    bulk.insert_rows_without_ids(LedgerEntry.__table__, [
        {"transaction_id": txn_id, "account_id": account.id, "amount": amount}
        for txn_id, batch in zip(txn_ids, movements, strict=True) for account, amount in sorted(batch, key=lambda m: m[0].id)
    ])
    bulk.add_by_id(LedgerAccount.__table__, "balance", {i: d for i, d in deltas.items() if d})
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
    """What `spend` did: the ledger transaction's id, what the member can
    still spend that day, and the campaign drawn from (None when several)."""

    transaction_id: int
    balance_after: int
    campaign_id: int | None

    @property
    def transaction(self) -> LedgerTransaction:
        """The ledger transaction (loaded when asked for)."""
        return db.session.get(LedgerTransaction, self.transaction_id)


def _spendable_statement(lock: bool):
    """The member's accounts spendable on :day and the store's account (see
    `_lock_spendable`), built once per dialect's need."""
    day = bindparam("day", type_=Campaign.starts_on.type)
    campaigns = Campaign.__table__
    is_member = (
        (_ACCOUNTS.c.kind == LedgerAccountKind.MEMBER)
        & (_ACCOUNTS.c.member_id == bindparam("member_id", type_=Integer))
        & ((_ACCOUNTS.c.campaign_id.is_(None)) | ((campaigns.c.starts_on <= day) & (campaigns.c.ends_on >= day)))
    )
    is_store = (
        (_ACCOUNTS.c.kind == LedgerAccountKind.STORE)
        & (_ACCOUNTS.c.store_id == bindparam("store_id", type_=Integer))
        & _ACCOUNTS.c.member_id.is_(None)
        & _ACCOUNTS.c.campaign_id.is_(None)
    )
    stmt = (
        select(_ACCOUNTS.c.id, _ACCOUNTS.c.kind, _ACCOUNTS.c.campaign_id, _ACCOUNTS.c.balance, campaigns.c.ends_on)
        .select_from(_ACCOUNTS.outerjoin(campaigns, _ACCOUNTS.c.campaign_id == campaigns.c.id))
        .where(is_member | is_store)
        .order_by(_ACCOUNTS.c.id)
    )
    return stmt.with_for_update(of=_ACCOUNTS) if lock else stmt


_SPENDABLE = {True: _spendable_statement(True), False: _spendable_statement(False)}


def spendable_locked_with(leading):
    """PostgreSQL: `leading` (a one-row subquery, run first) and, beside it,
    the rows `_lock_spendable` locks (parameters member_id, store_id, day):
    one row per account, or one row of NULLs beside `leading` when there is
    none. For a caller whose first statement must come before the locks in
    the same round trip (a payment's idempotency claim: a repeat of the same
    request waits there for the first, never holding the accounts the first
    is about to lock). Rows for `plan_spend(locked=…)`."""
    locked = _SPENDABLE[True].subquery().lateral("locked")
    return select(leading, locked).select_from(leading.outerjoin(locked, literal_column("true")))


def _lock_spendable(conn, member_id: int, store_id: int, day: dt.date) -> tuple[list, int | None]:
    """The member's accounts spendable on `day` (rows of id, kind,
    campaign_id, balance; soonest-expiring first) and the store's account id,
    in one query. On PostgreSQL the rows are locked in id order, the order
    every ledger transaction locks in, so that payments and cancellations
    crossing the same accounts cannot deadlock; the split over campaigns is
    then computed from balances no one changes before commit. (SQLite: the
    writing request already holds the database's write lock.)"""
    rows = conn.execute(_SPENDABLE[conn.dialect.name == "postgresql"],
                        {"member_id": member_id, "store_id": store_id, "day": day}).all()
    return _spendable_of(rows)


def _spendable_of(rows) -> tuple[list, int | None]:
    rows = [r for r in rows if r.id is not None]
    store_id_found = next((r.id for r in rows if r.kind == LedgerAccountKind.STORE), None)
    members = [r for r in rows if r.kind == LedgerAccountKind.MEMBER]
    members.sort(key=lambda r: (r.ends_on is None, r.ends_on or dt.date.max, r.id))
    return members, store_id_found


@dataclass
class SpendPlan:
    """A payment's movement, decided under the accounts' row locks and not
    yet written: (ledger account id, signed amount) pairs in account id
    order, what the member can still spend that day after it, and the
    campaign drawn from (None when several)."""

    movements: list[tuple[int, int]]
    balance_after: int
    campaign_id: int | None


def plan_spend(member_id: int, store_id: int, amount: int, *, at: dt.datetime, locked=None) -> SpendPlan:
    """The accounts of `spend` chosen, locked and split (soonest-expiring
    campaign first); InsufficientBalance when they hold too little.
    `locked`: the rows of a `spendable_locked_with` statement the caller ran
    for this member, store and day (the accounts are locked already)."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise LedgerError("a payment is a positive whole number of yen")
    if locked is None:
        accounts, store_account_id = _lock_spendable(connection(), member_id, store_id, jst_date(at))
    else:
        accounts, store_account_id = _spendable_of(locked)
    available = sum(a.balance for a in accounts)
    if available < amount:
        raise InsufficientBalance(available)
    movements: list[tuple[int, int]] = []
    campaign_ids = set()
    remaining = amount
    for account in accounts:
        take = min(account.balance, remaining)
        if take > 0:
            movements.append((account.id, -take))
            campaign_ids.add(account.campaign_id)
            remaining -= take
        if remaining == 0:
            break
    movements.append((store_account_id or store_account(store_id).id, amount))
    # In account id order, whatever the direction, as every movement locks.
    movements.sort()
    return SpendPlan(movements, available - amount, campaign_ids.pop() if len(campaign_ids) == 1 else None)


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
    at = at or utcnow()
    plan = plan_spend(member_id, store_id, amount, at=at)
    # Locked by plan_spend, in id order: one UPDATE moves every balance.
    txn_id = _write(kind, plan.movements, actor_id=actor.id if actor else None, memo=memo, at=at, rows_locked=True)
    return Spent(txn_id, plan.balance_after, plan.campaign_id)


def movement_parameters(movements: list[tuple[int, int]]) -> dict[str, int]:
    """The a0…/d0… parameters of `update_balances` and `movement_ctes`."""
    params: dict[str, int] = {}
    for i, (account_id, amount) in enumerate(movements):
        params[f"a{i}"] = account_id
        params[f"d{i}"] = amount
    return params


@functools.cache
def movement_ctes(n: int):
    """A movement of `n` locked accounts (a0…/d0…) as data-modifying CTEs of
    one PostgreSQL statement, for a caller that writes more rows from the
    transaction's id in the same round trip: (`moved`, the number of
    balances changed, to compare with `n`; `tx`, the transaction, with its
    `id`, inserted only when every balance moved; the entries' CTE, to add to
    the statement). Parameters: a0…/d0…, tx_kind, tx_at, tx_actor, tx_memo:
    none named as a column, since SQLAlchemy adds a parameter named as a
    column of an UPDATE's table to what that UPDATE sets, CTEs included."""
    moved_rows = _update_balances(n).returning(_ACCOUNTS.c.id).cte("moved")
    moved = select(func.count()).select_from(moved_rows).scalar_subquery()
    t = _TRANSACTIONS
    tx = (
        insert(t)
        .from_select(["kind", "created_at", "actor_account_id", "memo"],
                     select(bindparam("tx_kind", type_=t.c.kind.type), bindparam("tx_at", type_=t.c.created_at.type),
                            bindparam("tx_actor", type_=Integer), bindparam("tx_memo", type_=t.c.memo.type))
                     .where(moved == literal_column(str(int(n)))))
        .returning(t.c.id)
        .cte("tx")
    )
    rows = [select(tx.c.id, bindparam(f"a{i}", type_=Integer), bindparam(f"d{i}", type_=BigInteger)) for i in range(n)]
    entries = insert(_ENTRIES).from_select(["transaction_id", "account_id", "amount"],
                                           rows[0] if n == 1 else union_all(*rows)).cte("entries")
    return moved, tx, entries


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
