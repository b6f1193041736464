"""Per-day, per-register totals of payments and cancellations.

The totals of 利用状況一覧 and the 日計 read these rows instead of summing
the payments, so that "all time" costs what "today" costs. Each payment and
each cancellation adds to them in its own transaction with one
INSERT … ON CONFLICT DO UPDATE of increments: two tills paying into the same
register and day at once both count (the second waits for the first's row,
then adds to it), on PostgreSQL and SQLite alike.

`differences()` recomputes them from the payments (`flask payments
verify-books`); `rebuild()` writes them afresh from the payments (for data
loaded around the app, as the benchmark does).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Date, case, delete, func, insert, literal, literal_column, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from ..extensions import db
from ..models import Payment, PaymentMethod, PaymentStatus, RegisterDayTotal
from ..timeutil import jst_date

KEY = ("day", "register_id", "method")
COUNTERS = ("payment_count", "payment_sum", "cancelled_count", "cancelled_sum", "cancel_count", "cancel_sum")


class jst_day(FunctionElement):
    """The Japanese calendar day of a UTC timestamp column (Japan keeps no
    daylight saving time, so a fixed nine hours is exact)."""

    type = Date()
    inherit_cache = True
    name = "jst_day"


@compiles(jst_day)
def _jst_day_default(element, compiler, **kw):  # pragma: no cover - other dialects
    return f"CAST(({compiler.process(element.clauses, **kw)} + INTERVAL '9 hours') AS DATE)"


@compiles(jst_day, "sqlite")
def _jst_day_sqlite(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)}, '+9 hours')"


@dataclass(frozen=True)
class DayFigures:
    """One day's figures of a store or a register, as the 日計 counts them:
    the payments made that day (those cancelled since included) and the
    取消 made that day."""

    payment_count: int = 0
    payment_sum: int = 0
    cancel_count: int = 0
    cancel_sum: int = 0

    @property
    def net(self) -> int:
        """差引: payments less 取消."""
        return self.payment_sum - self.cancel_sum


@dataclass(frozen=True)
class StoreDay:
    """今日の決済 of a store: its total and each register's (by register id)."""

    day: dt.date
    total: DayFigures
    registers: dict[int, DayFigures] = field(default_factory=dict)

    def of(self, register_id: int) -> DayFigures:
        """A register's figures (zero when it took nothing that day)."""
        return self.registers.get(register_id, DayFigures())


def store_day(store_id: int, day: dt.date) -> StoreDay:
    """今日の決済 at the till: a store's payments and 取消 of one Japanese day,
    in total and per register, read from the kept totals (one small query,
    cheap enough for HOME's poll every few seconds)."""
    T = RegisterDayTotal
    rows = db.session.execute(
        select(T.register_id, func.sum(T.payment_count), func.sum(T.payment_sum), func.sum(T.cancel_count),
               func.sum(T.cancel_sum))
        .where(T.store_id == store_id, T.day == day)
        .group_by(T.register_id)
    )
    registers = {register_id: DayFigures(*(int(v or 0) for v in counters)) for register_id, *counters in rows}
    total = DayFigures(*(sum(getattr(f, name) for f in registers.values())
                         for name in ("payment_count", "payment_sum", "cancel_count", "cancel_sum")))
    return StoreDay(day=day, total=total, registers=registers)


def record_payment(*, register_id: int, store_id: int, business_id: int, method: PaymentMethod, amount: int,
                   at: dt.datetime) -> None:
    """Count a new payment on its day and register."""
    _add([_row(jst_date(at), register_id, store_id, business_id, method, payment_count=1, payment_sum=amount)])


def record_cancellation(*, register_id: int, store_id: int, business_id: int, method: PaymentMethod, amount: int,
                        paid_at: dt.datetime, cancelled_at: dt.datetime) -> None:
    """Count a cancellation: on the payment's day (one of its payments is now
    cancelled) and on the day it was made (the 日計 of the till)."""
    rows = {}
    for day, counters in ((jst_date(paid_at), dict(cancelled_count=1, cancelled_sum=amount)),
                          (jst_date(cancelled_at), dict(cancel_count=1, cancel_sum=amount))):
        row = rows.setdefault(day, _row(day, register_id, store_id, business_id, method))
        for name, value in counters.items():
            row[name] += value
    _add(list(rows.values()))


def _row(day, register_id, store_id, business_id, method, **counters) -> dict:
    row = dict(day=day, register_id=register_id, method=method, store_id=store_id, business_id=business_id)
    row.update({name: counters.get(name, 0) for name in COUNTERS})
    return row


_UPSERTS: dict[str, object] = {}


def _upsert(dialect_name: str):
    """The upsert of increments for one row, built once per database kind
    (values as parameters, so SQLAlchemy compiles it once, not per payment)."""
    if dialect_name not in _UPSERTS:
        dialect = postgresql if dialect_name == "postgresql" else sqlite
        table = RegisterDayTotal.__table__
        # On the table, run on the connection: the ORM's bulk-insert path
        # (an entity's insert through the session) costs more than the
        # statement itself.
        stmt = dialect.insert(table)
        _UPSERTS[dialect_name] = stmt.on_conflict_do_update(
            index_elements=list(KEY),
            set_={name: table.c[name] + getattr(stmt.excluded, name) for name in COUNTERS},
        )
    return _UPSERTS[dialect_name]


def payment_upsert_postgresql(source):
    """The counting of one payment as an upsert whose row comes from
    `source` (a SELECT of day, register_id, method, store_id, business_id
    and payment_sum: one row, or none for nothing to count), for a
    PostgreSQL statement that writes the payment in the same round trip."""
    table = RegisterDayTotal.__table__
    counts = source.add_columns(*[literal_column(str(n)) for n in (1, 0, 0, 0, 0)])
    stmt = postgresql.insert(table).from_select(
        ["day", "register_id", "method", "store_id", "business_id", "payment_sum",
         "payment_count", "cancelled_count", "cancelled_sum", "cancel_count", "cancel_sum"], counts)
    # A payment adds to its two counters only (the statement stays short: see payment_statement._constant).
    return stmt.on_conflict_do_update(
        index_elements=list(KEY),
        set_={name: table.c[name] + getattr(stmt.excluded, name) for name in ("payment_count", "payment_sum")},
    )


def _add(rows: list[dict]) -> None:
    """One upsert of increments per row, in key order, so that two
    transactions touching the same two rows lock them in the same order."""
    rows.sort(key=lambda r: (r["day"], r["register_id"], str(r["method"])))
    connection = db.session.connection()
    stmt = _upsert(connection.dialect.name)
    for row in rows:
        connection.execute(stmt, row)


def from_payments():
    """The totals as the payments say they are: (key, store, business, counters)."""
    cancelled = Payment.status == PaymentStatus.CANCELLED
    zero = literal(0)
    made = (
        select(
            jst_day(Payment.created_at).label("day"), Payment.register_id, Payment.method, Payment.store_id,
            Payment.business_id,
            func.count().label("payment_count"), func.sum(Payment.amount).label("payment_sum"),
            func.sum(case((cancelled, 1), else_=0)).label("cancelled_count"),
            func.sum(case((cancelled, Payment.amount), else_=0)).label("cancelled_sum"),
            zero.label("cancel_count"), zero.label("cancel_sum"),
        )
        .group_by(jst_day(Payment.created_at), Payment.register_id, Payment.method, Payment.store_id,
                  Payment.business_id)
    )
    undone = (
        select(
            jst_day(Payment.cancelled_at).label("day"), Payment.register_id, Payment.method, Payment.store_id,
            Payment.business_id,
            zero, zero, zero, zero,
            func.count().label("cancel_count"), func.sum(Payment.amount).label("cancel_sum"),
        )
        .where(Payment.cancelled_at.is_not(None))
        .group_by(jst_day(Payment.cancelled_at), Payment.register_id, Payment.method, Payment.store_id,
                  Payment.business_id)
    )
    both = union_all(made, undone).subquery()
    return select(
        both.c.day, both.c.register_id, both.c.method, both.c.store_id, both.c.business_id,
        *(func.sum(both.c[name]).label(name) for name in COUNTERS),
    ).group_by(both.c.day, both.c.register_id, both.c.method, both.c.store_id, both.c.business_id)


def rebuild() -> int:
    """Write the totals afresh from the payments; returns the number of rows."""
    db.session.execute(delete(RegisterDayTotal))
    columns = ["day", "register_id", "method", "store_id", "business_id", *COUNTERS]
    db.session.execute(insert(RegisterDayTotal).from_select(columns, from_payments()))
    return db.session.scalar(select(func.count()).select_from(RegisterDayTotal))


def as_date(value) -> dt.date:
    """A day read back from the database (SQLite gives the text of a DATE)."""
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def differences() -> list[str]:
    """Where the kept totals and the payments disagree, one line each."""
    table = RegisterDayTotal.__table__
    kept = {
        (as_date(r.day), r.register_id, str(r.method)): r
        for r in db.session.execute(select(table))
    }
    problems = []
    for r in db.session.execute(from_payments()):
        key = (as_date(r.day), r.register_id, str(r.method))
        row = kept.pop(key, None)
        expected = tuple(int(getattr(r, name)) for name in COUNTERS)
        found = tuple(int(getattr(row, name)) for name in COUNTERS) if row is not None else None
        if found != expected or (row is not None and (row.store_id, row.business_id) != (r.store_id, r.business_id)):
            problems.append(f"register_day_totals {key[0]} register {key[1]} {key[2]}: kept {found}, "
                            f"payments say {expected}")
    for key, row in kept.items():
        found = tuple(int(getattr(row, name)) for name in COUNTERS)
        if any(found):
            problems.append(f"register_day_totals {key[0]} register {key[1]} {key[2]}: kept {found}, "
                            "payments say nothing")
    return problems
