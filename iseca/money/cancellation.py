"""取消: cancelling a payment returns its points to the member.

The payment row keeps what was paid; only its status and who cancelled when
are written. The points go back as a new ledger transaction (store → member)
that reverses the payment's own. One conditional UPDATE of the status decides
which of two simultaneous cancellations (two tills) does the work: the other
finds the payment already cancelled and moves nothing.

A cancellation is allowed while the payment's campaign runs (or, for a
campaign that says so, only while the payment's 精算 period runs). When the
payment's settlement period has already closed, the amount becomes a
negative adjustment for the business's next settlement (the closed period is
never rewritten).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import ColumnElement

from .. import audit
from ..dates import long_date
from ..extensions import db
from ..models import (
    Account,
    Campaign,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    LedgerTransactionKind,
    Payment,
    PaymentStatus,
    PeriodStatus,
    SettlementAdjustment,
    SettlementPeriod,
    utcnow,
)
from ..timeutil import jst_date
from . import day_totals, ledger, periods, settlement


class CancellationRefused(Exception):
    """A cancellation that is not allowed, with a message for the clerk."""


@dataclass
class CancelOutcome:
    payment: Payment
    cancelled_now: bool  # False: it was already cancelled (a repeat or the other till)
    adjustment: SettlementAdjustment | None = None


def deadline_column() -> ColumnElement:
    """取消可能期限 in SQL, for a query over Payment outer-joined to its
    Campaign: the campaign's last day, or, for a campaign whose payments may
    be cancelled only within their 精算 period, that period's last day when
    it comes first; for a payment that drew on several campaigns, the
    earliest of these days. The one rule behind the 取消 check, the history
    list and its CSV."""
    period_end = (
        select(SettlementPeriod.ends_on).where(SettlementPeriod.id == Payment.period_id)
        .correlate(Payment).scalar_subquery()
    )

    def bounded(campaign) -> ColumnElement:
        return case((campaign.cancellable_until_end, campaign.ends_on),
                    (period_end < campaign.ends_on, period_end), else_=campaign.ends_on)

    entry_account = aliased(LedgerAccount)
    entry_campaign = aliased(Campaign)
    several = (
        select(func.min(bounded(entry_campaign)))
        .select_from(LedgerEntry)
        .join(entry_account, LedgerEntry.account_id == entry_account.id)
        .join(entry_campaign, entry_account.campaign_id == entry_campaign.id)
        .where(LedgerEntry.transaction_id == Payment.ledger_transaction_id, LedgerEntry.amount < 0)
        .correlate(Payment)
        .scalar_subquery()
    )
    return case((Payment.campaign_id.is_not(None), bounded(Campaign)), else_=several).label("cancel_deadline")


def cancellation_deadline(payment: Payment) -> dt.date | None:
    """取消可能期限 of `payment` (see deadline_column); None when no campaign bounds it."""
    return db.session.scalar(
        select(deadline_column()).select_from(Payment)
        .outerjoin(Campaign, Campaign.id == Payment.campaign_id)
        .where(Payment.id == payment.id)
    )


def _campaign_last_day(payment: Payment) -> dt.date | None:
    """The last day of the payment's campaign(s), whatever their 取消 rule."""
    if payment.campaign_id is not None:
        return db.session.scalar(select(Campaign.ends_on).where(Campaign.id == payment.campaign_id))
    if payment.ledger_transaction_id is None:
        return None
    return db.session.scalar(
        select(func.min(Campaign.ends_on))
        .select_from(LedgerEntry)
        .join(LedgerAccount, LedgerEntry.account_id == LedgerAccount.id)
        .join(Campaign, LedgerAccount.campaign_id == Campaign.id)
        .where(LedgerEntry.transaction_id == payment.ledger_transaction_id, LedgerEntry.amount < 0)
    )


def deadline_passed(deadline: dt.date | None, at: dt.datetime | None = None) -> bool:
    """True when the campaign ended before the day of `at` (Asia/Tokyo)."""
    return deadline is not None and jst_date(at or utcnow()) > deadline


def refusal_reason(payment: Payment, at: dt.datetime | None = None) -> str | None:
    """Why the payment cannot be cancelled now, or None when it can."""
    if payment.status == PaymentStatus.CANCELLED:
        return _("この決済はすでに取消されています。")
    deadline = cancellation_deadline(payment)
    if deadline_passed(deadline, at):
        day = long_date(deadline)
        if deadline != _campaign_last_day(payment):
            return _("このキャンペーンの決済は、決済した精算期間（%(date)sまで）のうちに限り取消できます。"
                     "期間が終わったため、この決済は取消できません。", date=day)
        return _("キャンペーン期間（%(date)sまで）が終了したため、この決済は取消できません。", date=day)
    return None


def needs_password(payment: Payment, at: dt.datetime | None = None) -> bool:
    """A payment older than today may be cancelled only after the password
    is entered again (a fresh login for a sensitive action)."""
    return jst_date(payment.created_at) < jst_date(at or utcnow())


def cancel_payment(payment: Payment, *, actor: Account, at: dt.datetime | None = None) -> CancelOutcome:
    """Cancel `payment`: return its points to the member, once.

    Raises CancellationRefused when the campaign has ended. Cancelling a
    payment that is already cancelled changes nothing and says so
    (`cancelled_now` False). The caller commits.
    """
    at = at or utcnow()
    db.session.refresh(payment)
    if payment.status == PaymentStatus.CANCELLED:
        return CancelOutcome(payment, cancelled_now=False)
    reason = refusal_reason(payment, at)
    if reason:
        raise CancellationRefused(reason)

    # The status decides, atomically: of two tills, one updates one row, the
    # other waits for it (row lock) and then updates none.
    claimed = db.session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.status == PaymentStatus.COMPLETED)
        .values(status=PaymentStatus.CANCELLED, cancelled_at=at, cancelled_by_account_id=actor.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        db.session.refresh(payment)
        return CancelOutcome(payment, cancelled_now=False)

    # Lock order, the same as the closing's (settlement.close_period): the
    # payment's settlement period row first, then the ledger accounts (in id
    # order, as every ledger transaction takes them). The period is read
    # under a share lock, so that closing it (an UPDATE of its status) waits
    # for this cancellation or happens before it; taken after the accounts,
    # it deadlocked with a closing that held the period and wanted the
    # stores' accounts.
    own_period = None
    if payment.period_id is not None:
        own_period = db.session.scalar(
            select(SettlementPeriod)
            .where(SettlementPeriod.id == payment.period_id)
            .with_for_update(read=True)
            .execution_options(populate_existing=True)
        )
    adjustment = None
    if own_period is not None and own_period.status == PeriodStatus.OPEN:
        cancel_period_id = own_period.id
    else:
        cancel_period_id = periods.period_id(jst_date(at))
        adjustment = SettlementAdjustment(
            business_id=payment.business_id,
            amount=-payment.amount,
            **settlement.adjustment_fields(settlement.CANCELLED_AFTER_CLOSE, number=payment.number),
            payment_id=payment.id,
            created_at=at,
        )
        db.session.add(adjustment)

    original = db.session.get(LedgerTransaction, payment.ledger_transaction_id)
    txn = ledger.reverse(original, LedgerTransactionKind.CANCELLATION, actor=actor, memo=f"取消 {payment.number}")

    db.session.execute(
        update(Payment)
        .where(Payment.id == payment.id)
        .values(cancel_transaction_id=txn.id, cancel_period_id=cancel_period_id)
        .execution_options(synchronize_session=False)
    )
    day_totals.record_cancellation(register_id=payment.register_id, store_id=payment.store_id,
                                   business_id=payment.business_id, method=payment.method, amount=payment.amount,
                                   paid_at=payment.created_at, cancelled_at=at)
    db.session.flush()
    db.session.refresh(payment)
    audit.record(
        "payment_cancelled",
        payment,
        {
            "number": payment.number,
            "amount": payment.amount,
            "member_code": payment.member.code,
            "ledger_transaction_id": txn.id,
            "adjustment": adjustment.amount if adjustment is not None else None,
        },
        actor=actor,
    )
    return CancelOutcome(payment, cancelled_now=True, adjustment=adjustment)
