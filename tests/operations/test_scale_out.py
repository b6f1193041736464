"""Two app hosts (two gunicorns) behind one nginx upstream, sharing only
PostgreSQL and Redis: a login holds on both, the login throttle counts on
both, a payment retried on the other host charges once, and two hosts'
send-mail timers never send one mail twice."""
from __future__ import annotations

import json
import secrets
import subprocess
import sys
import threading
import uuid
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from iseca import create_app, outbox
from iseca.extensions import db
from iseca.models import OutboxMessage, OutboxStatus, Payment
from tests import factories
from tests.conftest import TEST_CONFIG
from tests.httpclient import Till
from tests.conftest import Inbox
from tests.operations.conftest import (
    ROOT,
    app_environment,
    client_tls,
    free_port,
    need_redis,
    pay,
    seed_shop,
    start_gunicorn,
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
        a = start_gunicorn(tmp, env, "host-a")
        started.append(a)
        b = start_gunicorn(tmp, env, "host-b")
        started.append(b)
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
