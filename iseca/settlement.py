"""精算 (settlement): periods of the 1st–15th and the 16th–last day."""
from __future__ import annotations

import calendar
import datetime as dt

from sqlalchemy import select

from .extensions import db
from .models import SettlementPeriod


def period_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    """The settlement period containing `day`: (first day, last day)."""
    if day.day <= 15:
        return day.replace(day=1), day.replace(day=15)
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=16), day.replace(day=last)


def period_for(day: dt.date) -> SettlementPeriod:
    """The period row containing `day`, created when first needed."""
    starts_on, ends_on = period_bounds(day)
    period = db.session.scalar(select(SettlementPeriod).where(SettlementPeriod.starts_on == starts_on))
    if period is None:
        period = SettlementPeriod(starts_on=starts_on, ends_on=ends_on)
        db.session.add(period)
        db.session.flush()
    return period
