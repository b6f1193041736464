"""What a payment writes, the same on every database, and on PostgreSQL the
statements that write it in two round trips.

The payment's row (`payment_row`), the key's result (`key_result`) and the
audit row's details (`audit_details`) are built here for both ways of
writing them: one by one on SQLite (iseca/money/payments.py), or in one
statement of data-modifying CTEs on PostgreSQL (`recorded_payment_statement`),
where the values known only in the database (the payment's id, its 取引番号)
are SQL expressions given to the same functions.
"""
from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import (
    BigInteger,
    Date,
    String,
    bindparam,
    cast,
    func,
    insert,
    literal_column,
    select,
)

from .. import audit
from ..models import Payment, PaymentStatus
from ..timeutil import jst_date
from . import day_totals, idempotency, ledger, periods

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
# The rows, on every database
# ---------------------------------------------------------------------------


def payment_row(*, business_id: int, store_id: int, register_id: int, member_id: int, card_id: int | None,
                campaign_id: int | None, method, amount: int, at: dt.datetime, actor_id: int | None,
                period_id: int) -> dict:
    """The payment's columns known before its ledger transaction is written
    (its 取引番号 and transaction id come from that transaction)."""
    return {
        "business_id": business_id,
        "store_id": store_id,
        "register_id": register_id,
        "member_id": member_id,
        "card_id": card_id,
        "campaign_id": campaign_id,
        "method": method,
        "amount": amount,
        "status": PaymentStatus.COMPLETED,
        "created_at": at,
        "created_by_account_id": actor_id,
        "period_id": period_id,
    }


def key_result(payment_id, number, amount, balance_after) -> dict:
    """What a repeat of the payment's request is answered with (the key's result)."""
    return {"payment_id": payment_id, "number": number, "amount": amount, "balance_after": balance_after}


def audit_details(number, amount, method, register_id, member_code) -> dict:
    """The details of the payment's audit row (`method` as its text)."""
    return {"number": number, "amount": amount, "method": method, "register_id": register_id,
            "member_code": member_code}


# ---------------------------------------------------------------------------
# PostgreSQL: the claim with the locks, then every row in one statement
# ---------------------------------------------------------------------------


def _constant(value: int | str):
    """A constant written into the SQL rather than sent as a parameter:
    psycopg converts a statement's placeholders once and keeps the result
    only for statements of at most 50 parameters and 4,096 characters (the
    conversion costs about a millisecond); the payment's stays under both."""
    if isinstance(value, int):
        return literal_column(str(int(value)), BigInteger)
    assert value.replace("_", "").isalnum(), value
    return literal_column(f"'{value}'", String)


def _json_object(members: dict):
    """json_build_object of `members`, the names written into the SQL."""
    return func.json_build_object(*[part for name, value in members.items() for part in (_constant(name), value)])


# The payment's columns go as parameters pay_<column> (see
# ledger.movement_ctes on names), but for the actor, which the ledger
# transaction sends already: once, keeping the statement short.
_SENT_AS = {"created_by_account_id": "tx_actor"}


def _parameter(column: str) -> str:
    return _SENT_AS.get(column, f"pay_{column}")


def row_parameters(row: dict) -> dict:
    """The parameters of `recorded_payment_statement` for a `payment_row`."""
    return {_parameter(column): value for column, value in row.items()}


@functools.cache
def recorded_payment_statement(n: int, columns: tuple[str, ...]):
    """Everything a payment writes after its accounts are locked and split
    (`ledger.plan_spend`), as one statement of data-modifying CTEs: the
    balances, the ledger transaction and its `n` entries, the payment (the
    `columns` of `payment_row`, and its 取引番号 computed from the
    transaction's id as `new_payment_number` does), its day's totals, the
    key's result and the audit row. One round trip instead of seven. Built
    once per number of entries (SQLAlchemy then reuses its compiled form)."""
    moved, tx, entries = ledger.movement_ctes(n)
    table = Payment.__table__
    p = {column: bindparam(_parameter(column), type_=table.c[column].type) for column in columns}
    sequence = (cast(tx.c.id, BigInteger) * _constant(_NUMBER_MULTIPLIER) + _constant(_NUMBER_OFFSET)) % _constant(10**10)
    number = bindparam("pay_number_day", type_=String) + func.lpad(cast(sequence, String), _constant(10), _constant("0"))
    pay = (
        insert(table)
        .from_select(["number", *columns, "ledger_transaction_id"], select(number, *p.values(), tx.c.id))
        .returning(table.c.id, table.c.number)
        .cte("pay")
    )
    totals = day_totals.payment_upsert_postgresql(
        select(bindparam("pay_day", type_=Date), p["register_id"], p["method"], p["store_id"], p["business_id"],
               p["amount"]).select_from(pay)
    ).cte("totals")
    result = _json_object(key_result(pay.c.id, pay.c.number, p["amount"],
                                     bindparam("pay_balance_after", type_=BigInteger)))
    key = idempotency.finish_with_payment(select(pay.c.id).scalar_subquery(),
                                          select(result).select_from(pay).scalar_subquery()).cte("key")
    audit_row = audit.insert_from(pay.c.id, _json_object(audit_details(
        pay.c.number, p["amount"], cast(p["method"], String), p["register_id"],
        bindparam("pay_member_code", type_=String),
    ))).cte("audit_row")
    return (
        select(moved.label("moved"), select(pay.c.id).scalar_subquery().label("payment_id"),
               select(pay.c.number).scalar_subquery().label("number"))
        .add_cte(entries, totals, key, audit_row)
    )


@functools.cache
def claim_and_lock_statement():
    """The key's claim (idempotency.CLAIM_POSTGRESQL), then the payer's and
    the store's accounts locked (ledger.spendable_locked_with), in one round
    trip; beside them the id of the settlement period of :day, read in
    passing (NULL while its row is not made: `periods.period_id` then makes
    it). The claim comes first, as when they were two statements: a repeat
    of a request waits on the key for the first one, not holding the
    accounts the first one is about to lock."""
    claim = idempotency.CLAIM_POSTGRESQL.cte("claim")
    day = bindparam("day", type_=Date)
    claimed = select(select(claim.c.id).scalar_subquery().label("claimed"),
                     periods.id_containing(day).label("period_id")).subquery("claim_result")
    return ledger.spendable_locked_with(claimed)

