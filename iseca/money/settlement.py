"""精算 (settlement): periods of the 1st–15th and the 16th–last day, and
closing them.

Closing a period freezes it. For every business with activity in the period
or amounts waiting to be carried in, one `Settlement` states

    payments of the period
  − cancellations of those payments made while the period was open
  + adjustments (cancellations after an earlier period closed: negative;
    failed transfers carried over: positive; a negative result carried
    forward: negative)
  − fee (rate from SETTLEMENT_FEE_RATE_PERMILLE, rounded down: in the
    business's favour)
  = amount to transfer.

Every adjustment not yet applied is applied at the next closing, once
(`applied_settlement_id`). A negative amount is never transferred: it becomes
an adjustment of the business's next settlement.

The points of the period leave the stores' ledger accounts for the
settlement account: one ledger transaction per settlement, whose store
entries are each store's payments − cancellations (in the period and
adjustments of its payments). Fees and carried amounts stay figures on the
settlement: the points of a failed transfer are already in the settlement
account.

One conditional UPDATE of the period's status decides which of two closings
does the work; the other changes nothing. A cancellation reads its payment's
period under a share lock, so it happens entirely before the closing (and is
counted in the period) or after it (and becomes an adjustment). Both take the
period's row before any ledger account, so they never deadlock.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import case, func, select, update

from .. import audit, bulk, i18n, outbox
from ..dates import period_text, wareki
from ..extensions import db
from ..i18n import N_
from ..models import (
    Account,
    LedgerAccount,
    LedgerAccountKind,
    LedgerTransactionKind,
    Payment,
    PeriodStatus,
    Settlement,
    SettlementAdjustment,
    SettlementPeriod,
    SettlementStatus,
    utcnow,
)
from ..timeutil import JST
from . import banking, ledger, periods


class SettlementError(Exception):
    """A settlement action that is refused, with a message for staff."""


# Why an adjustment was made: a code stored with its parameters, the words
# written in the reader's language where shown (page, PDF, CSV).
CANCELLED_AFTER_CLOSE = "cancelled_after_close"  # params: number (取引番号)
NEGATIVE_CARRIED = "negative_carried"  # params: starts_on, ends_on (ISO)
TRANSFER_FAILED = "transfer_failed"  # params: starts_on, ends_on (ISO), reason (staff's words)
ADJUSTMENT_REASONS = {
    CANCELLED_AFTER_CLOSE: N_("精算済み期間の決済の取消（取引番号 %(number)s）"),
    NEGATIVE_CARRIED: N_("%(period)sの精算額がマイナスのため繰越"),
    TRANSFER_FAILED: N_("%(period)sの振込不能による繰越（%(reason)s）"),
}


def adjustment_reason(code: str | None, params: dict | None, stored: str = "", locale: str | None = None) -> str:
    """The reason of an adjustment in the reader's language (or in Japanese:
    locale="ja"); the stored words for a row without a known code (written
    before the codes, or by a release that predates them)."""
    if code not in ADJUSTMENT_REASONS:
        return stored
    values = dict(params or {})
    if "starts_on" in values:
        values["period"] = period_text((dt.date.fromisoformat(values.pop("starts_on")),
                                        dt.date.fromisoformat(values.pop("ends_on"))), locale)
    message = ADJUSTMENT_REASONS[code]
    if (locale or i18n.current()) == "ja":
        return message % values  # the catalogue's source words, whoever is reading
    return _(message, **values)


def adjustment_fields(code: str, **params) -> dict:
    """The columns of an adjustment's reason: its code and parameters, and
    the Japanese words (read by a release that predates the codes)."""
    return dict(reason_code=code, reason_params=params,
                reason=adjustment_reason(code, params, locale="ja")[:300])


def _period_params(period: SettlementPeriod) -> dict:
    return {"starts_on": period.starts_on.isoformat(), "ends_on": period.ends_on.isoformat()}


def can_close(period: SettlementPeriod, at: dt.datetime) -> bool:
    """A period closes once it has ended and the grace time for payments
    still being written at midnight has passed."""
    grace = dt.timedelta(minutes=int(current_app.config["SETTLEMENT_CLOSE_GRACE_MINUTES"]))
    return at >= periods.period_end(period) + grace


def fee_for(base: int, rate_permille: int) -> int:
    """手数料: `rate_permille`/1000 of a positive base, rounded down (the
    business's favour); nothing on a base of zero or less."""
    if base <= 0 or rate_permille <= 0:
        return 0
    return base * rate_permille // 1000


@dataclass
class _Draft:
    business_id: int
    payments: int = 0
    cancellations: int = 0
    adjustments: int = 0
    cancellation_adjustments: int = 0
    store_moves: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    adjustment_ids: list[int] = field(default_factory=list)


@dataclass
class CloseOutcome:
    period: SettlementPeriod
    closed_now: bool  # False: it was closed already (a repeat or a simultaneous closing)
    settlements: int = 0
    total: int = 0  # sum of the positive amounts to transfer


def close_period(period: SettlementPeriod, *, at: dt.datetime | None = None, actor: Account | None = None,
                 actor_label: str | None = None, apply_adjustments: bool = True) -> CloseOutcome:
    """Close `period`: compute every business's settlement and move the
    points, once. Refuses a period that has not ended or whose predecessor
    is still open. The caller commits. `apply_adjustments=False` leaves the
    adjustments waiting for the next closing (an empty period closed on the
    way to the one staff chose: they go with that one's transfers)."""
    at = at or utcnow()
    if not can_close(period, at):
        raise SettlementError(_("この期間はまだ終了していないため締められません。"))
    # The one statement that decides, and the transaction's first write: a
    # second closing waits for this row and then updates none.
    # Lock order, the same as a cancellation's (cancellation.cancel_payment):
    # the period's row first (here), then the ledger accounts (post_many
    # below, in id order). A cancellation of this period's payments holds
    # the row FOR SHARE before it touches an account, so this UPDATE waits
    # for it (or it waits for this closing) and neither holds what the
    # other wants.
    claimed = db.session.execute(
        update(SettlementPeriod)
        .where(SettlementPeriod.id == period.id, SettlementPeriod.status == PeriodStatus.OPEN)
        .values(status=PeriodStatus.CLOSED, closed_at=at)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(period)
    if claimed != 1:
        return CloseOutcome(period, closed_now=False)
    earlier_open = db.session.scalar(
        select(func.count()).select_from(SettlementPeriod)
        .where(SettlementPeriod.starts_on < period.starts_on, SettlementPeriod.status == PeriodStatus.OPEN)
    )
    if earlier_open:
        db.session.rollback()
        raise SettlementError(_("前の期間が締められていません。古い期間から順に締めてください。"))

    drafts: dict[int, _Draft] = {}

    def draft(business_id: int) -> _Draft:
        if business_id not in drafts:
            drafts[business_id] = _Draft(business_id)
        return drafts[business_id]

    # Payments of the period and their cancellations made while it was open,
    # per store: one GROUP BY over the period's payments.
    cancelled_in_period = case((Payment.cancel_period_id == period.id, Payment.amount), else_=0)
    rows = db.session.execute(
        select(Payment.business_id, Payment.store_id, func.sum(Payment.amount), func.sum(cancelled_in_period))
        .where(Payment.period_id == period.id)
        .group_by(Payment.business_id, Payment.store_id)
    ).all()
    for business_id, store_id, paid, cancelled in rows:
        d = draft(business_id)
        d.payments += int(paid)
        d.cancellations += int(cancelled)
        d.store_moves[store_id] += int(paid) - int(cancelled)

    # Every adjustment not applied yet, locked so that a simultaneous
    # closing of another period cannot apply it too.
    adjustments_stmt = (
        select(SettlementAdjustment.id, SettlementAdjustment.business_id, SettlementAdjustment.amount, Payment.store_id)
        .outerjoin(Payment, SettlementAdjustment.payment_id == Payment.id)
        .where(SettlementAdjustment.applied_settlement_id.is_(None))
        .order_by(SettlementAdjustment.id)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        adjustments_stmt = adjustments_stmt.with_for_update(of=SettlementAdjustment)
    for adjustment_id, business_id, amount, store_id in (db.session.execute(adjustments_stmt) if apply_adjustments else ()):
        d = draft(business_id)
        d.adjustments += int(amount)
        d.adjustment_ids.append(adjustment_id)
        if store_id is not None:  # a cancellation after its period closed
            d.cancellation_adjustments += int(amount)
            d.store_moves[store_id] += int(amount)

    if not drafts:
        audit.record("settlement_period_closed", period, {"settlements": 0, "total": 0}, actor=actor,
                     actor_label=actor_label)
        return CloseOutcome(period, closed_now=True)

    rate = int(current_app.config["SETTLEMENT_FEE_RATE_PERMILLE"])
    ordered = [drafts[b] for b in sorted(drafts)]

    # The points: one ledger transaction per settlement that moves any.
    store_accounts: dict[int, LedgerAccount] = dict(db.session.execute(
        select(LedgerAccount.store_id, LedgerAccount)
        .where(LedgerAccount.kind == LedgerAccountKind.STORE,
               LedgerAccount.store_id.in_({s for d in ordered for s in d.store_moves}))
    ).all())
    for store_id in {s for d in ordered for s in d.store_moves} - set(store_accounts):
        store_accounts[store_id] = ledger.store_account(store_id)
    pool = ledger.settlement_account()
    memo = f"精算 {period.starts_on:%Y-%m-%d}〜{period.ends_on:%Y-%m-%d}"
    batches = []
    for d in ordered:
        moves = [(store_accounts[s], -amount) for s, amount in sorted(d.store_moves.items()) if amount]
        total = sum(amount for s, amount in d.store_moves.items())
        if total:
            moves.append((pool, total))
        batches.append(moves if moves else None)
    # The stores' and the pool's accounts, locked last (see the lock order above).
    txn_ids = ledger.post_many(LedgerTransactionKind.SETTLEMENT, batches, actor=actor, memo=memo, at=at)

    values = []
    for d, txn_id in zip(ordered, txn_ids, strict=True):
        fee = fee_for(d.payments - d.cancellations + d.cancellation_adjustments, rate)
        amount = d.payments - d.cancellations + d.adjustments - fee
        values.append(dict(
            period_id=period.id,
            business_id=d.business_id,
            payments_total=d.payments,
            cancellations_total=d.cancellations,
            adjustments_total=d.adjustments,
            fee_rate_permille=rate,
            fee=fee,
            amount=amount,
            status=SettlementStatus.SCHEDULED if amount > 0 else SettlementStatus.CARRIED,
            ledger_transaction_id=txn_id,
            created_at=at,
        ))
    settlement_ids = bulk.insert_rows(Settlement.__table__, values)
    bulk.set_by_id(SettlementAdjustment.__table__, "applied_settlement_id", {
        adjustment_id: sid for d, sid in zip(ordered, settlement_ids, strict=True) for adjustment_id in d.adjustment_ids
    })
    carried = [
        dict(business_id=v["business_id"], amount=v["amount"], source_settlement_id=sid, created_at=at,
             **adjustment_fields(NEGATIVE_CARRIED, **_period_params(period)))
        for v, sid in zip(values, settlement_ids, strict=True) if v["amount"] < 0
    ]
    bulk.insert_rows_without_ids(SettlementAdjustment.__table__, carried)
    total = sum(v["amount"] for v in values if v["amount"] > 0)
    audit.record("settlement_period_closed", period,
                 {"settlements": len(values), "total": total, "fee_rate_permille": rate},
                 actor=actor, actor_label=actor_label)
    db.session.expire_all()
    return CloseOutcome(period, closed_now=True, settlements=len(values), total=total)




@dataclass
class PeriodActivity:
    """What a period holds before it is closed: its payments (count and
    yen, cancelled ones included) and those cancelled while it was open."""

    payments: int = 0
    payments_total: int = 0
    cancellations: int = 0
    cancellations_total: int = 0
    businesses: int = 0

    @property
    def empty(self) -> bool:
        return self.payments == 0


def period_activity(period_ids: list[int]) -> dict[int, PeriodActivity]:
    """PeriodActivity of each of `period_ids` (one GROUP BY; a period without payments is absent)."""
    if not period_ids:
        return {}
    cancelled_in_period = case((Payment.cancel_period_id == Payment.period_id, 1), else_=0)
    cancelled_amount = case((Payment.cancel_period_id == Payment.period_id, Payment.amount), else_=0)
    return {
        pid: PeriodActivity(int(n), int(total), int(nc), int(tc), int(b))
        for pid, n, total, nc, tc, b in db.session.execute(
            select(Payment.period_id, func.count(), func.sum(Payment.amount), func.sum(cancelled_in_period),
                   func.sum(cancelled_amount), func.count(func.distinct(Payment.business_id)))
            .where(Payment.period_id.in_(period_ids)).group_by(Payment.period_id)
        )
    }


@dataclass
class ClosingPlan:
    """What 「締める」 on `period` closes, said on the confirmation page before
    anything happens: the earlier open periods with no payments in them
    (closed first, as empty), then the period itself with its activity and
    the adjustments waiting for the next closing. `blocked_by` is the
    earliest open period with payments before it: that one is closed first."""

    period: SettlementPeriod
    activity: PeriodActivity
    empty_before: list[SettlementPeriod]
    blocked_by: SettlementPeriod | None
    adjustments: int
    adjustments_total: int

    @property
    def periods(self) -> int:
        return len(self.empty_before) + 1


def closing_plan(period: SettlementPeriod) -> ClosingPlan:
    earlier = list(db.session.scalars(
        select(SettlementPeriod)
        .where(SettlementPeriod.starts_on < period.starts_on, SettlementPeriod.status == PeriodStatus.OPEN)
        .order_by(SettlementPeriod.starts_on)
    ))
    activity = period_activity([p.id for p in earlier] + [period.id])
    blocked_by = next((p for p in earlier if p.id in activity), None)
    n, total = db.session.execute(
        select(func.count(), func.coalesce(func.sum(SettlementAdjustment.amount), 0))
        .where(SettlementAdjustment.applied_settlement_id.is_(None))
    ).one()
    return ClosingPlan(period, activity.get(period.id, PeriodActivity()), earlier if blocked_by is None else [],
                       blocked_by, int(n), int(total))


def may_close_now(period: SettlementPeriod, at: dt.datetime, plan: ClosingPlan | None = None) -> bool:
    """「締める」 can succeed: the period is open and has ended, and every
    earlier open period is empty (closed with it)."""
    if period.status != PeriodStatus.OPEN or not can_close(period, at):
        return False
    return (plan or closing_plan(period)).blocked_by is None


def close_with_empty_before(period: SettlementPeriod, *, at: dt.datetime | None = None,
                            actor: Account | None = None) -> list[CloseOutcome]:
    """「締める」 from the console: the earlier open periods that hold no
    payments are closed first, as empty (their adjustments left for this
    one), then `period`. Refused while an earlier period holds payments. The
    caller commits (one transaction: all of them or none)."""
    at = at or utcnow()
    if not can_close(period, at):
        raise SettlementError(_("この期間はまだ終了していないため締められません。"))
    plan = closing_plan(period)
    if plan.blocked_by is not None:
        raise SettlementError(_("前の期間（%(period)s）に決済があり、まだ締められていません。先にその期間を締めてください。",
                                period=period_text(plan.blocked_by)))
    outcomes = [close_period(p, at=at, actor=actor, apply_adjustments=False) for p in plan.empty_before]
    outcomes.append(close_period(period, at=at, actor=actor))
    return outcomes


def ended_open_periods(at: dt.datetime) -> list[SettlementPeriod]:
    """Open periods that may be closed at `at`, oldest first."""
    periods = db.session.scalars(
        select(SettlementPeriod).where(SettlementPeriod.status == PeriodStatus.OPEN).order_by(SettlementPeriod.starts_on)
    )
    return [p for p in periods if can_close(p, at)]


def close_ended_periods(*, at: dt.datetime | None = None, actor: Account | None = None,
                        actor_label: str | None = None) -> list[CloseOutcome]:
    """Close every period that has ended, oldest first, each in its own
    transaction (committed here). Safe to run twice and twice at once."""
    at = at or utcnow()
    db.session.commit()
    outcomes = []
    for period_id in [p.id for p in ended_open_periods(at)]:
        db.session.commit()  # no read transaction held before the closing's UPDATE
        period = db.session.get(SettlementPeriod, period_id)
        outcomes.append(close_period(period, at=at, actor=actor, actor_label=actor_label))
        db.session.commit()
    return outcomes


def mark_failed(settlement_row: Settlement, reason: str, *, actor: Account | None = None,
                at: dt.datetime | None = None, messages: list | None = None) -> bool:
    """振込不能: the transfer of `settlement_row` did not arrive; its amount is
    carried into the business's next settlement. Returns False (and changes
    nothing) when it was not a scheduled transfer any more. The caller commits."""
    reason = reason.strip()
    if not reason:
        raise SettlementError(_("振込不能の理由を入力してください。"))
    at = at or utcnow()
    claimed = db.session.execute(
        update(Settlement)
        .where(Settlement.id == settlement_row.id, Settlement.status == SettlementStatus.SCHEDULED, Settlement.amount > 0)
        .values(status=SettlementStatus.FAILED, failed_reason=reason[:300])
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(settlement_row)
    if claimed != 1:
        return False
    period = settlement_row.period
    db.session.add(SettlementAdjustment(
        business_id=settlement_row.business_id,
        amount=settlement_row.amount,
        **adjustment_fields(TRANSFER_FAILED, **_period_params(period), reason=reason[:200]),
        source_settlement_id=settlement_row.id,
        created_at=at,
    ))
    audit.record("settlement_transfer_failed", settlement_row,
                 {"amount": settlement_row.amount, "reason": reason[:300]}, actor=actor)
    business = settlement_row.business
    if business.email:
        message = outbox.queue_mail(business.email, SUBJECT_FAILED, "transfer_failed",
                                    locale=outbox.locale_of_business(business), **transfer_failed_context(settlement_row, reason))
        if messages is not None:
            messages.append(message)
    db.session.flush()
    return True


def transfers_to_mark(period: SettlementPeriod) -> list[Settlement]:
    """The transfers of the period's file not marked done yet (振込完了 marks these)."""
    return list(db.session.scalars(
        select(Settlement)
        .where(Settlement.period_id == period.id, Settlement.status == SettlementStatus.SCHEDULED,
               Settlement.amount > 0, Settlement.bank_snapshot.is_not(None))
        .order_by(Settlement.id)
    ))


def file_made_on(rows: list[Settlement]) -> dt.date | None:
    """The day (JST) the transfer file holding `rows` was made: the latest
    day their bank accounts were taken (振込データ作成). None without rows."""
    taken = [dt.datetime.fromisoformat(r.bank_snapshot["taken_at"]) for r in rows
             if (r.bank_snapshot or {}).get("taken_at")]
    if not taken:
        return None
    return max(t if t.tzinfo else t.replace(tzinfo=dt.UTC) for t in taken).astimezone(JST).date()


def check_transfer_day(on: dt.date, *, today: dt.date, made_on: dt.date | None) -> None:
    """振込日 (the day the bank paid) as staff state it: not in the future,
    not before the transfer file was made. SettlementError otherwise."""
    if on > today:
        raise SettlementError(_("振込日に未来の日付（%(date)s）は入れられません。銀行で振込が済んでから振込完了にしてください。",
                                date=wareki(on)))
    if made_on is not None and on < made_on:
        raise SettlementError(_("振込日は振込データを作成した日（%(date)s）より前にはできません。", date=wareki(made_on)))


def mark_transferred(period: SettlementPeriod, *, actor: Account | None = None, at: dt.datetime | None = None,
                     on: dt.date | None = None, messages: list | None = None) -> list[Settlement]:
    """振込完了: every transfer of the period's file not done yet is marked
    done on `on`, the day the bank paid (default: today), and each business
    gets its 「振込完了通知」 with that date through the outbox (once: a
    second run finds nothing left to mark). `on` may not lie in the future
    nor before the day the file was made (SettlementError, nothing changed).
    The caller commits."""
    at = at or utcnow()
    today = at.astimezone(JST).date()
    on = on or today
    if period.status != PeriodStatus.CLOSED or period.transfer_date is None:
        raise SettlementError(_("締められ、振込予定日の決まった期間だけ振込完了にできます。"))
    pending = transfers_to_mark(period)
    check_transfer_day(on, today=today, made_on=file_made_on(pending))
    if not pending:
        return []
    paid_at = dt.datetime.combine(on, dt.time(9), JST).astimezone(dt.UTC)
    ids = list(db.session.scalars(
        update(Settlement)
        .where(Settlement.id.in_([r.id for r in pending]), Settlement.status == SettlementStatus.SCHEDULED)
        .values(status=SettlementStatus.TRANSFERRED, transferred_at=paid_at)
        .returning(Settlement.id)
        .execution_options(synchronize_session=False)
    ))
    rows = list(db.session.scalars(
        select(Settlement).where(Settlement.id.in_(ids)).order_by(Settlement.id).execution_options(populate_existing=True)
    ))
    for row in rows:
        if row.business.email:
            message = outbox.queue_mail(row.business.email, SUBJECT_TRANSFERRED, "transferred",
                                        locale=outbox.locale_of_business(row.business), **transferred_context(row))
            if messages is not None:
                messages.append(message)
    audit.record("settlement_transfers_done", period, {"count": len(rows), "total": sum(r.amount for r in rows),
                                                      "on": on.isoformat()}, actor=actor)
    db.session.flush()
    return rows


def account_takes_effect_from(business_id: int, at: dt.datetime | None = None) -> str:
    """Which transfer the business's bank account as it stands now is used
    for: the first settlement whose transfer file is not made yet, else the
    period running now (a file already made keeps the account it was made with)."""
    waiting = db.session.scalar(
        select(Settlement).join(SettlementPeriod)
        .where(Settlement.business_id == business_id, Settlement.status == SettlementStatus.SCHEDULED,
               Settlement.amount > 0, Settlement.bank_snapshot.is_(None))
        .order_by(SettlementPeriod.starts_on).limit(1)
    )
    if waiting is not None:
        return _("%(period)s分（振込予定日 %(date)s）のお振込みから", period=period_text(waiting.period),
                 date=wareki(waiting.period.transfer_date))
    today = (at or utcnow()).astimezone(JST).date()
    return _("%(period)s分のお振込みから", period=period_text(periods.period_bounds(today)))


# ---------------------------------------------------------------------------
# Mails
# ---------------------------------------------------------------------------

SUBJECT_TRANSFERRED = N_("【ISECA】振込完了通知")
SUBJECT_FAILED = N_("【ISECA】精算金をお振込みできませんでした（振込先口座のご確認のお願い）")


def _settlements_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/cms/settlements"


def transferred_context(row: Settlement) -> dict:
    """振込完了通知: amount, date, period and where the 利用額明細 is (the
    dates are written when the mail is, in its language)."""
    on = row.transferred_at.astimezone(JST).date()
    return dict(business=row.business, period=row.period, on=on, amount=row.amount,
                transferor=banking.payer_name(), settlements_url=_settlements_url())


def transfer_failed_context(row: Settlement, reason: str) -> dict:
    """振込不能: what happened, and what to correct on 事業者情報."""
    return dict(business=row.business, period=row.period, amount=row.amount, reason=reason,
                business_url=current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/cms/business")


def transferred_mail(row: Settlement) -> str:
    """The 振込完了通知's text in the current language."""
    return outbox.mail_body("transferred", **transferred_context(row))


def transfer_failed_mail(row: Settlement, reason: str) -> str:
    """The 振込不能 mail's text in the current language."""
    return outbox.mail_body("transfer_failed", **transfer_failed_context(row, reason))
