"""精算期間 (settlement periods): the 1st–15th and the 16th–last day of each
month, and the one place a period's row is made.

A row is made when something first needs it (a payment, a cancellation
after its own period closed, the 振込スケジュール import): by whichever
comes first, however many come at the same moment. Rows are never deleted.
"""
from __future__ import annotations

import calendar
import datetime as dt

from sqlalchemy import bindparam, literal_column, select

from ..database import insert_ignoring_conflict
from ..extensions import db
from ..models import PeriodStatus, SettlementPeriod
from ..timeutil import JST


def period_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    """The settlement period containing `day`: (first day, last day)."""
    if day.day <= 15:
        return day.replace(day=1), day.replace(day=15)
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=16), day.replace(day=last)


def period_end(period: SettlementPeriod) -> dt.datetime:
    """The moment the period ends: 24:00 JST of its last day (UTC-aware)."""
    return dt.datetime.combine(period.ends_on + dt.timedelta(days=1), dt.time(), JST).astimezone(dt.UTC)


def period_id(day: dt.date) -> int:
    """The id of the period row containing `day`, made when missing.

    Safe when others make the same row at the same moment: the INSERT
    ignores a start day already taken (on PostgreSQL after waiting for the
    uncommitted writer of it), and the SELECT after it then finds the row
    (committed: READ COMMITTED reads it in a statement of its own)."""
    starts_on, ends_on = period_bounds(day)
    found = db.session.scalar(_ID_OF_START, {"starts_on": starts_on})
    if found is None:
        found = insert_ignoring_conflict(SettlementPeriod, ["starts_on"],
                                         {"starts_on": starts_on, "ends_on": ends_on, "status": PeriodStatus.OPEN})
    if found is None:
        found = db.session.scalar(_ID_OF_START, {"starts_on": starts_on})
    return found


_ID_OF_START = select(SettlementPeriod.id).where(SettlementPeriod.starts_on == bindparam("starts_on"))


def id_containing(day):
    """The id of the period row containing `day` (an SQL date expression)
    as a scalar subquery, NULL while the row is not made: for a statement
    that reads it in passing (a payment's claim and locks)."""
    return (
        select(SettlementPeriod.id)
        .where(SettlementPeriod.starts_on <= day, SettlementPeriod.ends_on >= day)
        .order_by(SettlementPeriod.starts_on.desc())
        .limit(literal_column("1"))  # written into the SQL, not one more parameter
        .scalar_subquery()
    )
