"""振込スケジュール (the transfer schedule): each period's 振込予定日, imported
from the city's table or suggested, and dates written as the guide writes
them (令和7年3月19日).

The suggestion follows the city's habit visible in the guide's table: the
first Thursday at least 14 days after the period's last day (the 締め日),
moved to the business day before when it is a Japanese public holiday or a
bank holiday (31 Dec – 3 Jan). It is a suggestion: staff decide.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from functools import lru_cache

import holidays
from babel import dates as babel_dates
from flask_babel import gettext as _
from japanera import EraDate
from sqlalchemy import select

from . import audit, i18n, settlement
from .i18n import N_
from .extensions import db
from .models import Account, Settlement, SettlementPeriod, SettlementStatus

THURSDAY = 3
SUGGESTION_MIN_DAYS = 14
MIDEI = "未定"  # N_("未定"): translated where shown
_MIDEI_MSGID = N_("未定")


class ScheduleError(Exception):
    """A schedule change that is refused, with a message for staff."""


@lru_cache(maxsize=1)
def _bank_calendar() -> holidays.HolidayBase:
    # Public holidays and the banks' own (12/31, 1/2, 1/3); years load lazily.
    return holidays.Japan(categories=("public", "bank"), language="ja")


def is_bank_business_day(day: dt.date) -> bool:
    """A day Japanese banks transfer money: not a weekend, public or bank holiday."""
    return day.weekday() < 5 and day not in _bank_calendar()


def holiday_name(day: dt.date) -> str:
    return _bank_calendar().get(day) or ""


def suggest_transfer_date(period: SettlementPeriod) -> dt.date:
    """The suggested 振込予定日 of `period` (see the module's rule)."""
    day = period.ends_on + dt.timedelta(days=SUGGESTION_MIN_DAYS)
    day += dt.timedelta(days=(THURSDAY - day.weekday()) % 7)
    while not is_bank_business_day(day):
        day -= dt.timedelta(days=1)
    return day


def wareki(day: dt.date | None, locale: str | None = None) -> str:
    """A date as the guide writes it: 令和7年3月19日 (令和元年 for the first year); 未定 for None.
    In other languages than Japanese, the 西暦 date as the reader writes it (Babel)."""
    locale = locale or i18n.current()
    if day is None:
        return MIDEI if locale == "ja" else _(MIDEI)
    if locale != "ja":
        return i18n.date(day, locale=locale)
    era = EraDate.from_date(day)
    year = era.strftime("%-Y")
    return f"{era.strftime('%-K')}{'元' if year == '1' else year}年{day.month}月{day.day}日"


def period_text(period: SettlementPeriod | tuple[dt.date, dt.date], locale: str | None = None) -> str:
    """売上対象期間 as the guide writes it: 令和6年3月16日から31日まで (in
    other languages the locale's own range of 西暦 dates: 16–31 Mar 2026)."""
    starts_on, ends_on = (period.starts_on, period.ends_on) if isinstance(period, SettlementPeriod) else period
    locale = locale or i18n.current()
    if locale != "ja":
        # CLDR puts thin spaces around the dash; plain ones read the same in a mail or a PDF font.
        return babel_dates.format_interval(starts_on, ends_on, "yMMMd", locale=locale).replace("\u2009", " ")
    return f"{wareki(starts_on, 'ja')}から{ends_on.day}日まで"


@dataclass
class ScheduleRow:
    line: int
    starts_on: dt.date
    ends_on: dt.date
    transfer_date: dt.date | None


@dataclass
class ScheduleImport:
    rows: list[ScheduleRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


HEADER = ["period_start", "period_end", "transfer_date", "period_text", "transfer_text"]


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def parse_schedule_csv(text: str) -> ScheduleImport:
    """Lines of period_start,period_end,transfer_date[,period_text,transfer_text]
    (the guide's table as ../shared/data/transfer-schedule.csv holds it; a
    header line is allowed). The 和暦 texts, when given, must agree with the
    dates: a typo in either is caught before anything changes."""
    result = ScheduleImport()
    seen: set[dt.date] = set()
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if number == 1 and cells[0].lower() == "period_start":
            continue
        if len(cells) < 3:
            result.errors.append(f"{number}行目: 期間の開始日・終了日・振込予定日の3列が必要です。")
            continue
        starts_on, ends_on = _date(cells[0]), _date(cells[1])
        if starts_on is None or ends_on is None:
            result.errors.append(f"{number}行目: 期間の日付は 2025-03-16 の形で書いてください。")
            continue
        if settlement.period_bounds(starts_on) != (starts_on, ends_on):
            result.errors.append(f"{number}行目: {starts_on}〜{ends_on} は精算期間（1日〜15日、16日〜末日）ではありません。")
            continue
        transfer = None
        if cells[2] and cells[2] != MIDEI:
            transfer = _date(cells[2])
            if transfer is None:
                result.errors.append(f"{number}行目: 振込予定日は 2025-03-19 の形で書くか、空欄（未定）にしてください。")
                continue
            if transfer <= ends_on:
                result.errors.append(f"{number}行目: 振込予定日（{transfer}）が期間の終了日より前です。")
                continue
        if len(cells) > 3 and cells[3] and cells[3] != period_text((starts_on, ends_on)):
            result.errors.append(f"{number}行目: 期間の和暦「{cells[3]}」が日付（{period_text((starts_on, ends_on))}）と合いません。")
            continue
        if len(cells) > 4 and cells[4] and cells[4] != wareki(transfer):
            result.errors.append(f"{number}行目: 振込予定日の和暦「{cells[4]}」が日付（{wareki(transfer)}）と合いません。")
            continue
        if starts_on in seen:
            result.errors.append(f"{number}行目: 期間 {starts_on}〜{ends_on} が2回書かれています。")
            continue
        seen.add(starts_on)
        result.rows.append(ScheduleRow(number, starts_on, ends_on, transfer))
    if not result.rows and not result.errors:
        result.errors.append("CSVに期間の行がありません。")
    return result


def _transfers_done(period: SettlementPeriod) -> bool:
    return db.session.scalar(
        select(Settlement.id).where(Settlement.period_id == period.id, Settlement.status == SettlementStatus.TRANSFERRED).limit(1)
    ) is not None


def set_transfer_date(period: SettlementPeriod, day: dt.date | None, *, actor: Account | None = None,
                      actor_label: str | None = None) -> bool:
    """Set (or clear: 未定) the 振込予定日 of `period`; refused once its
    transfers are marked done. Returns whether it changed. The caller commits."""
    if day is not None and day <= period.ends_on:
        raise ScheduleError("振込予定日は期間の終了日より後の日付にしてください。")
    if period.transfer_date == day:
        return False
    if _transfers_done(period):
        raise ScheduleError("この期間の振込は完了しているため、振込予定日は変更できません。")
    before = period.transfer_date
    period.transfer_date = day
    audit.record("transfer_date_set", period, {"period": str(period.starts_on), "before": str(before or ""),
                                               "after": str(day or "")}, actor=actor, actor_label=actor_label)
    return True


def import_schedule(parsed: ScheduleImport, *, actor: Account | None = None, actor_label: str | None = None) -> int:
    """Write every row of a checked schedule (all or nothing): periods are
    created when missing. Returns how many periods changed. The caller commits."""
    if parsed.errors:
        raise ScheduleError("\n".join(parsed.errors))
    changed = 0
    for row in parsed.rows:
        period_id = settlement.ensure_period(row.starts_on)
        period = db.session.get(SettlementPeriod, period_id)
        try:
            changed += set_transfer_date(period, row.transfer_date, actor=actor, actor_label=actor_label)
        except ScheduleError as error:
            raise ScheduleError(f"{row.line}行目: {error}") from None
    return changed
