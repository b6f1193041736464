"""The city's figures for the counter console (窓口TOP): points issued
(付与・チャージ), used (決済 − 取消), outstanding by campaign and when it
expires; payments and active members per day; use by 業種 and 地区; the top
stores. Every figure is one SQL aggregate (no rows read into Python), so the
page stays fast over millions of payments (bench/console.py)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import case, func, select

from ..extensions import db
from ..models import (
    ApplicationStatus,
    Business,
    Campaign,
    KitHandover,
    LedgerAccount,
    LedgerAccountKind,
    LedgerEntry,
    LedgerTransaction,
    LedgerTransactionKind,
    MerchantApplication,
    OutboxMessage,
    OutboxStatus,
    Payment,
    PaymentStatus,
    PeriodStatus,
    Settlement,
    SettlementPeriod,
    SettlementStatus,
    Store,
)
from ..money.day_totals import as_date, jst_day
from ..timeutil import start_of_day_utc

TOP_STORES = 10


@dataclass
class CityFigures:
    date_from: dt.date
    date_to: dt.date
    granted: int = 0
    charged: int = 0
    paid: int = 0
    cancelled: int = 0
    outstanding: list[tuple[str, dt.date, int]] = field(default_factory=list)  # campaign, 有効期限, points
    daily: list[tuple[dt.date, int, int, int]] = field(default_factory=list)  # day, payments, yen, members
    by_category: list[tuple[str, int, int]] = field(default_factory=list)  # 業種, payments, yen (net)
    by_area: list[tuple[str, int, int]] = field(default_factory=list)  # 地区, payments, yen (net)
    top_stores: list[tuple[str, str, int, int]] = field(default_factory=list)  # code, name, payments, yen (net)

    @property
    def issued(self) -> int:
        return self.granted + self.charged

    @property
    def used(self) -> int:
        return self.paid - self.cancelled

    @property
    def outstanding_total(self) -> int:
        return sum(amount for _, _, amount in self.outstanding)


def _between(column, date_from: dt.date, date_to: dt.date):
    return column.between(start_of_day_utc(date_from), start_of_day_utc(date_to + dt.timedelta(days=1)) - dt.timedelta(microseconds=1))


def city_figures(date_from: dt.date, date_to: dt.date) -> CityFigures:
    """The figures of the days date_from..date_to (JST); outstanding is as of now."""
    f = CityFigures(date_from, date_to)
    issued = dict(db.session.execute(
        select(LedgerTransaction.kind, func.coalesce(func.sum(LedgerEntry.amount), 0))
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerAccount.kind == LedgerAccountKind.MEMBER,
               LedgerTransaction.kind.in_([LedgerTransactionKind.GRANT, LedgerTransactionKind.CHARGE]),
               _between(LedgerTransaction.created_at, date_from, date_to))
        .group_by(LedgerTransaction.kind)
    ).all())
    f.granted = int(issued.get(LedgerTransactionKind.GRANT, 0))
    f.charged = int(issued.get(LedgerTransactionKind.CHARGE, 0))
    f.cancelled = int(db.session.scalar(select(func.coalesce(func.sum(Payment.amount), 0))
                                        .where(Payment.status == PaymentStatus.CANCELLED,
                                               _between(Payment.cancelled_at, date_from, date_to))))
    f.outstanding = [(name, ends_on, int(total)) for name, ends_on, total in db.session.execute(
        select(Campaign.name, Campaign.ends_on, func.sum(LedgerAccount.balance))
        .join(LedgerAccount, LedgerAccount.campaign_id == Campaign.id)
        .where(LedgerAccount.kind == LedgerAccountKind.MEMBER)
        .group_by(Campaign.id, Campaign.name, Campaign.ends_on)
        .order_by(Campaign.ends_on, Campaign.id)
    )]
    day = jst_day(Payment.created_at)
    f.daily = [(as_date(d), n, int(yen), members)
               for d, n, yen, members in db.session.execute(
        select(day, func.count(), func.sum(Payment.amount), func.count(Payment.member_id.distinct()))
        .where(_between(Payment.created_at, date_from, date_to))
        .group_by(day).order_by(day)
    )]
    # Every day of the range, a day without payments as zeros (the chart keeps its time axis).
    by_day = {line[0]: line for line in f.daily}
    f.daily = [by_day.get(date_from + dt.timedelta(days=i), (date_from + dt.timedelta(days=i), 0, 0, 0))
               for i in range((date_to - date_from).days + 1)]
    f.paid = sum(yen for _, _, yen, _ in f.daily)
    # 業種, 地区 and the top stores from one pass over the range's payments,
    # grouped by store (at most one row per store), then added up here.
    kept = Payment.status == PaymentStatus.COMPLETED
    net = func.coalesce(func.sum(case((kept, Payment.amount), else_=0)), 0)
    count = func.count(case((kept, Payment.id)))
    unset = _("（未設定）")
    per_store = [(code, name, category or unset, area or unset, n, int(yen))
                 for code, name, category, area, n, yen in db.session.execute(
        select(Store.code, Store.name, Store.category, Store.area, count, net)
        .join(Store, Store.id == Payment.store_id).where(_between(Payment.created_at, date_from, date_to))
        .group_by(Store.id, Store.code, Store.name, Store.category, Store.area)
    )]
    for attr, position in (("by_category", 2), ("by_area", 3)):
        totals: dict[str, list[int]] = {}
        for line in per_store:
            total = totals.setdefault(line[position], [0, 0])
            total[0] += line[4]
            total[1] += line[5]
        setattr(f, attr, sorted(((name, n, yen) for name, (n, yen) in totals.items()), key=lambda t: (-t[2], t[0])))
    f.top_stores = [(code, name, n, yen) for code, name, _, _, n, yen in
                    sorted(per_store, key=lambda line: (-line[5], line[0]))[:TOP_STORES]]
    return f


def actions_today() -> dict[str, object]:
    """What needs the counter's action: each a count (or the next period)."""
    def count(stmt) -> int:
        return db.session.scalar(stmt) or 0

    return {
        "applications": count(select(func.count()).select_from(MerchantApplication)
                              .where(MerchantApplication.status == ApplicationStatus.RECEIVED)),
        "kits": count(select(func.count()).select_from(Business)
                      .where(~select(KitHandover.id).where(KitHandover.business_id == Business.id).exists())),
        "unpublished": count(select(func.count()).select_from(Store).where(Store.published_at.is_(None))),
        "outbox_failed": count(select(func.count()).select_from(OutboxMessage)
                               .where(OutboxMessage.status == OutboxStatus.FAILED)),
        "transfers_failed": count(select(func.count()).select_from(Settlement)
                                  .where(Settlement.status == SettlementStatus.FAILED)),
        "next_period": db.session.scalar(select(SettlementPeriod).where(SettlementPeriod.status == PeriodStatus.OPEN)
                                         .order_by(SettlementPeriod.starts_on).limit(1)),
    }
