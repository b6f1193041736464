"""精算期間: the row of each 1st–15th and 16th–last day, made once
whoever needs it first, however many need it at the same moment."""
from __future__ import annotations

import datetime as dt
import secrets
import threading

import pytest
from sqlalchemy import create_engine, func, select, text

from iseca import create_app
from iseca.extensions import db
from iseca.models import (
    AccountKind,
    Payment,
    PaymentMethod,
    PaymentStatus,
    PeriodStatus,
    SettlementAdjustment,
    SettlementPeriod,
    utcnow,
)
from iseca.money import cancellation, payments
from iseca.timeutil import jst_date
from tests import factories
from tests.support.database import TEST_CONFIG


def _closed_period_payments(count: int):
    """`count` payments 40 days ago at different stores, by different
    members, then their period closed (a closed period takes no payment);
    [(payment id, actor id)]."""
    made = []
    for _ in range(count):
        store = factories.make_store()
        actor = factories.account_of(AccountKind.STORE, store.code)
        member, _ = factories.make_card_member(5_000)
        payment = factories.make_payment_at(store.registers[0], member, 1_000, utcnow() - dt.timedelta(days=40))
        made.append((payment, actor))
    for payment, _ in made:
        period = db.session.get(SettlementPeriod, payment.period_id)
        period.status = PeriodStatus.CLOSED
        period.closed_at = utcnow()
    db.session.commit()
    return [(payment.id, actor.id) for payment, actor in made]


def test_two_cancellations_at_once_after_the_close_make_the_next_period_once(app, databases, backend):
    """Two tills cancel payments of a closed period at the same moment, the
    period running now not yet made: both succeed, into one period row."""
    if backend != "postgresql":
        pytest.skip("two writers at once: PostgreSQL (SQLite lets one writer in at a time)")
    # Different stores and members: the two cancellations share no ledger row.
    cancelling = _closed_period_payments(2)
    today = jst_date(utcnow())
    assert db.session.scalar(select(SettlementPeriod).where(SettlementPeriod.ends_on >= today)) is None
    url = databases.url(backend)
    # Two tills: two apps on their own connections, made one after the other
    # (see test_settlement.py's two closings on why).
    apps = [create_app({**TEST_CONFIG, "TESTING": False, "SQLALCHEMY_DATABASE_URI": url}) for _ in range(2)]
    errors = []

    def cancel(other, payment_id, actor_id):
        from iseca.models import Account

        with other.app_context():
            try:
                cancellation.cancel_payment(db.session.get(Payment, payment_id), actor=db.session.get(Account, actor_id))
                db.session.commit()
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                db.session.remove()
                db.engine.dispose()

    # The barrier: the periods table taken in SHARE mode, which lets both
    # read it but neither insert into it, until both wait to insert; then
    # one rollback lets both go at the same moment, with the same view.
    engine = create_engine(url)
    barrier = engine.connect()
    barrier.execute(text("LOCK TABLE settlement_periods IN SHARE MODE"))
    threads = [threading.Thread(target=cancel, args=(other, *ids)) for other, ids in zip(apps, cancelling, strict=True)]
    try:
        for t in threads:
            t.start()
        waiting = 0
        while waiting < 2 and all(t.is_alive() for t in threads):
            barrier.execute(text("SELECT pg_stat_clear_snapshot()"))  # read anew on each round
            waiting = barrier.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")).scalar()
    finally:
        barrier.rollback()
        barrier.close()
        engine.dispose()
    for t in threads:
        t.join(60)
    assert waiting == 2, "the two cancellations did not both wait to make the period"
    assert errors == [], errors

    db.session.expire_all()
    running = db.session.scalars(select(SettlementPeriod).where(SettlementPeriod.ends_on >= today)).all()
    assert len(running) == 1 and running[0].starts_on <= today
    paid = [db.session.get(Payment, payment_id) for payment_id, _ in cancelling]
    assert [(p.status, p.cancel_period_id) for p in paid] == [(PaymentStatus.CANCELLED, running[0].id)] * 2
    assert db.session.scalar(select(func.count()).select_from(SettlementAdjustment)) == 2


def test_the_payments_of_a_new_period_share_its_one_row(app):
    """The first payment of a period makes its row; the next ones find it."""
    store = factories.make_store()
    actor = factories.account_of(AccountKind.STORE, store.code)
    member, card = factories.make_card_member(5_000)
    paid = []
    for n in range(3):
        # Three amounts: the same one again within minutes would be the duplicate guard's question.
        result = payments.pay_once(actor, secrets.token_urlsafe(24), member, store.registers[0], 100 + n,
                                   PaymentMethod.STORE_SCAN, card=card)
        db.session.commit()
        paid.append(db.session.get(Payment, result.payment_id))
    running = db.session.scalars(select(SettlementPeriod)).all()
    assert len(running) == 1 and running[0].starts_on <= jst_date(utcnow()) <= running[0].ends_on
    assert [p.period_id for p in paid] == [running[0].id] * 3
