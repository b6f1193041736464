"""`flask payments …` commands."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select, update

from iseca.extensions import db
from iseca.models import IdempotencyKey, utcnow
from tests import factories


def test_prune_keeps_recent_keys_and_deletes_old_ones(app, runner):
    account = factories.make_staff()
    db.session.add_all([
        IdempotencyKey(account_id=account.id, key="old" * 8, request_hash="x", created_at=utcnow() - dt.timedelta(days=40)),
        IdempotencyKey(account_id=account.id, key="new" * 8, request_hash="x", created_at=utcnow() - dt.timedelta(hours=2)),
    ])
    db.session.commit()
    result = runner.invoke(args=["payments", "prune-keys", "--days", "30"])
    assert result.exit_code == 0 and "Deleted 1" in result.output
    assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1
    assert runner.invoke(args=["payments", "prune-keys", "--days", "0"]).exit_code != 0


def test_verify_books_says_when_they_balance_and_when_not(app, runner):
    member, card = factories.make_card_member(1_000)
    result = runner.invoke(args=["payments", "verify-books"])
    assert result.exit_code == 0 and "balance" in result.output
    from iseca.models import LedgerAccount
    db.session.execute(update(LedgerAccount).where(LedgerAccount.member_id == member.id).values(balance=999))
    db.session.commit()
    result = runner.invoke(args=["payments", "verify-books"])
    assert result.exit_code != 0 and "!= entries" in result.output


PAYING_THREADS = 6
VERIFICATIONS = 24


def test_verify_books_reads_one_moment_while_tills_pay(app, runner, databases, backend):
    """`payments verify-books` and the check after `settlement close` while
    tills pay (PostgreSQL: READ COMMITTED gives every statement its own
    moment): no run reports a difference the books do not have; a real one
    (a balance changed around the ledger) is still reported, under load too."""
    if backend != "postgresql":
        pytest.skip("statements seeing different moments: PostgreSQL (SQLite's transaction is one snapshot)")
    from iseca import create_app
    from iseca.models import LedgerAccount, LedgerAccountKind, Member, PaymentMethod, Register
    from iseca.money import payments
    from tests.support.database import TEST_CONFIG

    campaign = factories.make_campaign()
    stores = [factories.make_store() for _ in range(2)]
    member_ids = [factories.make_card_member(1_000_000, campaign)[0].id for _ in range(PAYING_THREADS)]
    register_ids = [s.registers[0].id for s in stores]
    db.session.commit()
    url = databases.url(backend)
    apps = [create_app({**TEST_CONFIG, "TESTING": False, "SQLALCHEMY_DATABASE_URI": url}) for _ in range(PAYING_THREADS)]
    stop, started = threading.Event(), threading.Barrier(PAYING_THREADS + 1)
    paid, errors = [], []

    def till(other, index):
        with other.app_context():
            try:
                member = db.session.get(Member, member_ids[index])
                register = db.session.get(Register, register_ids[index % len(register_ids)])
                started.wait()
                while not stop.is_set():
                    payments.pay(member, register, 5, PaymentMethod.STORE_SCAN)
                    db.session.commit()
                    paid.append(index)
            except Exception as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()
                db.engine.dispose()

    threads = [threading.Thread(target=till, args=(other, i)) for i, other in enumerate(apps)]
    for t in threads:
        t.start()
    outputs, overlapped = [], 0
    try:
        started.wait()
        for n in range(VERIFICATIONS):
            before = len(paid)
            command = ["payments", "verify-books"] if n % 3 else ["settlement", "close"]
            result = runner.invoke(args=command)
            overlapped += len(paid) > before
            outputs.append((command[0], result.exit_code, result.output))
        # A real difference, made while the tills still pay: reported.
        store_account_id = db.session.scalar(select(LedgerAccount.id).where(
            LedgerAccount.kind == LedgerAccountKind.STORE, LedgerAccount.store_id == stores[0].id))
        assert store_account_id is not None  # made by the store's first payment
        db.session.execute(update(LedgerAccount).where(LedgerAccount.id == store_account_id)
                           .values(balance=LedgerAccount.balance + 5))
        db.session.commit()
        broken = runner.invoke(args=["payments", "verify-books"])
        broken_close = runner.invoke(args=["settlement", "close"])
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert errors == [], errors
    assert [o for o in outputs if o[1] != 0] == []
    assert overlapped > VERIFICATIONS // 2, f"payments committed during only {overlapped} runs"
    assert broken.exit_code == 1 and f"account {store_account_id} balance " in broken.output, broken.output
    assert "problems in the books" in broken.output
    assert broken_close.exit_code == 1 and f"account {store_account_id} balance " in broken_close.output
    print(f"checked: {VERIFICATIONS} verifications beside {len(paid)} payments ({overlapped} runs saw payments "
          f"committed meanwhile): no false difference; a changed balance reported")
