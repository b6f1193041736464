"""Dates as the city's guide writes them, for every page, mail, PDF and CSV:
和暦 (令和7年3月19日) and 売上対象期間 (令和6年3月16日から31日まで) in
Japanese, the reader's own 西暦 forms in other languages; and the banks'
calendar (Japanese public holidays and the banks' own, 31 Dec – 3 Jan)."""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays
from babel import dates as babel_dates
from flask_babel import gettext as _
from japanera import EraDate

from . import i18n
from .i18n import N_
from .timeutil import JST

MIDEI = "未定"  # N_("未定"): translated where shown
_MIDEI_MSGID = N_("未定")


@lru_cache(maxsize=1)
def _bank_calendar() -> holidays.HolidayBase:
    # Public holidays and the banks' own (12/31, 1/2, 1/3); years load lazily.
    return holidays.Japan(categories=("public", "bank"), language="ja")


def is_bank_business_day(day: dt.date) -> bool:
    """A day Japanese banks transfer money: not a weekend, public or bank holiday."""
    return day.weekday() < 5 and day not in _bank_calendar()


def holiday_name(day: dt.date) -> str:
    return _bank_calendar().get(day) or ""


def wareki(day: dt.date | dt.datetime | None, locale: str | None = None) -> str:
    """A date as the guide writes it: 令和7年3月19日 (令和元年 for the first year); 未定 for None.
    In other languages than Japanese, the 西暦 date as the reader writes it (Babel).
    A timestamp (UTC) counts as its day in Japan (振込日 of a transfer)."""
    locale = locale or i18n.current()
    if isinstance(day, dt.datetime):
        day = day.astimezone(JST).date()
    if day is None:
        return MIDEI if locale == "ja" else _(MIDEI)
    if locale != "ja":
        return i18n.date(day, locale=locale)
    era = EraDate.from_date(day)
    year = era.strftime("%-Y")
    return f"{era.strftime('%-K')}{'元' if year == '1' else year}年{day.month}月{day.day}日"


def long_date(day: dt.date, locale: str | None = None) -> str:
    """A 西暦 date in words: 2026年9月30日 in Japanese (a campaign's last
    day, as its notice writes it), the locale's own date elsewhere."""
    locale = locale or i18n.current()
    if locale != "ja":
        return i18n.date(day, locale=locale)
    return f"{day.year}年{day.month}月{day.day}日"


WEEKDAYS = "月火水木金土日"


def weekday_date(day: dt.date, locale: str | None = None) -> str:
    """A day of a daily table with its weekday: 2026/04/01（水） in Japanese,
    the locale's own (Wed, Apr 1, 2026) elsewhere."""
    locale = locale or i18n.current()
    if locale != "ja":
        return babel_dates.format_skeleton("yMMMEd", day, locale=locale)
    return f"{i18n.date(day, 'ja')}（{WEEKDAYS[day.weekday()]}）"


def chart_day(day: dt.date, locale: str | None = None) -> str:
    """A day under a chart's column: 03/05 in Japanese, Mar 5 in English."""
    locale = locale or i18n.current()
    if locale != "ja":
        return babel_dates.format_skeleton("MMMd", day, locale=locale)
    return f"{day.month:02d}/{day.day:02d}"


def period_text(period, locale: str | None = None) -> str:
    """売上対象期間 as the guide writes it: 令和6年3月16日から31日まで (in
    other languages the locale's own range of 西暦 dates: 16–31 Mar 2026).
    `period` is a (first day, last day) pair or anything with starts_on and ends_on."""
    starts_on, ends_on = period if isinstance(period, tuple) else (period.starts_on, period.ends_on)
    locale = locale or i18n.current()
    if locale != "ja":
        # CLDR puts thin spaces around the dash; plain ones read the same in a mail or a PDF font.
        return babel_dates.format_interval(starts_on, ends_on, "yMMMd", locale=locale).replace("\u2009", " ")
    return f"{wareki(starts_on, 'ja')}から{ends_on.day}日まで"

