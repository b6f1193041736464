"""取消: points go back once, the payment keeps what was paid, a closed
period gets an adjustment, an ended campaign refuses."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from iseca.extensions import db
from iseca.models import (
    AccountKind,
    AuditLog,
    LedgerTransaction,
    LedgerTransactionKind,
    PaymentMethod,
    PaymentStatus,
    PeriodStatus,
    SettlementAdjustment,
    SettlementPeriod,
    utcnow,
)
from iseca.money import cancellation, ledger, payments, periods
from iseca.timeutil import JST, jst_date
from tests import factories


@pytest.fixture
def shop(app):
    store = factories.make_store()
    actor = factories.account_of(AccountKind.STORE, store.code)
    member, card = factories.make_card_member(5_000)
    return store, actor, member, card


def test_cancel_returns_the_points_and_keeps_the_payment_as_paid(shop):
    store, actor, member, card = shop
    payment = factories.make_payment_at(store.registers[0], member, 1_200, utcnow(), card=card)
    assert ledger.member_balance(member.id) == 3_800

    outcome = cancellation.cancel_payment(payment, actor=actor)
    db.session.commit()

    assert outcome.cancelled_now and outcome.adjustment is None
    assert ledger.member_balance(member.id) == 5_000
    assert ledger.store_account(store.id).balance == 0
    assert payment.status == PaymentStatus.CANCELLED
    assert payment.amount == 1_200 and payment.member_id == member.id  # what was paid stays
    assert payment.cancelled_by_account_id == actor.id and payment.cancelled_at is not None
    txn = db.session.get(LedgerTransaction, payment.cancel_transaction_id)
    assert txn.kind == LedgerTransactionKind.CANCELLATION and txn.memo == f"取消 {payment.number}"
    assert payment.cancel_period_id == payment.period_id
    assert ledger.verify_books() == []
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "payment_cancelled")) == 1


def test_cancel_twice_returns_points_once(shop):
    store, actor, member, card = shop
    payment = factories.make_payment_at(store.registers[0], member, 700, utcnow())
    assert cancellation.cancel_payment(payment, actor=actor).cancelled_now
    db.session.commit()
    again = cancellation.cancel_payment(payment, actor=actor)
    db.session.commit()
    assert not again.cancelled_now
    assert ledger.member_balance(member.id) == 5_000
    cancellations = db.session.scalar(
        select(func.count()).select_from(LedgerTransaction).where(LedgerTransaction.kind == LedgerTransactionKind.CANCELLATION)
    )
    assert cancellations == 1


def test_cancel_after_campaign_ended_is_refused_with_a_clear_message(shop):
    store, actor, _, _ = shop
    campaign = factories.make_campaign(starts_on=dt.date(2026, 4, 1), ends_on=dt.date(2026, 9, 30))
    member, _ = factories.make_card_member(3_000, campaign)
    at = dt.datetime(2026, 9, 30, 20, 0, tzinfo=JST)
    payment = factories.make_payment_at(store.registers[0], member, 1_000, at)

    with pytest.raises(cancellation.CancellationRefused) as refused:
        cancellation.cancel_payment(payment, actor=actor, at=dt.datetime(2026, 10, 1, 9, 0, tzinfo=JST))
    db.session.rollback()
    assert "キャンペーン期間（2026年9月30日まで）が終了したため" in str(refused.value)
    db.session.refresh(payment)
    assert payment.status == PaymentStatus.COMPLETED
    # On the campaign's last day it still can be cancelled.
    assert cancellation.cancel_payment(payment, actor=actor, at=dt.datetime(2026, 9, 30, 23, 59, tzinfo=JST)).cancelled_now


def test_payment_from_several_campaigns_can_be_cancelled_until_the_first_of_them_ends(shop):
    store, actor, _, _ = shop
    short = factories.make_campaign(name="短期", starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 6, 30))
    long = factories.make_campaign(name="通年", starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))
    member, _ = factories.make_card_member(500, short)
    ledger.grant(member.id, long, 1_000)
    db.session.commit()
    payment = factories.make_payment_at(store.registers[0], member, 1_200, dt.datetime(2026, 5, 1, 12, tzinfo=JST))
    assert payment.campaign_id is None
    assert cancellation.cancellation_deadline(payment) == dt.date(2026, 6, 30)
    assert cancellation.refusal_reason(payment, dt.datetime(2026, 7, 1, 9, tzinfo=JST))
    outcome = cancellation.cancel_payment(payment, actor=actor, at=dt.datetime(2026, 6, 1, 9, tzinfo=JST))
    db.session.commit()
    assert outcome.cancelled_now
    assert ledger.member_account(member.id, short.id).balance == 500
    assert ledger.member_account(member.id, long.id).balance == 1_000


def test_cancel_after_the_period_closed_becomes_an_adjustment_for_the_next_settlement(shop):
    store, actor, member, _ = shop
    paid_at = utcnow() - dt.timedelta(days=40)
    payment = factories.make_payment_at(store.registers[0], member, 2_000, paid_at)
    own = db.session.get(SettlementPeriod, payment.period_id)
    own.status = PeriodStatus.CLOSED
    own.closed_at = utcnow()
    db.session.commit()

    outcome = cancellation.cancel_payment(payment, actor=actor)
    db.session.commit()

    assert outcome.cancelled_now
    adjustment = db.session.scalar(select(SettlementAdjustment).where(SettlementAdjustment.payment_id == payment.id))
    assert adjustment.amount == -2_000 and adjustment.business_id == store.business_id
    assert adjustment.applied_settlement_id is None  # the next settlement picks it up
    assert payment.number in adjustment.reason
    assert payment.cancel_period_id == periods.period_id(jst_date(utcnow())) != payment.period_id
    assert ledger.member_balance(member.id) == 5_000
    assert own.status == PeriodStatus.CLOSED  # the closed period is not rewritten


def test_payment_of_an_earlier_day_needs_the_password_again(shop):
    store, _, member, _ = shop
    now = utcnow()
    today = factories.make_payment_at(store.registers[0], member, 100, now)
    yesterday = factories.make_payment_at(store.registers[0], member, 100, now - dt.timedelta(days=1))
    assert not cancellation.needs_password(today, now)
    assert cancellation.needs_password(yesterday, now)


def test_faq7_wrong_amount_is_found_cancelled_and_charged_again(shop):
    """FAQ 7: search by date-time, amount and member code, cancel, charge the right amount."""
    from iseca.money import usage
    from iseca.money.usage import UsageFilter

    store, actor, member, card = shop
    at = dt.datetime.combine(jst_date(utcnow()) - dt.timedelta(days=1), dt.time(12, 0), JST).astimezone(dt.UTC)
    factories.make_payment_at(store.registers[0], member, 300, at - dt.timedelta(minutes=30), card=card)
    wrong = factories.make_payment_at(store.registers[0], member, 1_800, at, card=card)  # should have been 1,080
    day = jst_date(at)
    found = usage.page_of(UsageFilter(own_store_id=store.id, date_from=day, date_to=day, member_code=member.code,
                                      amount_min=1_800, amount_max=1_800)).rows
    assert [r.id for r in found] == [wrong.id]
    assert found[0].created_at == at

    cancellation.cancel_payment(wrong, actor=actor)
    db.session.commit()
    payments.pay(member, store.registers[0], 1_080, PaymentMethod.STORE_SCAN, card=card, at=at + dt.timedelta(minutes=3))
    db.session.commit()

    assert ledger.member_balance(member.id) == 5_000 - 300 - 1_080
    assert ledger.store_account(store.id).balance == 300 + 1_080
    totals = usage.totals(UsageFilter(own_store_id=store.id, date_from=day, date_to=day))
    assert (totals.count, totals.payments_sum, totals.cancelled_sum, totals.net) == (3, 3_180, 1_800, 1_380)
    assert ledger.verify_books() == []


def test_a_campaign_can_limit_cancellation_to_the_payments_own_settlement_period(shop):
    """キャンペーン変更 「終了日まで取消を受け付ける」 off: a payment of 5 May (period
    1st–15th) can be cancelled until 15 May, not on the 16th, although the
    campaign runs on; the history list shows the same deadline."""
    from iseca.money import usage

    store, actor, _, _ = shop
    campaign = factories.make_campaign(starts_on=dt.date(2026, 4, 1), ends_on=dt.date(2026, 9, 30))
    campaign.cancellable_until_end = False
    member, _ = factories.make_card_member(3_000, campaign)
    payment = factories.make_payment_at(store.registers[0], member, 1_000, dt.datetime(2026, 5, 5, 12, tzinfo=JST))
    db.session.commit()
    assert cancellation.cancellation_deadline(payment) == dt.date(2026, 5, 15)
    row = db.session.execute(usage.rows_statement(usage.UsageFilter(own_store_id=store.id))).one()
    assert row.cancel_deadline == dt.date(2026, 5, 15)
    with pytest.raises(cancellation.CancellationRefused) as refused:
        cancellation.cancel_payment(payment, actor=actor, at=dt.datetime(2026, 5, 16, 9, tzinfo=JST))
    db.session.rollback()
    assert "決済した精算期間（2026年5月15日まで）のうちに限り取消できます" in str(refused.value)
    # The guide's rule back on: cancellable again until the campaign's last day.
    campaign.cancellable_until_end = True
    db.session.commit()
    assert cancellation.cancellation_deadline(payment) == dt.date(2026, 9, 30)
    assert cancellation.cancel_payment(payment, actor=actor, at=dt.datetime(2026, 5, 16, 9, tzinfo=JST)).cancelled_now


def test_a_period_bound_campaign_never_extends_cancellation_past_its_own_last_day(shop):
    store, actor, _, _ = shop
    campaign = factories.make_campaign(starts_on=dt.date(2026, 4, 1), ends_on=dt.date(2026, 5, 10))
    campaign.cancellable_until_end = False
    member, _ = factories.make_card_member(3_000, campaign)
    payment = factories.make_payment_at(store.registers[0], member, 1_000, dt.datetime(2026, 5, 5, 12, tzinfo=JST))
    db.session.commit()
    assert cancellation.cancellation_deadline(payment) == dt.date(2026, 5, 10)
    assert "キャンペーン期間（2026年5月10日まで）" in cancellation.refusal_reason(payment, dt.datetime(2026, 5, 11, tzinfo=JST))
