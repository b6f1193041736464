"""Japan time: business days, periods and the till's clock are Asia/Tokyo."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")


def now_jst() -> dt.datetime:
    return dt.datetime.now(JST)


def today_jst() -> dt.date:
    return now_jst().date()


def start_of_day_utc(day: dt.date) -> dt.datetime:
    """00:00 JST of `day`, as a UTC timestamp (for range filters)."""
    return dt.datetime.combine(day, dt.time(), JST).astimezone(dt.UTC)


def jst(value: dt.datetime | None, fmt: str = "%Y/%m/%d %H:%M") -> str:
    """A UTC timestamp shown in Japan time ('' for none)."""
    if value is None:
        return ""
    return value.astimezone(JST).strftime(fmt)


def datetime_attr(value: dt.datetime | None) -> str:
    """For `<time datetime>`: Japan time to the second with its offset
    (the HTML syntax allows no microseconds beyond three digits); '' for none."""
    if value is None:
        return ""
    return value.astimezone(JST).isoformat(timespec="seconds")


def jst_date(moment: dt.datetime) -> dt.date:
    """The Japanese calendar day of a timestamp."""
    return moment.astimezone(JST).date()
