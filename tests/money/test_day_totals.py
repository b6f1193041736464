"""The per-day, per-register totals that 利用状況一覧 and the 日計 show
always equal what the payments themselves add up to: after payments and
cancellations across day boundaries, after the migration fills them from
existing payments, and with many tills paying into one register at once."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import delete, func, select, update

from iseca.extensions import db
from iseca.models import AccountKind, Payment, PaymentMethod, PaymentStatus, RegisterDayTotal
from iseca.money import cancellation, day_totals, ledger, usage
from iseca.money.usage import UsageFilter
from iseca.timeutil import JST, today_jst
from tests import factories, usage_data

REVISION_BEFORE = "b3c1d2e4f5a6"


@pytest.fixture
def data(app):
    return usage_data.build(count=120)


def _raw_totals(refs) -> tuple[int, int, int, int]:
    cancelled = [r for r in refs if r.status == PaymentStatus.CANCELLED]
    return len(refs), sum(r.amount for r in refs), len(cancelled), sum(r.amount for r in cancelled)


def test_kept_totals_equal_the_payments_after_payments_and_cancellations(data):
    assert day_totals.differences() == []
    everything = UsageFilter(business_id=data.business.id)
    t = usage.totals(everything)
    assert (t.count, t.payments_sum, t.cancelled_count, t.cancelled_sum) == _raw_totals(
        data.expected(business_id=data.business.id))
    for status in PaymentStatus:
        for method in PaymentMethod:
            f = everything.with_(status=status, method=method, register_id=data.registers[1].id)
            t = usage.totals(f)
            expected = data.expected(business_id=data.business.id, status=status, method=method,
                                     register_id=data.registers[1].id)
            assert (t.count, t.payments_sum, t.cancelled_count, t.cancelled_sum) == _raw_totals(expected)


def test_a_cancellation_made_on_a_later_day_counts_on_both_days(app):
    store = factories.make_store()
    member, _ = factories.make_card_member(10_000)
    paid_at = dt.datetime(2026, 3, 10, 23, 59, 59, tzinfo=JST)
    payment = factories.make_payment_at(store.registers[0], member, 1_200, paid_at)
    actor = factories.account_of(AccountKind.STORE, store.code)
    cancellation.cancel_payment(payment, actor=actor, at=paid_at + dt.timedelta(seconds=2))
    db.session.commit()
    assert day_totals.differences() == []

    paid_day = usage.totals(UsageFilter(own_store_id=store.id, date_from=paid_at.date(), date_to=paid_at.date()))
    assert (paid_day.count, paid_day.cancelled_count, paid_day.net) == (1, 1, 0)
    report = usage.daily_totals(UsageFilter(own_store_id=store.id, date_from=paid_at.date(),
                                            date_to=paid_at.date() + dt.timedelta(days=1)))
    assert [(line.day, line.payment_count, line.payment_sum, line.cancel_count, line.cancel_sum) for line in report.lines] == [
        (dt.date(2026, 3, 11), 0, 0, 1, 1_200),
        (dt.date(2026, 3, 10), 1, 1_200, 0, 0),
    ]
    # Cancelling again moves nothing and counts nothing.
    cancellation.cancel_payment(payment, actor=actor)
    db.session.commit()
    assert day_totals.differences() == []


def test_verify_books_finds_totals_that_disagree_and_rebuild_mends_them(app, runner):
    store = factories.make_store()
    member, _ = factories.make_card_member(10_000)
    factories.make_payment_at(store.registers[0], member, 500, dt.datetime.now(dt.UTC))
    db.session.commit()
    result = runner.invoke(args=["payments", "verify-books"])
    assert result.exit_code == 0 and "The books balance." in result.output

    db.session.execute(update(RegisterDayTotal).values(payment_sum=RegisterDayTotal.payment_sum + 1))
    db.session.commit()
    result = runner.invoke(args=["payments", "verify-books"])
    assert result.exit_code != 0 and "register_day_totals" in result.output and "(1, 501, 0, 0, 0, 0)" in result.output

    result = runner.invoke(args=["payments", "rebuild-day-totals"])
    assert result.exit_code == 0 and "Wrote 1 day totals" in result.output
    assert runner.invoke(args=["payments", "verify-books"]).exit_code == 0


def test_the_migration_fills_the_totals_from_the_payments_made_before_it(data):
    business_id = data.business.id
    expected = usage.daily_totals(UsageFilter(business_id=business_id))
    db.session.commit()
    db.session.remove()
    downgrade(revision=REVISION_BEFORE)
    upgrade()
    assert db.session.scalar(select(func.count()).select_from(RegisterDayTotal)) > 0
    assert day_totals.differences() == []
    again = usage.daily_totals(UsageFilter(business_id=business_id))
    assert [(line.day, line.register_id, line.payment_count, line.payment_sum, line.cancel_count, line.cancel_sum)
            for line in again.lines] == [
        (line.day, line.register_id, line.payment_count, line.payment_sum, line.cancel_count, line.cancel_sum) for line in expected.lines]


def test_rebuild_writes_the_same_totals_the_payments_kept(data):
    kept = sorted(tuple(r) for r in db.session.execute(select(RegisterDayTotal.__table__)))
    db.session.execute(delete(RegisterDayTotal))
    day_totals.rebuild()
    db.session.commit()
    assert sorted(tuple(r) for r in db.session.execute(select(RegisterDayTotal.__table__))) == kept


def test_many_tills_paying_into_one_register_on_one_day_all_count(app, backend):
    if backend != "postgresql":
        pytest.skip("SQLite runs writers one at a time; concurrent upserts matter on PostgreSQL")
    from iseca.money import payments as payment_rules

    store = factories.make_store()
    members = [factories.make_card_member(100_000) for _ in range(6)]
    actor = factories.account_of(AccountKind.STORE, store.code)
    ids = [(m.id, c.id) for m, c in members]
    register_id, actor_id = store.registers[0].id, actor.id
    db.session.commit()
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(ids))
    per_thread = 15

    def till(index: int):
        try:
            with app.app_context():
                from iseca.models import Account, Card, Member, Register

                member_id, card_id = ids[index]
                barrier.wait()
                for n in range(per_thread):
                    member, card = db.session.get(Member, member_id), db.session.get(Card, card_id)
                    payment = payment_rules.pay(member, db.session.get(Register, register_id), 100 + n,
                                                PaymentMethod.STORE_SCAN, card=card)
                    db.session.commit()
                    if n % 5 == 0:
                        cancellation.cancel_payment(db.session.get(Payment, payment.id),
                                                    actor=db.session.get(Account, actor_id))
                        db.session.commit()
                db.session.remove()
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=till, args=(i,)) for i in range(len(ids))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[0]
    db.session.commit()
    assert day_totals.differences() == []
    assert ledger.verify_books() == []
    today = usage.totals(UsageFilter(own_store_id=store.id, date_from=today_jst(), date_to=today_jst()))
    assert today.count == len(ids) * per_thread
    assert today.payments_sum == len(ids) * sum(100 + n for n in range(per_thread))
    assert today.cancelled_count == len(ids) * 3
    report = usage.daily_totals(UsageFilter(own_store_id=store.id))
    assert report.totals.payment_count == len(ids) * per_thread and report.totals.cancel_count == len(ids) * 3


@pytest.mark.parametrize("conditions", [
    dict(status=PaymentStatus.CANCELLED),
    dict(status=PaymentStatus.COMPLETED, method=PaymentMethod.CUSTOMER_SCAN),
    dict(date_from=usage_data.FIRST_DAY + dt.timedelta(days=2), date_to=usage_data.FIRST_DAY + dt.timedelta(days=8)),
    dict(amount_min=500),  # answered from the payments themselves
])
def test_every_page_of_a_filter_shows_the_next_rows_newest_first(data, conditions):
    """Deep pages skip whole days by their totals: each page still starts
    where the one before ended, whatever the filter."""
    f = UsageFilter(business_id=data.business.id, **conditions)
    expected = [r.id for r in data.expected(business_id=data.business.id, **conditions)]
    first = usage.page_of(f, page=1, per_page=7)
    assert first.totals.count == len(expected) and first.pages == -(-len(expected) // 7)
    seen = []
    for n in range(1, first.pages + 1):
        page = usage.page_of(f, page=n, per_page=7)
        assert page.first_index == (n - 1) * 7 + 1
        seen += [r.id for r in page.rows]
    assert seen == expected


def test_store_day_counts_a_stores_payments_and_cancellations_of_that_day_per_register(app):
    """今日の決済 at the till: the day's payments (one since cancelled
    included), the 取消 made that day, per register, other days and other
    stores left out; a cancellation of yesterday's payment counts today."""
    store = factories.make_store(registers=2)
    other = factories.make_store()
    member, _ = factories.make_card_member(50_000)
    front, back = store.registers
    actor = factories.account_of(AccountKind.STORE, store.code)
    day = dt.date(2026, 3, 10)
    at = dt.datetime(2026, 3, 10, 0, 0, 5, tzinfo=JST)  # 00:00:05 JST: still 3/9 in UTC
    yesterday = factories.make_payment_at(front, member, 900, at - dt.timedelta(minutes=1))
    first = factories.make_payment_at(front, member, 1_000, at)
    factories.make_payment_at(front, member, 250, at + dt.timedelta(hours=23, minutes=59))
    factories.make_payment_at(back, member, 3_000, at + dt.timedelta(hours=2))
    factories.make_payment_at(other.registers[0], member, 7_000, at)
    factories.make_payment_at(front, member, 4_000, at + dt.timedelta(days=1))
    cancellation.cancel_payment(first, actor=actor, at=at + dt.timedelta(minutes=5))
    cancellation.cancel_payment(yesterday, actor=actor, at=at + dt.timedelta(minutes=6))
    db.session.commit()

    figures = day_totals.store_day(store.id, day)
    assert figures.day == day
    assert figures.total == day_totals.DayFigures(payment_count=3, payment_sum=4_250, cancel_count=2, cancel_sum=1_900)
    assert figures.total.net == 2_350
    assert figures.registers == {
        front.id: day_totals.DayFigures(payment_count=2, payment_sum=1_250, cancel_count=2, cancel_sum=1_900),
        back.id: day_totals.DayFigures(payment_count=1, payment_sum=3_000),
    }
    # The same figures as the 日計 of that day.
    report = usage.daily_totals(UsageFilter(own_store_id=store.id, date_from=day, date_to=day))
    assert (report.totals.payment_count, report.totals.payment_sum, report.totals.cancel_count,
            report.totals.cancel_sum) == (3, 4_250, 2, 1_900)


def test_store_day_of_a_store_without_payments_is_zero(app):
    store = factories.make_store()
    figures = day_totals.store_day(store.id, today_jst())
    assert figures.total == day_totals.DayFigures() and figures.total.net == 0 and figures.registers == {}
