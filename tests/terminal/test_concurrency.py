"""Many tills charging a few cards at once, over real HTTP: balances never
go negative, the books balance, every accepted payment is one ledger
transaction, and retries with the same key charge once."""
from __future__ import annotations

import random
import secrets
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from iseca.extensions import db
from iseca.models import (
    LedgerAccount,
    LedgerAccountKind,
    LedgerEntry,
    LedgerTransaction,
    LedgerTransactionKind,
    Payment,
)
from iseca.money import ledger
from tests import factories
from tests.httpclient import Till

THREADS = 8
PAYMENTS_PER_THREAD = 12
CARD_BALANCES = [3_000, 5_000, 2_000]


def _payer_reference(till: Till, card_number: str, csrf: str) -> tuple[str, str]:
    status, headers, _ = till.post("/terminal/pay", {"csrf_token": csrf, "code": card_number})
    assert status == 303, status
    query = parse_qs(urlsplit(headers["Location"]).query)
    return query["payer"][0], query["register"][0]


def test_parallel_tills_never_overspend_and_books_balance(app, server):
    # Random cards and amounts repeat within seconds: here they are meant
    # (the duplicate guard's question is tested in tests/money/test_duplicates.py).
    app.config["DUPLICATE_PAYMENT_WINDOW_SECONDS"] = 0
    campaign = factories.make_campaign()
    stores = [factories.make_store() for _ in range(2)]
    cards = [factories.make_card_member(balance, campaign)[1] for balance in CARD_BALANCES]
    card_numbers = [c.number for c in cards]
    store_codes = [s.code for s in stores]
    issued = sum(CARD_BALANCES)

    results: list[tuple[int, int, str]] = []  # (status, amount, location)
    retries: list[tuple[str, str]] = []  # (first location, replayed location)
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def till_worker(index: int):
        try:
            rng = random.Random(index)
            till = Till(server.url)
            assert till.login("terminal", store_codes[index % len(store_codes)], factories.PASSWORD) == 303
            csrf = till.csrf("/terminal/pay")
            refs = {n: _payer_reference(till, n, csrf) for n in card_numbers}
            barrier.wait()
            for i in range(PAYMENTS_PER_THREAD):
                number = rng.choice(card_numbers)
                reference, register = refs[number]
                amount = rng.choice([100, 250, 480, 700, 1_000])
                key = secrets.token_urlsafe(24)
                form = {"csrf_token": csrf, "payer": reference, "register": register, "amount": str(amount), "key": key}
                status, headers, text = till.post("/terminal/pay/charge", form)
                assert status in (303, 422), (status, text[:500])
                location = headers.get("Location", "")
                with lock:
                    results.append((status, amount, location))
                if status == 303 and i % 4 == 0:
                    # The network dropped the answer: the till sends the same request again.
                    again, again_headers, _ = till.post("/terminal/pay/charge", form)
                    assert again == 303
                    with lock:
                        retries.append((location, again_headers["Location"]))
                if status == 422:
                    assert "残高が不足しています" in text
            till.close()
        except BaseException as error:  # noqa: BLE001 - reported below
            with lock:
                errors.append(error)

    threads = [threading.Thread(target=till_worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors[0]

    db.session.commit()  # end the old snapshot: read what the server wrote
    accepted = [r for r in results if r[0] == 303]
    refused = [r for r in results if r[0] == 422]
    assert accepted and refused, "the run must both charge and refuse (balances are limited)"

    payments = list(db.session.scalars(select(Payment)))
    # Every accepted request made exactly one payment; retries made none.
    assert len(payments) == len(accepted)
    assert sum(p.amount for p in payments) == sum(a for _, a, _ in accepted)
    for first, replay in retries:
        assert urlsplit(first).path == urlsplit(replay).path

    # No member balance below zero; the books balance; sums agree.
    assert ledger.verify_books() == []
    member_total = db.session.scalar(
        select(func.coalesce(func.sum(LedgerAccount.balance), 0)).where(LedgerAccount.kind == LedgerAccountKind.MEMBER))
    negative = db.session.scalar(
        select(func.count()).select_from(LedgerAccount).where(LedgerAccount.kind == LedgerAccountKind.MEMBER, LedgerAccount.balance < 0))
    assert negative == 0
    paid = sum(p.amount for p in payments)
    assert member_total == issued - paid
    store_total = db.session.scalar(
        select(func.coalesce(func.sum(LedgerAccount.balance), 0)).where(LedgerAccount.kind == LedgerAccountKind.STORE))
    assert store_total == paid

    # One ledger transaction per payment, and no payment transaction without a payment.
    txn_ids = [p.ledger_transaction_id for p in payments]
    assert len(set(txn_ids)) == len(payments) and None not in txn_ids
    payment_txns = db.session.scalar(
        select(func.count()).select_from(LedgerTransaction).where(LedgerTransaction.kind == LedgerTransactionKind.PAYMENT))
    assert payment_txns == len(payments)
    for p in payments:
        entries = list(db.session.scalars(select(LedgerEntry).where(LedgerEntry.transaction_id == p.ledger_transaction_id)))
        assert sum(e.amount for e in entries) == 0
        assert sum(e.amount for e in entries if e.amount > 0) == p.amount


def test_same_key_sent_by_many_tills_at_once_charges_once(app, server):
    store = factories.make_store()
    member, card = factories.make_card_member(10_000)
    till = Till(server.url)
    assert till.login("terminal", store.code, factories.PASSWORD) == 303
    csrf = till.csrf("/terminal/pay")
    reference, register = _payer_reference(till, card.number, csrf)
    form = {"csrf_token": csrf, "payer": reference, "register": register, "amount": "1200", "key": secrets.token_urlsafe(24)}
    cookies = dict(till.cookies)
    statuses: list[tuple[int, str]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def send():
        copy = Till(server.url)
        copy.cookies = dict(cookies)
        barrier.wait()
        status, headers, _ = copy.post("/terminal/pay/charge", form)
        with lock:
            statuses.append((status, headers.get("Location", "")))
        copy.close()

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(statuses) == 6
    assert all(s in (303, 409) for s, _ in statuses), statuses
    locations = {urlsplit(loc).path for s, loc in statuses if s == 303}
    assert len(locations) == 1
    db.session.commit()  # end the old snapshot: read what the server wrote
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
    assert ledger.member_balance(member.id) == 10_000 - 1_200


def test_repeat_while_the_first_is_still_running_gets_409_then_goes_through(app, server, backend):
    if backend != "postgresql":
        pytest.skip("SQLite runs writing requests one at a time: a repeat waits for the first and replays it")
    from sqlalchemy import create_engine, insert

    from iseca.models import AccountKind, IdempotencyKey, utcnow

    app.config["IDEMPOTENCY_WAIT_SECONDS"] = 0.5
    store = factories.make_store()
    member, card = factories.make_card_member(5_000)
    account_id = factories.account_of(AccountKind.STORE, store.code).id
    till = Till(server.url)
    assert till.login("terminal", store.code, factories.PASSWORD) == 303
    csrf = till.csrf("/terminal/pay")
    reference, register = _payer_reference(till, card.number, csrf)
    key = secrets.token_urlsafe(24)
    form = {"csrf_token": csrf, "payer": reference, "register": register, "amount": "1000", "key": key}
    engine = create_engine(db.engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        first = conn.begin()  # the first request, still running: its key is not committed yet
        conn.execute(insert(IdempotencyKey).values(account_id=account_id, key=key, request_hash="x", created_at=utcnow()))
        status, _, html = till.post("/terminal/pay/charge", form)
        assert status == 409 and "処理中" in html and "店舗利用履歴" in html
        first.rollback()  # it failed: nothing was charged
    engine.dispose()
    status, _, _ = till.post("/terminal/pay/charge", form)
    assert status == 303
    db.session.commit()
    assert ledger.member_balance(member.id) == 4_000


def test_payments_and_cancellations_crossing_the_same_accounts_do_not_deadlock(app, backend):
    if backend != "postgresql":
        pytest.skip("SQLite runs writers one at a time; row-lock order matters on PostgreSQL")
    from iseca.models import LedgerTransactionKind, PaymentMethod
    from iseca.money import payments as payment_rules

    store = factories.make_store()
    members = [factories.make_card_member(50_000) for _ in range(2)]
    ids = [(m.id, c.id) for m, c in members]
    register_id = store.registers[0].id
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker(index: int):
        try:
            with app.app_context():
                from iseca.models import Card, Member, Register

                member_id, card_id = ids[index % 2]
                barrier.wait()
                for _ in range(15):
                    member, card = db.session.get(Member, member_id), db.session.get(Card, card_id)
                    payment = payment_rules.pay(member, db.session.get(Register, register_id), 100,
                                                PaymentMethod.STORE_SCAN, card=card)
                    txn_id = payment.ledger_transaction_id
                    db.session.commit()
                    # 取消: store → member, the opposite direction of the payment.
                    ledger.reverse(db.session.get(LedgerTransaction, txn_id), LedgerTransactionKind.CANCELLATION)
                    db.session.commit()
                db.session.remove()
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[0]
    db.session.commit()
    assert ledger.verify_books() == []
    assert all(ledger.member_balance(m) == 50_000 for m, _ in ids)
