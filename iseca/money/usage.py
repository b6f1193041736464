"""利用状況一覧 / 店舗利用履歴: a store's payments filtered, their totals,
the CSV for Excel and the 日計 (daily totals per register).

One function builds the conditions of a filter (`conditions`); the list, the
CSV and the benchmark all use it, so what is shown and what is downloaded are
always the same rows. The totals, and the position of a deep page, are read
from the per-day, per-register totals (iseca/day_totals.py) whenever the
filter is made of what those rows know (scope, store, register, days, status,
method): then all time costs what a day costs. A member code or an amount
range is answered from the payments themselves.
"""
from __future__ import annotations

import calendar
import datetime as dt
import functools
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field, replace

from sqlalchemy import Interval, and_, case, func, literal, or_, select
from sqlalchemy.orm import aliased, selectinload
from sqlalchemy.sql.expression import ColumnElement

from ..csvexport import neutralise
from ..extensions import db
from ..i18n import N_
from ..models import (
    Account,
    Campaign,
    Member,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Register,
    RegisterDayTotal,
    Store,
)
from ..timeutil import start_of_day_utc, today_jst
from . import periods
from .cancellation import deadline_column
from .day_totals import as_date

PER_PAGE = 50



# ---------------------------------------------------------------------------
# The filter
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class UsageFilter:
    """What the user asked for, within what the account may see.

    `business_id` / `own_store_id` are the scope given by the account (a
    business sees its stores, a store only itself); the other fields are the
    user's 「絞り込み」. Dates are days of the Japanese calendar, inclusive.
    """

    business_id: int | None = None
    own_store_id: int | None = None
    store_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    register_id: int | None = None
    member_code: str | None = None
    amount_min: int | None = None
    amount_max: int | None = None
    status: PaymentStatus | None = None
    method: PaymentMethod | None = None

    def __post_init__(self) -> None:
        if self.business_id is None and self.own_store_id is None:
            raise ValueError("a usage filter needs a scope (business or store)")

    def with_(self, **changes) -> UsageFilter:
        return replace(self, **changes)


def conditions(f: UsageFilter) -> list[ColumnElement[bool]]:
    """The WHERE conditions of a filter, in the shape the payment indexes serve."""
    conds: list[ColumnElement[bool]] = []
    if f.own_store_id is not None:
        conds.append(Payment.store_id == f.own_store_id)
    if f.business_id is not None:
        conds.append(Payment.business_id == f.business_id)
    if f.store_id is not None:
        conds.append(Payment.store_id == f.store_id)
    if f.date_from is not None:
        conds.append(Payment.created_at >= start_of_day_utc(f.date_from))
    if f.date_to is not None:
        conds.append(Payment.created_at < start_of_day_utc(f.date_to + dt.timedelta(days=1)))
    if f.register_id is not None:
        conds.append(Payment.register_id == f.register_id)
    if f.member_code:
        # One lookup by the unique code, then the (member_id, created_at) index.
        conds.append(Payment.member_id == select(Member.id).where(Member.code == f.member_code).scalar_subquery())
    if f.amount_min is not None:
        conds.append(Payment.amount >= f.amount_min)
    if f.amount_max is not None:
        conds.append(Payment.amount <= f.amount_max)
    if f.status is not None:
        conds.append(Payment.status == f.status)
    if f.method is not None:
        conds.append(Payment.method == f.method)
    return conds


NEWEST_FIRST = (Payment.created_at.desc(), Payment.id.desc())


@functools.cache
def _rows_base():
    """The list's SELECT without its conditions: built once (the joins, the
    aliased canceller and the 取消可能期限 expression cost more to build than
    the query costs to run) and shared, as statements are immutable."""
    canceller = aliased(Account)
    return (
        select(
            Payment.id,
            Payment.number,
            Payment.created_at,
            Payment.amount,
            Payment.status,
            Payment.method,
            Payment.cancelled_at,
            Member.code.label("member_code"),
            Store.code.label("store_code"),
            Store.name.label("store_name"),
            Register.name.label("register_name"),
            canceller.name.label("cancelled_by_name"),
            canceller.login.label("cancelled_by_login"),
            deadline_column(),
        )
        .join(Member, Member.id == Payment.member_id)
        .join(Store, Store.id == Payment.store_id)
        .join(Register, Register.id == Payment.register_id)
        .outerjoin(Campaign, Campaign.id == Payment.campaign_id)
        .outerjoin(canceller, canceller.id == Payment.cancelled_by_account_id)
        .order_by(*NEWEST_FIRST)
    )


def rows_statement(f: UsageFilter):
    """The rows of the list and the CSV, newest first."""
    return _rows_base().where(*conditions(f))


@dataclass(frozen=True)
class Totals:
    """合計 of the filtered rows: every row was a payment; some were cancelled."""

    count: int = 0
    payments_sum: int = 0
    cancelled_count: int = 0
    cancelled_sum: int = 0

    @property
    def net(self) -> int:
        return self.payments_sum - self.cancelled_sum


def totals(f: UsageFilter) -> Totals:
    """Count and sums of exactly the rows the filter selects."""
    if by_day_totals(f):
        count, amount, cancelled_count, cancelled_sum = _day_counters(f)
        row = db.session.execute(
            select(*(func.coalesce(func.sum(c), 0) for c in (count, amount, cancelled_count, cancelled_sum)))
            .where(*day_conditions(f))
        ).one()
        return Totals(*(int(v) for v in row))
    cancelled = Payment.status == PaymentStatus.CANCELLED
    row = db.session.execute(
        select(
            func.count(Payment.id),
            func.coalesce(func.sum(Payment.amount), 0),
            func.coalesce(func.sum(case((cancelled, 1), else_=0)), 0),
            func.coalesce(func.sum(case((cancelled, Payment.amount), else_=0)), 0),
        ).where(*conditions(f))
    ).one()
    return Totals(*(int(v) for v in row))


def by_day_totals(f: UsageFilter) -> bool:
    """Whether the per-day totals answer the filter (a member code or an
    amount range needs the payments themselves)."""
    return not f.member_code and f.amount_min is None and f.amount_max is None


def day_conditions(f: UsageFilter) -> list[ColumnElement[bool]]:
    """`conditions` for the per-day totals (status is a choice of counters)."""
    T = RegisterDayTotal
    conds: list[ColumnElement[bool]] = []
    if f.own_store_id is not None:
        conds.append(T.store_id == f.own_store_id)
    if f.business_id is not None:
        conds.append(T.business_id == f.business_id)
    if f.store_id is not None:
        conds.append(T.store_id == f.store_id)
    if f.date_from is not None:
        conds.append(T.day >= f.date_from)
    if f.date_to is not None:
        conds.append(T.day <= f.date_to)
    if f.register_id is not None:
        conds.append(T.register_id == f.register_id)
    if f.method is not None:
        conds.append(T.method == f.method)
    return conds


def _day_counters(f: UsageFilter) -> tuple:
    """(count, amount, cancelled count, cancelled amount) of a day's row,
    for the payments of the filter's status."""
    T = RegisterDayTotal
    if f.status == PaymentStatus.CANCELLED:
        return T.cancelled_count, T.cancelled_sum, T.cancelled_count, T.cancelled_sum
    if f.status == PaymentStatus.COMPLETED:
        return T.payment_count - T.cancelled_count, T.payment_sum - T.cancelled_sum, literal(0), literal(0)
    return T.payment_count, T.payment_sum, T.cancelled_count, T.cancelled_sum


def _seek(f: UsageFilter, offset: int) -> tuple[dt.date | None, int]:
    """Where the row at `offset` (newest first) lies: the day it falls on and
    its offset among the rows of that day and earlier, counted from the
    per-day totals, so that page 2,000 reads about as many rows as page 1.
    (None, offset) when the totals end before it."""
    count = _day_counters(f)[0]
    T = RegisterDayTotal
    per_day = db.session.execute(
        select(T.day, func.sum(count)).where(*day_conditions(f)).group_by(T.day).order_by(T.day.desc())
    )
    left = offset
    for day, n in per_day:
        n = int(n or 0)
        if left < n:
            return as_date(day), left
        left -= n
    return None, offset


@dataclass
class Page:
    rows: list
    totals: Totals
    page: int
    pages: int
    per_page: int

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        return (self.page - 1) * self.per_page + len(self.rows)


def page_of(f: UsageFilter, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """One page of the list (newest first) and the totals of the whole filter."""
    summary = totals(f)
    pages = max(1, -(-summary.count // per_page))
    page = min(max(1, page), pages)
    stmt, offset = rows_statement(f), (page - 1) * per_page
    if offset and by_day_totals(f):
        # Keyset underneath the page numbers: skip whole days by their totals.
        day, offset = _seek(f, offset)
        if day is not None:
            stmt = stmt.where(Payment.created_at < start_of_day_utc(day + dt.timedelta(days=1)))
    rows = list(db.session.execute(stmt.limit(per_page).offset(offset)))
    return Page(rows=rows, totals=summary, page=page, pages=pages, per_page=per_page)


def rows_before(f: UsageFilter, before: tuple[dt.datetime, int] | None, limit: int) -> list:
    """The next rows after a (created_at, id) cursor: 「もっと見る」 of the
    terminal, stable while new payments arrive at the top."""
    stmt = rows_statement(f)
    if before is not None:
        at, payment_id = before
        stmt = stmt.where(or_(Payment.created_at < at, and_(Payment.created_at == at, Payment.id < payment_id)))
    return list(db.session.execute(stmt.limit(limit)))


def iter_rows(f: UsageFilter, chunk: int = 2000) -> Iterator:
    """Every row of the filter, fetched `chunk` at a time through a
    server-side cursor, so an export of any size holds one chunk in memory."""
    connection = db.session.connection()  # Core rows: no ORM loading per row
    result = connection.execution_options(stream_results=True, yield_per=chunk).execute(rows_statement(f))
    try:
        yield from result
    finally:
        result.close()


# ---------------------------------------------------------------------------
# Date presets of 「絞り込み」
# ---------------------------------------------------------------------------


def presets(today: dt.date | None = None) -> list[tuple[str, dt.date, dt.date]]:
    """(label, first day, last day) of 今日, 昨日, 今週, 今月, 前回の精算期間."""
    today = today or today_jst()
    yesterday = today - dt.timedelta(days=1)
    week_start = today - dt.timedelta(days=today.weekday())  # Monday
    month_start = today.replace(day=1)
    month_end = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    current_start, _ = periods.period_bounds(today)
    previous = periods.period_bounds(current_start - dt.timedelta(days=1))
    return [
        (N_("今日"), today, today),
        (N_("昨日"), yesterday, yesterday),
        (N_("今週"), week_start, week_start + dt.timedelta(days=6)),
        (N_("今月"), month_start, month_end),
        (N_("前回の精算期間"), previous[0], previous[1]),
    ]


# ---------------------------------------------------------------------------
# 日計: per day and register, payments and cancellations
# ---------------------------------------------------------------------------


@dataclass
class DailyLine:
    day: dt.date
    store_code: str
    store_name: str
    register_name: str
    register_id: int
    payment_count: int = 0
    payment_sum: int = 0
    cancel_count: int = 0
    cancel_sum: int = 0

    @property
    def net(self) -> int:
        return self.payment_sum - self.cancel_sum


DAYS_PER_PAGE = 31  # a month on one page, and on one printout


@dataclass
class DailyReport:
    lines: list[DailyLine]
    totals: DailyLine | None = None
    days: list[tuple[dt.date, DailyLine]] = field(default_factory=list)
    page: int = 1
    pages: int = 1
    per_page: int = DAYS_PER_PAGE  # days a page
    day_count: int = 0  # days with a payment or a cancellation in the whole filter

    def lines_of(self, day: dt.date) -> list[DailyLine]:
        """The registers' lines of one day."""
        by_day = self.__dict__.get("_by_day")
        if by_day is None:
            by_day = self.__dict__["_by_day"] = {}
            for line in self.lines:
                by_day.setdefault(line.day, []).append(line)
        return by_day.get(day, [])


def daily_totals(f: UsageFilter, page: int | None = None, days_per_page: int | None = None) -> DailyReport:
    """日計: for each day and register, the payments made that day and the
    cancellations made that day (what the till saw), for the till check at
    closing. Uses the filter's scope, store, register and dates; read from
    the per-day totals.

    With `page`, the lines of `days_per_page` days (newest first; days
    without a payment or a cancellation are not counted), so that a page
    costs the same however long the history; the period's total is always
    over the whole filter. Without it, every day (the CSV)."""
    scope = f.with_(member_code=None, amount_min=None, amount_max=None, status=None, method=None)
    T = RegisterDayTotal
    where = day_conditions(scope)
    active = (T.payment_count != 0) | (T.cancel_count != 0)
    total = DailyLine(day=f.date_to or today_jst(), store_code="", store_name="", register_name="合計", register_id=0)
    total.payment_count, total.payment_sum, total.cancel_count, total.cancel_sum = (int(v) for v in db.session.execute(
        select(*(func.coalesce(func.sum(c), 0) for c in (T.payment_count, T.payment_sum, T.cancel_count, T.cancel_sum)))
        .where(*where)
    ).one())
    pages = page_number = 1
    day_count = 0
    days_per_page = days_per_page or DAYS_PER_PAGE
    if page is not None:
        all_days = [as_date(d) for d in db.session.scalars(
            select(T.day).where(*where, active).group_by(T.day).order_by(T.day.desc()))]
        day_count = len(all_days)
        pages = max(1, -(-day_count // days_per_page))
        page_number = min(max(1, page), pages)
        shown = all_days[(page_number - 1) * days_per_page:page_number * days_per_page]
        if not shown:
            return DailyReport(lines=[], totals=total, page=page_number, pages=pages, per_page=days_per_page,
                               day_count=day_count)
        where = [*where, T.day >= shown[-1], T.day <= shown[0]]
    stmt = (
        select(T.day, T.register_id, func.sum(T.payment_count), func.sum(T.payment_sum), func.sum(T.cancel_count),
               func.sum(T.cancel_sum))
        .where(*where)
        .group_by(T.day, T.register_id)
    )
    lines: dict[tuple[dt.date, int], DailyLine] = {}
    for day, register_id, payment_count, payment_sum, cancel_count, cancel_sum in db.session.execute(stmt):
        if not (payment_count or cancel_count):
            continue
        day = as_date(day)
        lines[(day, register_id)] = DailyLine(
            day=day, store_code="", store_name="", register_name="", register_id=register_id,
            payment_count=int(payment_count), payment_sum=int(payment_sum),
            cancel_count=int(cancel_count), cancel_sum=int(cancel_sum),
        )
    registers = {
        r.id: r
        for r in db.session.scalars(
            select(Register).where(Register.id.in_({k[1] for k in lines})).options(selectinload(Register.store)))
    }
    for line in lines.values():
        register = registers[line.register_id]
        line.register_name = register.name
        line.store_code = register.store.code
        line.store_name = register.store.name
    ordered = sorted(lines.values(), key=lambda line: (line.day, line.store_code, line.register_id), reverse=False)
    ordered.sort(key=lambda line: line.day, reverse=True)  # newest day first, registers in order within a day
    days: dict[dt.date, DailyLine] = {}
    for line in ordered:
        target = days.setdefault(line.day, DailyLine(day=line.day, store_code="", store_name="",
                                                     register_name="日合計", register_id=0))
        target.payment_count += line.payment_count
        target.payment_sum += line.payment_sum
        target.cancel_count += line.cancel_count
        target.cancel_sum += line.cancel_sum
    return DailyReport(lines=ordered, totals=total, days=sorted(days.items(), reverse=True),
                       page=page_number, pages=pages, per_page=days_per_page, day_count=day_count or len(days))


JST_OFFSET = dt.timezone(dt.timedelta(hours=9), "JST")  # Japan keeps no daylight saving time


def jst_text(moment: dt.datetime | None) -> str:
    """2026/04/01 09:05:03 in Japan time (f-string: an export formats millions)."""
    if moment is None:
        return ""
    t = moment.astimezone(JST_OFFSET)
    return f"{t.year:04d}/{t.month:02d}/{t.day:02d} {t.hour:02d}:{t.minute:02d}:{t.second:02d}"


# ---------------------------------------------------------------------------
# The CSV made by the database (PostgreSQL)
# ---------------------------------------------------------------------------


def csv_statement(f: UsageFilter, *, method_labels: dict, status_labels: dict,
                  formula_starts: Collection[str]):
    """The cells of the CSV of `f`, as PostgreSQL's COPY writes them: the same
    text, cell for cell, as the Python writer (cms/usage.py `_csv_row` through
    csvexport.CsvStream) makes of `rows_statement(f)`.

    Labels (決済方法, 状態) and the formula starts come in as bound values, so
    that the caller decides their words; an empty cell is NULL, which COPY
    writes as nothing (an empty string it would write as "")."""
    base = rows_statement(f).subquery()

    def text(value):
        return func.nullif(value, literal(""))

    def plain(value):
        # A spreadsheet would run it as a formula: a leading ' makes it text.
        return text(case((func.substr(value, 1, 1).in_(list(formula_starts)), literal("'").concat(value)),
                         else_=value))

    def identifier(value):
        # ="…": the digits stay text in every spreadsheet (csvexport's rule).
        return text(literal('="').concat(func.replace(value, literal('"'), literal('""'))).concat(literal('"')))

    def label(value, labels: dict):
        # The words are the caller's constants: made plain here, not per row.
        return text(case(*((value == key, literal(neutralise(str(words)))) for key, words in labels.items()),
                         else_=None))

    def moment(value, pattern: str):
        return func.to_char(value + literal(dt.timedelta(hours=9), Interval()), literal(pattern))

    seconds = "YYYY/MM/DD HH24:MI:SS"
    # 「name（login）」 starts with the name, or with （ when the name is empty.
    canceller = case(
        (func.coalesce(base.c.cancelled_by_login, literal("")) != literal(""),
         func.coalesce(plain(base.c.cancelled_by_name), literal("")).concat(literal("（"))
         .concat(base.c.cancelled_by_login).concat(literal("）"))),
        else_=None,
    )
    return select(
        moment(base.c.created_at, seconds),
        identifier(base.c.number),
        identifier(base.c.store_code),
        plain(base.c.store_name),
        plain(base.c.register_name),
        identifier(base.c.member_code),
        label(base.c.method, method_labels),
        base.c.amount,
        label(base.c.status, status_labels),
        moment(base.c.cancelled_at, seconds),
        canceller,
        func.to_char(base.c.cancel_deadline, literal("YYYY/MM/DD")),
    ).order_by(base.c.created_at.desc(), base.c.id.desc())  # the subquery's order, kept (no second sort)
