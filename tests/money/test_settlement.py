"""精算: period boundaries, closing a period against an independent
computation, carry-overs, the ledger, and closing twice (also at once)."""
from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections import defaultdict

import pytest
from sqlalchemy import func, select

from iseca import create_app
from iseca.extensions import db
from iseca.models import (
    AccountKind,
    LedgerTransaction,
    PeriodStatus,
    Settlement,
    SettlementAdjustment,
    SettlementPeriod,
    SettlementStatus,
)
from iseca.money import cancellation, ledger, periods, settlement
from iseca.timeutil import JST
from tests import factories
from tests.support.database import TEST_CONFIG


def jst(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=JST)


@pytest.mark.parametrize("day, first, last", [
    (dt.date(2025, 3, 15), dt.date(2025, 3, 1), dt.date(2025, 3, 15)),
    (dt.date(2025, 3, 16), dt.date(2025, 3, 16), dt.date(2025, 3, 31)),
    (dt.date(2024, 2, 29), dt.date(2024, 2, 16), dt.date(2024, 2, 29)),
    (dt.date(2025, 2, 28), dt.date(2025, 2, 16), dt.date(2025, 2, 28)),
    (dt.date(2024, 4, 30), dt.date(2024, 4, 16), dt.date(2024, 4, 30)),
    (dt.date(2024, 12, 1), dt.date(2024, 12, 1), dt.date(2024, 12, 15)),
])
def test_periods_are_the_1st_to_15th_and_the_16th_to_the_last_day(day, first, last):
    assert periods.period_bounds(day) == (first, last)


@pytest.fixture
def shop(app):
    store = factories.make_store()
    member, card = factories.make_card_member(10_000_000)
    return store, member


@pytest.mark.parametrize("paid_at, starts_on", [
    (jst(2025, 3, 15, 23, 59, 59), dt.date(2025, 3, 1)),
    (jst(2025, 3, 16, 0, 0, 0), dt.date(2025, 3, 16)),
    (jst(2024, 2, 29, 23, 59, 59), dt.date(2024, 2, 16)),
    (jst(2024, 3, 1, 0, 0, 0), dt.date(2024, 3, 1)),
    (jst(2025, 2, 28, 23, 59, 59), dt.date(2025, 2, 16)),
    (jst(2025, 3, 1, 0, 0, 0), dt.date(2025, 3, 1)),
])
def test_a_payment_belongs_to_the_period_of_its_japan_time(shop, paid_at, starts_on):
    store, member = shop
    payment = factories.make_payment_at(store.registers[0], member, 100, paid_at)
    period = db.session.get(SettlementPeriod, payment.period_id)
    assert period.starts_on == starts_on
    assert periods.period_end(period) == jst(period.ends_on.year, period.ends_on.month, period.ends_on.day) + dt.timedelta(days=1)


def test_a_period_cannot_be_closed_before_it_ends(shop):
    store, member = shop
    payment = factories.make_payment_at(store.registers[0], member, 100, jst(2025, 3, 15, 23, 59, 59))
    period = db.session.get(SettlementPeriod, payment.period_id)
    with pytest.raises(settlement.SettlementError):
        settlement.close_period(period, at=jst(2025, 3, 16, 0, 5))  # within the grace time after midnight
    db.session.rollback()
    assert db.session.get(SettlementPeriod, payment.period_id).status == PeriodStatus.OPEN
    outcome = settlement.close_period(period, at=jst(2025, 3, 16, 0, 10))
    db.session.commit()
    assert outcome.closed_now and outcome.total == 100


# Three periods of spring 2024; each is closed at 01:00 JST after its last day.
P1 = (dt.date(2024, 4, 1), dt.date(2024, 4, 15))
P2 = (dt.date(2024, 4, 16), dt.date(2024, 4, 30))
P3 = (dt.date(2024, 5, 1), dt.date(2024, 5, 15))


def _moment(rng: random.Random, period, *, after: dt.datetime | None = None) -> dt.datetime:
    start = jst(period[0].year, period[0].month, period[0].day)
    end = jst(period[1].year, period[1].month, period[1].day) + dt.timedelta(days=1)
    if after is not None:
        start = max(start, after + dt.timedelta(seconds=1))
    return start + dt.timedelta(seconds=rng.randrange(int((end - start).total_seconds())))


def _closing_time(period) -> dt.datetime:
    return jst(period[1].year, period[1].month, period[1].day) + dt.timedelta(days=1, hours=1)


def _close(period, rate_permille=0):
    db.session.commit()
    row = db.session.scalar(select(SettlementPeriod).where(SettlementPeriod.starts_on == period[0]))
    outcome = settlement.close_period(row, at=_closing_time(period))
    db.session.commit()
    return outcome


def _settlements_of(period) -> dict[int, Settlement]:
    rows = db.session.scalars(
        select(Settlement).join(SettlementPeriod).where(SettlementPeriod.starts_on == period[0])
    )
    return {s.business_id: s for s in rows}


def test_each_settlement_equals_an_independent_computation_over_generated_activity(app, backend):
    rate = 25  # 2.5 %: fees need rounding
    app.config["SETTLEMENT_FEE_RATE_PERMILLE"] = rate
    rng = random.Random(20240401)
    businesses = [factories.make_business() for _ in range(4)]
    stores = [factories.make_store(businesses[0]), factories.make_store(businesses[0]),
              factories.make_store(businesses[1]), factories.make_store(businesses[2]),
              factories.make_store(businesses[3])]
    actors = {s.id: factories.account_of(AccountKind.STORE, s.code) for s in stores}
    member, _ = factories.make_card_member(50_000_000)

    # Plain-Python books: what each business is owed, built from the events alone.
    expected: dict[tuple, dict[int, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    pending: dict[int, int] = defaultdict(int)  # carried into the business's next settlement

    def pay(store, period, amount=None, at=None):
        amount = amount or rng.randrange(1, 30_000)
        payment = factories.make_payment_at(store.registers[0], member, amount, at or _moment(rng, period))
        expected[period][store.business_id]["payments"] += amount
        return payment

    def cancel(payment, at):
        cancellation.cancel_payment(payment, actor=actors[payment.store_id], at=at)
        db.session.commit()

    def book(period):
        """The settlement of every business for `period`, by hand."""
        result = {}
        for business in businesses:
            e = expected[period][business.id]
            carried_in = pending.pop(business.id, 0)
            if not e and not carried_in:
                continue
            net_sales = e["payments"] - e["cancellations"] + e["late_cancellations"]
            fee = max(net_sales, 0) * rate // 1000
            adjustments = e["late_cancellations"] + carried_in
            amount = e["payments"] - e["cancellations"] + adjustments - fee
            result[business.id] = (e["payments"], e["cancellations"], adjustments, fee, amount)
            if amount < 0:
                pending[business.id] += amount
        return result

    # Period 1: payments everywhere, a few cancelled while it is open.
    p1 = [pay(stores[i % 4], P1) for i in range(24)]
    big = pay(stores[4], P1, amount=50_000)  # business 4: all cancelled after the close
    for payment in rng.sample(p1, 5):
        at = _moment(rng, P1, after=payment.created_at.astimezone(JST))
        cancel(payment, at)
        expected[P1][payment.business_id]["cancellations"] += payment.amount
    want1 = book(P1)
    _close(P1)

    # Period 2: cancellations of period-1 payments (adjustments), own activity.
    late = [p for p in p1 if p.status.value == "completed"][:4] + [big]
    for payment in late:
        cancel(payment, _moment(rng, P2))
        expected[P2][payment.business_id]["late_cancellations"] -= payment.amount
    p2 = [pay(stores[i % 4], P2) for i in range(16)]
    for payment in p2[:3]:
        cancel(payment, _moment(rng, P2, after=payment.created_at.astimezone(JST)))
        expected[P2][payment.business_id]["cancellations"] += payment.amount
    # The transfer of business 2's period-1 settlement failed: carried over.
    failed = _settlements_of(P1)[businesses[1].id]
    assert settlement.mark_failed(failed, "口座解約済み", at=_moment(rng, P2))
    db.session.commit()
    pending[businesses[1].id] += failed.amount
    want2 = book(P2)
    _close(P2)

    # Period 3: business 4's negative result of period 2 is deducted.
    pay(stores[4], P3, amount=80_000)
    pay(stores[0], P3)
    want3 = book(P3)
    _close(P3)

    for period, want in ((P1, want1), (P2, want2), (P3, want3)):
        got = {
            b: (s.payments_total, s.cancellations_total, s.adjustments_total, s.fee, s.amount)
            for b, s in _settlements_of(period).items()
        }
        assert got == want, period
    assert want2[businesses[3].id][4] == -50_000  # negative: never transferred …
    assert _settlements_of(P2)[businesses[3].id].status == SettlementStatus.CARRIED
    assert want3[businesses[3].id][4] == 80_000 - 80_000 * rate // 1000 - 50_000  # … deducted next time
    carried = db.session.scalar(select(SettlementAdjustment).where(SettlementAdjustment.source_settlement_id == failed.id))
    assert carried.amount == failed.amount and "口座解約済み" in carried.reason
    assert carried.applied_settlement_id == _settlements_of(P2)[businesses[1].id].id
    assert all(s.fee_rate_permille == rate for s in _settlements_of(P3).values())
    # Every adjustment was applied exactly once; the negative one of P3 is none.
    assert db.session.scalar(select(func.count()).select_from(SettlementAdjustment)
                             .where(SettlementAdjustment.applied_settlement_id.is_(None))) == 0

    # The books balance; the stores' accounts hold nothing of closed periods,
    # and the settlement account holds what was settled.
    assert ledger.verify_books() == []
    for store in stores:
        assert ledger.store_account(store.id).balance == 0
    settled = sum(
        e["payments"] - e["cancellations"] + e["late_cancellations"]
        for per in expected.values() for e in per.values()
    )
    assert ledger.settlement_account().balance == settled


def _p1_with_activity():
    businesses = [factories.make_business() for _ in range(3)]
    stores = [factories.make_store(b) for b in businesses]
    member, _ = factories.make_card_member(1_000_000)
    for i, store in enumerate(stores):
        factories.make_payment_at(store.registers[0], member, 1_000 * (i + 1), jst(2024, 4, 10, 12))
    return stores


def _counts():
    return (
        db.session.scalar(select(func.count()).select_from(Settlement)),
        db.session.scalar(select(func.count()).select_from(LedgerTransaction)),
        ledger.settlement_account().balance,
    )


def test_closing_twice_changes_nothing_more(app):
    _p1_with_activity()
    first = settlement.close_ended_periods(at=_closing_time(P1))
    after_first = _counts()
    second = settlement.close_ended_periods(at=_closing_time(P1) + dt.timedelta(hours=1))
    assert [o.closed_now for o in first] == [True] and first[0].settlements == 3 and first[0].total == 6_000
    assert [o.closed_now for o in second] == []
    row = db.session.scalar(select(SettlementPeriod).where(SettlementPeriod.starts_on == P1[0]))
    assert settlement.close_period(row, at=_closing_time(P1)).closed_now is False
    db.session.commit()
    assert _counts() == after_first == (3, after_first[1], 6_000)
    assert ledger.verify_books() == []


def test_two_closings_at_once_close_the_period_once(app, databases, backend):
    _p1_with_activity()
    db.session.commit()
    # Two cron runs: two processes' worth of apps on their own connections.
    url = databases.url(backend)
    barrier = threading.Barrier(2)
    results, errors = [], []
    # Made here, one after the other: building an app compiles its URL rules,
    # and CPython 3.11 can fail compiling in two threads at once ("AST
    # constructor recursion depth mismatch"); two cron runs are two processes.
    apps = [create_app({**TEST_CONFIG, "TESTING": False, "SQLALCHEMY_DATABASE_URI": url}) for _ in range(2)]

    def run(other):
        with other.app_context():
            try:
                barrier.wait()
                results.append([o.closed_now for o in settlement.close_ended_periods(at=_closing_time(P1))])
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                db.session.remove()
                db.engine.dispose()

    threads = [threading.Thread(target=run, args=(other,)) for other in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and len(results) == 2, (errors, results)
    assert sorted(sum(results, [])) in ([True], [False, True]), results
    db.session.expire_all()
    assert _counts()[0] == 3 and _counts()[2] == 6_000
    assert ledger.verify_books() == []


def test_settlement_close_command_closes_ended_periods_and_checks_the_books(app, runner):
    _p1_with_activity()
    db.session.commit()
    result = runner.invoke(args=["settlement", "close"])
    assert result.exit_code == 0, result.output
    assert "Closed 2024-04-01–2024-04-15: 3 settlements, 6000 yen to transfer." in result.output
    again = runner.invoke(args=["settlement", "close"])
    assert again.exit_code == 0 and "No period to close." in again.output
    assert runner.invoke(args=["payments", "verify-books"]).output.strip() == "The books balance."


CANCELLING_THREADS = 4


def test_closing_a_period_while_its_payments_are_cancelled_never_deadlocks(app, databases, backend):
    """`settlement close` and 取消 of the period's payments at the same time
    (PostgreSQL's row locks; SQLite has one writer). The closing is held at
    the period's row until a cancellation from every thread waits too, then
    both go, and the cancellations keep coming: none fails, the closing
    closes, and every cancelled payment is counted once, in the period or as
    an adjustment, with the books balanced."""
    if backend != "postgresql":
        pytest.skip("row locks and deadlocks: PostgreSQL")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from iseca.models import Account, LedgerAccount, LedgerAccountKind, Payment, PaymentStatus

    campaign = factories.make_campaign()
    stores = [factories.make_store() for _ in range(3)]
    members = [factories.make_card_member(100_000, campaign)[0] for _ in range(CANCELLING_THREADS)]
    actors = {s.id: factories.account_of(AccountKind.STORE, s.code).id for s in stores}
    paid = []  # (payment id, store id, amount)
    for i in range(CANCELLING_THREADS * 8):
        store = stores[i % len(stores)]
        payment = factories.make_payment_at(store.registers[0], members[i % CANCELLING_THREADS], 100 + i,
                                            jst(2024, 4, 1 + i % 15, 12))
        paid.append((payment.id, store.id, payment.amount))
    period_id = payment.period_id
    for payment_id, store_id, _ in paid[:2]:  # cancelled while the period runs: counted in it
        cancellation.cancel_payment(db.session.get(Payment, payment_id), actor=db.session.get(Account, actors[store_id]))
    db.session.commit()
    paid_later = paid[2:]

    url = databases.url(backend)
    name = make_url(url).database
    apps = [create_app({**TEST_CONFIG, "TESTING": False, "SQLALCHEMY_DATABASE_URI": url})
            for _ in range(CANCELLING_THREADS + 1)]
    errors, refusals, closed = [], [], []

    def close(other):
        with other.app_context():
            try:
                closed.extend(o.closed_now for o in settlement.close_ended_periods(at=_closing_time(P1)))
            except Exception as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()
                db.engine.dispose()

    def cancel(other, index):
        with other.app_context():
            try:
                for payment_id, store_id, _ in paid_later[index::CANCELLING_THREADS]:
                    payment = db.session.get(Payment, payment_id)
                    try:
                        cancellation.cancel_payment(payment, actor=db.session.get(Account, actors[store_id]))
                    except cancellation.CancellationRefused as refused:
                        refusals.append(str(refused))
                        db.session.rollback()
                    else:
                        db.session.commit()
            except Exception as exc:  # reported below
                errors.append(exc)
                db.session.rollback()
            finally:
                db.session.remove()
                db.engine.dispose()

    engine = create_engine(url)
    holder, watcher = engine.connect(), engine.connect()

    def waiting() -> int:
        watcher.execute(text("SELECT pg_stat_clear_snapshot()"))
        return watcher.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = :name AND wait_event_type = 'Lock'"), {"name": name}
        ).scalar()

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 60
        while waiting() < count:
            assert time.monotonic() < deadline, f"not {count} waiting on locks"
            assert not errors, errors
            time.sleep(0.02)

    holder.execute(text("SELECT id FROM settlement_periods WHERE id = :id FOR UPDATE"), {"id": period_id})
    threads = [threading.Thread(target=close, args=(apps[0],))]
    threads[0].start()
    try:
        wait_for(1)  # the closing waits for the period's row
        threads += [threading.Thread(target=cancel, args=(other, i)) for i, other in enumerate(apps[1:])]
        for t in threads[1:]:
            t.start()
        wait_for(1 + CANCELLING_THREADS)  # and one cancellation of each thread behind it
    finally:
        holder.rollback()  # all go: the closing first
        holder.close()
        watcher.close()
        engine.dispose()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    assert errors == [], errors
    assert refusals == []  # the campaign runs: every cancellation is allowed
    assert closed == [True]

    db.session.expire_all()
    assert db.session.get(SettlementPeriod, period_id).status == PeriodStatus.CLOSED
    payments = {p.id: p for p in db.session.scalars(select(Payment).where(Payment.id.in_([p for p, _, _ in paid])))}
    assert {p.status for p in payments.values()} == {PaymentStatus.CANCELLED}
    adjusted = dict(db.session.execute(
        select(SettlementAdjustment.payment_id, SettlementAdjustment.amount).where(SettlementAdjustment.payment_id.is_not(None))
    ).all())
    in_period = {i for i, p in payments.items() if p.cancel_period_id == period_id}
    assert in_period.isdisjoint(adjusted) and in_period | set(adjusted) == set(payments)
    assert all(adjusted[i] == -payments[i].amount for i in adjusted)
    settled = db.session.execute(
        select(func.sum(Settlement.payments_total), func.sum(Settlement.cancellations_total))
        .where(Settlement.period_id == period_id)
    ).one()
    assert tuple(settled) == (sum(a for _, _, a in paid), sum(payments[i].amount for i in in_period))
    # What the closing did not take from the stores, the adjustments will.
    store_balances = db.session.scalar(
        select(func.sum(LedgerAccount.balance)).where(LedgerAccount.kind == LedgerAccountKind.STORE))
    assert store_balances == sum(adjusted.values())
    assert ledger.verify_books() == []
    print(f"checked: closing and {len(paid)} cancellations at once: {len(in_period)} counted in the period, "
          f"{len(adjusted)} as adjustments, no deadlock, books balanced")
