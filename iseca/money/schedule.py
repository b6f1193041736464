"""振込スケジュール (the transfer schedule): each period's 振込予定日, imported
from the city's table or suggested (dates as the guide writes them:
iseca/dates.py).

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

from flask_babel import gettext as _
from sqlalchemy import select

from .. import audit
from ..dates import MIDEI, is_bank_business_day, period_text, wareki
from ..extensions import db
from ..models import Account, Settlement, SettlementPeriod, SettlementStatus
from . import periods

THURSDAY = 3
SUGGESTION_MIN_DAYS = 14


class ScheduleError(Exception):
    """A schedule change that is refused, with a message for staff."""


def suggest_transfer_date(period: SettlementPeriod) -> dt.date:
    """The suggested 振込予定日 of `period` (see the module's rule)."""
    day = period.ends_on + dt.timedelta(days=SUGGESTION_MIN_DAYS)
    day += dt.timedelta(days=(THURSDAY - day.weekday()) % 7)
    while not is_bank_business_day(day):
        day -= dt.timedelta(days=1)
    return day


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
            result.errors.append(_("%(line)s行目: 期間の開始日・終了日・振込予定日の3列が必要です。", line=number))
            continue
        starts_on, ends_on = _date(cells[0]), _date(cells[1])
        if starts_on is None or ends_on is None:
            result.errors.append(_("%(line)s行目: 期間の日付は 2025-03-16 の形で書いてください。", line=number))
            continue
        if periods.period_bounds(starts_on) != (starts_on, ends_on):
            result.errors.append(_("%(line)s行目: %(starts)s〜%(ends)s は精算期間（1日〜15日、16日〜末日）ではありません。",
                                    line=number, starts=starts_on, ends=ends_on))
            continue
        transfer = None
        if cells[2] and cells[2] != MIDEI:
            transfer = _date(cells[2])
            if transfer is None:
                result.errors.append(_("%(line)s行目: 振込予定日は 2025-03-19 の形で書くか、空欄（未定）にしてください。", line=number))
                continue
            if transfer <= ends_on:
                result.errors.append(_("%(line)s行目: 振込予定日（%(date)s）が期間の終了日より前です。", line=number, date=transfer))
                continue
        if len(cells) > 3 and cells[3] and cells[3] != period_text((starts_on, ends_on), "ja"):
            result.errors.append(_("%(line)s行目: 期間の和暦「%(text)s」が日付（%(expected)s）と合いません。", line=number,
                                    text=cells[3], expected=period_text((starts_on, ends_on), "ja")))
            continue
        if len(cells) > 4 and cells[4] and cells[4] != wareki(transfer, "ja"):
            result.errors.append(_("%(line)s行目: 振込予定日の和暦「%(text)s」が日付（%(expected)s）と合いません。", line=number,
                                    text=cells[4], expected=wareki(transfer, "ja")))
            continue
        if starts_on in seen:
            result.errors.append(_("%(line)s行目: 期間 %(starts)s〜%(ends)s が2回書かれています。", line=number, starts=starts_on,
                                    ends=ends_on))
            continue
        seen.add(starts_on)
        result.rows.append(ScheduleRow(number, starts_on, ends_on, transfer))
    if not result.rows and not result.errors:
        result.errors.append(_("CSVに期間の行がありません。"))
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
        raise ScheduleError(_("振込予定日は期間の終了日より後の日付にしてください。"))
    if period.transfer_date == day:
        return False
    if _transfers_done(period):
        raise ScheduleError(_("この期間の振込は完了しているため、振込予定日は変更できません。"))
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
        period_id = periods.period_id(row.starts_on)
        period = db.session.get(SettlementPeriod, period_id)
        try:
            changed += set_transfer_date(period, row.transfer_date, actor=actor, actor_label=actor_label)
        except ScheduleError as error:
            raise ScheduleError(_("%(line)s行目: %(message)s", line=row.line, message=error)) from None
    return changed
