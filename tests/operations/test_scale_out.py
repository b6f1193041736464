"""Two app hosts (two gunicorns) behind one nginx upstream, sharing only
PostgreSQL and Redis: a login holds on both, the login throttle counts on
both, a payment retried on the other host charges once, two hosts'
send-mail timers never send one mail twice, and their settlement-close
timers firing at once close each period once."""
from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from iseca import create_app, outbox
from iseca.extensions import db
from iseca.models import (
    AuditLog,
    LedgerAccount,
    LedgerAccountKind,
    LedgerTransaction,
    LedgerTransactionKind,
    OutboxMessage,
    OutboxStatus,
    Payment,
    PeriodStatus,
    Settlement,
    SettlementPeriod,
    utcnow,
)
from iseca.money import periods
from iseca.timeutil import JST
from tests import factories
from tests.httpclient import Till
from tests.support.database import TEST_CONFIG
from tests.support.mail import Inbox
from tests.support.servers import (
    ROOT,
    app_environment,
    client_tls,
    free_port,
    need_redis,
    seed_shop,
    start_gunicorns,
    start_nginx,
    stop,
)


@pytest.fixture(scope="module")
def hosts(tmp_path_factory, pg_databases):
    """PostgreSQL + Redis, gunicorn "host A" and "host B" (one worker each), nginx in front of both."""
    redis = need_redis()
    tmp = tmp_path_factory.mktemp("scale-out")
    url = pg_databases.create()
    shops = seed_shop(url, stores=2)
    env = app_environment(url, ISECA_RATELIMIT_STORAGE_URI=redis, ISECA_PROXY_FIX_HOPS="1",
                          ISECA_RATELIMIT_KEY_PREFIX=f"iseca-scale-{uuid.uuid4().hex[:8]}", GUNICORN_WORKERS="1")
    started = []
    try:
        a, b = start_gunicorns(tmp, env, ["host-a", "host-b"])
        started += [a, b]
        nginx = start_nginx(tmp, [a.port, b.port])
        started.append(nginx)
        yield {"url": url, "a": a, "b": b, "nginx": nginx, "shops": shops, "env": env}
    finally:
        for part in reversed(started):
            stop(part.process)


def _store_lines(log: str, route: str) -> list[dict]:
    lines = [json.loads(line) for line in log.splitlines() if line.startswith('{"time"')]
    return [e for e in lines if e["route"] == route and e["account_kind"] == "store" and e["status"] == 200]


def test_a_login_made_on_one_host_holds_on_the_other(hosts):
    nginx, a, b = hosts["nginx"], hosts["a"], hosts["b"]
    shop = hosts["shops"][0]
    till = Till(nginx.url, ssl_context=client_tls(nginx.cert))
    assert till.login("terminal", shop.store_code, factories.PASSWORD) == 303
    statuses = [till.get("/terminal/pay")[0] for _ in range(8)]
    assert statuses == [200] * 8  # never sent back to the login page
    served_a, served_b = len(_store_lines(a.log_text(), "/terminal/pay")), len(_store_lines(b.log_text(), "/terminal/pay"))
    assert served_a >= 1 and served_b >= 1, (served_a, served_b)
    till.close()
    print(f"checked: one login through nginx; 8 signed-in pages served by host A ({served_a}) and host B ({served_b})")


def test_login_throttling_counts_failures_on_both_hosts(hosts):
    a, b = hosts["a"], hosts["b"]
    shop = hosts["shops"][1]
    till_a, till_b = Till(a.url), Till(b.url)
    statuses = []
    for i in range(5):  # LOGIN_FAILURES_PER_ACCOUNT: 5 per 15 minutes
        till = till_a if i % 2 == 0 else till_b
        statuses.append(till.login("terminal", shop.store_code, "a wrong password for the test"))
    assert statuses == [200] * 5  # the form again, with its error
    # The right password is now refused on both hosts: 3 failures were on A, 2 on B.
    assert till_b.login("terminal", shop.store_code, factories.PASSWORD) == 429
    assert till_a.login("terminal", shop.store_code, factories.PASSWORD) == 429
    print("checked: 3 failed logins on host A + 2 on host B lock the account on both (429), through Redis")


def test_a_payment_retried_on_the_other_host_charges_once(hosts):
    a, b = hosts["a"], hosts["b"]
    shop = hosts["shops"][0]
    till_a = Till(a.url)
    assert till_a.login("terminal", shop.store_code, factories.PASSWORD) == 303
    till_b = Till(b.url)
    till_b.cookies = till_a.cookies  # the same device: its answer lost, it retries and lands on host B
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": hosts["url"]})
    with app.app_context():
        before = db.session.scalar(select(func.count(Payment.id)))

        key = secrets.token_urlsafe(24)
        csrf = till_a.csrf("/terminal/pay")
        status, headers, _ = till_a.post("/terminal/pay", {"csrf_token": csrf, "code": shop.card_number})
        from urllib.parse import parse_qs

        query = parse_qs(urlsplit(headers["Location"]).query)
        form = {"csrf_token": csrf, "payer": query["payer"][0], "register": query["register"][0], "amount": "777", "key": key}
        first = till_a.post("/terminal/pay/charge", form)
        again = till_b.post("/terminal/pay/charge", form)
        assert first[0] == again[0] == 303
        assert urlsplit(first[1]["Location"]).path == urlsplit(again[1]["Location"]).path

        # Both hosts at the same moment with one key (a double tap over two connections).
        key2 = secrets.token_urlsafe(24)
        both = {**form, "key": key2, "amount": "555"}
        answers: dict[str, tuple] = {}
        threads = [threading.Thread(target=lambda t=t, n=n: answers.__setitem__(n, t.post("/terminal/pay/charge", both)))
                   for n, t in (("a", till_a), ("b", till_b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert answers["a"][0] == answers["b"][0] == 303, (answers["a"][:2], answers["b"][:2])
        assert urlsplit(answers["a"][1]["Location"]).path == urlsplit(answers["b"][1]["Location"]).path
        db.session.commit()
        made = list(db.session.scalars(select(Payment).where(Payment.id > 0).order_by(Payment.id)))[before:]
        assert sorted(p.amount for p in made) == [555, 777]
        db.engine.dispose()
    till_a.close()
    till_b.close()
    print("checked: a charge retried on the other host, and one sent to both hosts at once, each made one payment (777円, 555円)")


def test_send_mail_on_two_hosts_sends_each_message_once(hosts):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": hosts["url"]})
        with app.app_context():
            subjects = [f"【ISECA】scale-out {i:03d}" for i in range(40)]
            for subject in subjects:
                outbox.queue(f"{uuid.uuid4().hex[:8]}@example.jp", subject, "本文")
            db.session.commit()
        env = {**hosts["env"], "ISECA_MAIL_SERVER": "127.0.0.1", "ISECA_MAIL_PORT": str(port), "ISECA_PRODUCTION": "false"}
        timers = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "send-mail"], cwd=ROOT, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
        outputs = [t.communicate(timeout=120)[0] for t in timers]
        assert all(t.returncode == 0 for t in timers), outputs
        received = sorted(m["Subject"] for m in inbox.messages if m["Subject"].startswith("【ISECA】scale-out"))
        assert received == subjects  # every one, none twice
        with app.app_context():
            unsent = db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.status != OutboxStatus.SENT))
            assert unsent == 0
            db.engine.dispose()
    finally:
        controller.stop()
    print(f"checked: two send-mail runs at once (as two hosts' timers) delivered 40 mails exactly once; "
          f"their outputs: {[o.strip().splitlines()[-1] if o.strip() else '' for o in outputs]}")


def _seed_ended_periods(url: str) -> dict:
    """Three businesses (one with two stores) paid in the two periods before the
    one running now, and once in the running one. Returns what closing must give."""
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        today = utcnow().astimezone(JST).date()
        running, _ = periods.period_bounds(today)
        # Two periods back and three back: ended long past the closing grace whatever the hour.
        one_back, _ = periods.period_bounds(running - dt.timedelta(days=1))
        two_back = periods.period_bounds(one_back - dt.timedelta(days=1))
        three_back = periods.period_bounds(two_back[0] - dt.timedelta(days=1))
        campaign = factories.make_campaign()
        first = factories.make_store()
        stores = [first, factories.make_store(first.business), factories.make_store(), factories.make_store()]
        member, _ = factories.make_card_member(100_000, campaign)
        expected: dict[tuple[dt.date, int], int] = defaultdict(int)  # (period start, business) → payments
        for p, (starts_on, _) in enumerate((three_back, two_back)):
            for i, store in enumerate(stores):
                for n in range(3):
                    amount = 1_000 * (p + 1) + 100 * i + n
                    at = dt.datetime.combine(starts_on + dt.timedelta(days=n + i), dt.time(12), JST)
                    factories.make_payment_at(store.registers[0], member, amount, at)
                    expected[(starts_on, store.business_id)] += amount
        factories.make_payment_at(stores[0].registers[0], member, 4_321, utcnow())  # the running period: stays open
        db.engine.dispose()
    return {"ended": [three_back, two_back], "running": running, "expected": dict(expected), "open_amount": 4_321}


def test_period_closing_started_on_two_hosts_at_once_closes_each_period_once(tmp_path, pg_databases):
    """Two hosts' settlement-close timers fire together against the shared PostgreSQL."""
    url = pg_databases.create()
    seeded = _seed_ended_periods(url)
    env = app_environment(url, ISECA_RATELIMIT_STORAGE_URI=need_redis())
    name = make_url(url).database

    # The barrier: the periods table locked, both commands start and wait on it,
    # then one commit releases them at the same moment with the same view.
    engine = create_engine(url)
    barrier = engine.connect()
    barrier.execute(text("LOCK TABLE settlement_periods IN ACCESS EXCLUSIVE MODE"))
    hosts = []
    try:
        for _ in range(2):
            hosts.append(subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "settlement", "close"],
                                          cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        deadline = time.monotonic() + 60
        waiting = 0
        while waiting < 2:
            assert time.monotonic() < deadline, "the two closings never both waited on the periods table"
            assert all(h.poll() is None for h in hosts), [h.communicate() for h in hosts]
            time.sleep(0.05)
            barrier.execute(text("SELECT pg_stat_clear_snapshot()"))  # activity is read once per transaction otherwise
            waiting = barrier.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = :name AND wait_event_type = 'Lock' "
                "AND pid <> pg_backend_pid()"), {"name": name}).scalar()
    finally:
        barrier.rollback()  # both go
        barrier.close()
        engine.dispose()
    answers = [h.communicate(timeout=120) for h in hosts]
    assert [h.returncode for h in hosts] == [0, 0], answers
    outputs = [out for out, _ in answers]

    # The combined output names each ended period once; a host that closed none says so.
    closed = [(dt.date.fromisoformat(a), dt.date.fromisoformat(b))
              for out in outputs for a, b in re.findall(r"^Closed (\S+)–(\S+):", out, re.MULTILINE)]
    assert sorted(closed) == seeded["ended"], outputs
    for out in outputs:
        assert ("Closed " in out) != ("No period to close." in out), out

    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        periods = {p.starts_on: p for p in db.session.scalars(select(SettlementPeriod))}
        assert {start: periods[start].status for start, _ in seeded["ended"]} == \
            {start: PeriodStatus.CLOSED for start, _ in seeded["ended"]}
        assert periods[seeded["running"]].status == PeriodStatus.OPEN
        rows = list(db.session.scalars(select(Settlement)))
        # One settlement per business per period, with that period's payments.
        got = Counter((s.period.starts_on, s.business_id) for s in rows)
        assert got == Counter(seeded["expected"].keys()), got
        assert {(s.period.starts_on, s.business_id): s.payments_total for s in rows} == seeded["expected"]
        # One ledger transaction each: the points left the stores once.
        txn_ids = [s.ledger_transaction_id for s in rows]
        assert None not in txn_ids and len(set(txn_ids)) == len(rows)
        moved = db.session.scalar(select(func.count()).select_from(LedgerTransaction)
                                  .where(LedgerTransaction.kind == LedgerTransactionKind.SETTLEMENT))
        assert moved == len(rows)
        store_points = db.session.scalar(select(func.sum(LedgerAccount.balance))
                                         .where(LedgerAccount.kind == LedgerAccountKind.STORE))
        assert store_points == seeded["open_amount"]  # only the running period's payment is left at the stores
        audits = db.session.scalar(select(func.count()).select_from(AuditLog)
                                   .where(AuditLog.action == "settlement_period_closed"))
        assert audits == len(seeded["ended"])
        db.engine.dispose()
    with app.app_context():  # the command, through Flask's CLI runner
        books = app.test_cli_runner().invoke(args=["payments", "verify-books"])
        db.engine.dispose()
    assert books.exit_code == 0 and "The books balance." in books.output, books.output
    said = [out.strip().replace("\n", " / ") for out in outputs]
    print(f"checked: two `flask settlement close` processes (two hosts' timers) waited together on the periods table "
          f"and were released at once: periods {', '.join(f'{a}–{b}' for a, b in seeded['ended'])} closed once each "
          f"({len(rows)} settlements, one per business per period with its payments, {moved} ledger transactions, "
          f"{audits} closing audit rows); the running period stays open with its 4,321円 at the store; "
          f"verify-books: {books.output.strip()}; the hosts said: {said}")
