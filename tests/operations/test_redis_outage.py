"""Redis (the throttles' shared storage) stopped under load and started
again: logins, card scans at the tills and 取消 keep answering (never a
500) while it is down, throttled per process; /readyz stays ready and names
the part degraded; when Redis is back the counts are shared again.

The Redis is this test's own (redis-server on a free port, stopped by its
process id), the app is gunicorn with deploy/gunicorn.conf.py (two workers)
on a database of the private PostgreSQL cluster."""
from __future__ import annotations

import json
import re
import threading
import uuid
from urllib.parse import urlsplit

import redis
from sqlalchemy import func, select

from iseca import create_app
from iseca.extensions import db
from iseca.models import Payment, PaymentStatus
from iseca.money import ledger
from tests import factories
from tests.httpclient import Till
from tests.support.database import TEST_CONFIG
from tests.support.servers import (
    PrivateRedis,
    app_environment,
    seed_shop,
    start_gunicorn,
    stop,
    wait_until,
)

TILLS = 3
LIMIT = 5  # LOGIN_FAILURES_PER_ACCOUNT: 5 per 15 minutes
WORKERS = 2


class Counter:
    """A till's round of work, again and again: log in, a wrong password, an
    unknown card and a real one scanned, a payment and its 取消. Every answer
    is kept; a round that starts while Redis is down says so."""

    def __init__(self, base_url: str, shop, redis_down: threading.Event):
        self.base_url, self.shop, self.redis_down = base_url, shop, redis_down
        self.answers: list[tuple[str, int]] = []  # (step, status)
        self.unexpected: list[str] = []
        self.rounds_up = self.rounds_down = 0
        self.cancelled = 0

    def run(self, stop_event: threading.Event) -> None:
        try:
            while not stop_event.is_set():
                down = self.redis_down.is_set()
                self.round()
                if down:
                    self.rounds_down += 1
                else:
                    self.rounds_up += 1
        except Exception as exc:  # reported by the test
            self.unexpected.append(repr(exc))

    def _check(self, step: str, status: int, expected: set[int], text: str = "") -> None:
        self.answers.append((step, status))
        if status not in expected:
            self.unexpected.append(f"{step}: {status} {text[:300]!r}")

    def round(self) -> None:
        till = Till(self.base_url, timeout=30)
        status = till.login("terminal", self.shop.store_code, factories.PASSWORD)
        self._check("login", status, {303})
        # Someone else's wrong guess at an unknown code (counted, never this store's).
        guess = Till(self.base_url, timeout=30)
        token = guess.csrf("/terminal/login")
        status, _, text = guess.post("/terminal/login", {"csrf_token": token, "code": f"x{uuid.uuid4().hex[:8]}",
                                                         "password": "wrong wrong wrong"})
        self._check("wrong password", status, {200, 429}, text)
        csrf = till.csrf("/terminal/pay")
        status, _, text = till.post("/terminal/pay", {"csrf_token": csrf, "code": "9" * 16})
        self._check("unknown card", status, {422, 429}, text)  # 30 a store per 15 minutes, then 429
        status, headers, text = till.post("/terminal/pay", {"csrf_token": csrf, "code": self.shop.card_number})
        self._check("card scan", status, {303}, text)
        if status != 303:
            return
        query = dict(part.split("=", 1) for part in urlsplit(headers["Location"]).query.split("&"))
        status, headers, text = till.post("/terminal/pay/charge", {
            "csrf_token": csrf, "payer": query["payer"], "register": query["register"], "amount": "100",
            "key": uuid.uuid4().hex})
        self._check("payment", status, {303}, text)
        if status != 303:
            return
        payment_id = int(re.search(r"/pay/done/(\d+)", headers["Location"]).group(1))
        cancel = f"/terminal/history/{payment_id}/cancel"
        status, _, text = till.post(cancel, {"csrf_token": till.csrf(cancel)})
        self._check("取消", status, {303}, text)
        if status == 303:
            self.cancelled += 1
        till.close()
        guess.close()


def failed_logins_until_refused(base_url: str, code: str, attempts: int) -> list[int]:
    """Wrong passwords for `code` (each from a fresh browser) until one is
    answered 429, at most `attempts`: the statuses."""
    statuses = []
    for _ in range(attempts):
        till = Till(base_url, timeout=30)
        token = till.csrf("/terminal/login")
        status, _, _ = till.post("/terminal/login", {"csrf_token": token, "code": code, "password": "wrong wrong wrong"})
        till.close()
        statuses.append(status)
        if status == 429:
            break
    return statuses


def readiness(base_url: str) -> tuple[int, dict]:
    till = Till(base_url, timeout=30)
    status, _, text = till.get("/readyz")
    till.close()
    return status, json.loads(text)


def test_redis_down_under_load_answers_no_500_and_throttles_again_when_back(tmp_path, pg_databases):
    url = pg_databases.create()
    shops = seed_shop(url, balance=10_000_000, stores=TILLS)
    private = PrivateRedis(tmp_path)
    private.start()
    env = app_environment(url, ISECA_RATELIMIT_STORAGE_URI=private.url, GUNICORN_WORKERS=str(WORKERS),
                          ISECA_LOGIN_FAILURES_PER_ADDRESS="100000 per 15 minutes")  # every test client is 127.0.0.1
    server = start_gunicorn(tmp_path, env)
    store = redis.Redis(host="127.0.0.1", port=private.port, socket_timeout=5)
    redis_down, stop_load = threading.Event(), threading.Event()
    counters = [Counter(server.url, shop, redis_down) for shop in shops]
    threads = [threading.Thread(target=c.run, args=(stop_load,)) for c in counters]
    try:
        status, report = readiness(server.url)
        assert status == 200 and report["rate_limits"] == {"storage": "redis", "state": "ok"}, report
        assert report["degraded"] == []
        for t in threads:
            t.start()
        wait_until(lambda: all(c.rounds_up >= 1 for c in counters) or any(c.unexpected for c in counters),
                   60, "every till did a round with Redis up")
        assert store.dbsize() > 0  # the counts live in Redis

        # Redis stops while the tills work.
        redis_down.set()
        private.stop()
        wait_until(lambda: all(c.rounds_down >= 2 for c in counters) or any(c.unexpected for c in counters),
                   120, "every till did two rounds with Redis down")
        assert [p for c in counters for p in c.unexpected] == []
        status, report = readiness(server.url)
        assert status == 200 and report["ready"] is True, report
        assert report["rate_limits"] == {"storage": "redis", "state": "unreachable", "fallback": "memory, per process"}
        assert report["degraded"] == ["rate_limits"]
        # Throttling goes on, per process: an account guessed at is refused
        # after at most LIMIT failures in each worker.
        down_guesses = failed_logins_until_refused(server.url, f"DOWN{uuid.uuid4().hex[:6].upper()}", WORKERS * LIMIT + 1)
        assert down_guesses[-1] == 429 and set(down_guesses[:-1]) == {200}, down_guesses

        # Redis starts again (empty): ready and not degraded once it answers.
        private.start()
        redis_down.clear()
        wait_until(lambda: readiness(server.url)[1]["degraded"] == [], 30, "/readyz no longer degraded")
        rounds_before = [c.rounds_up for c in counters]
        wait_until(lambda: all(c.rounds_up >= r + 1 for c, r in zip(counters, rounds_before, strict=True))
                   or any(c.unexpected for c in counters), 60, "every till did a round after Redis returned")

        # Shared again: an account's failures are counted in Redis, from
        # whichever worker, and the next guess is refused. Each worker goes
        # back to Redis at its next check (Flask-Limiter: 1, 2, 4 … s apart).
        def shared_round() -> bool:
            code = f"BACK{uuid.uuid4().hex[:6].upper()}"
            statuses = failed_logins_until_refused(server.url, code, LIMIT + 1)
            counted = [int(store.get(key)) for key in store.keys(f"*{code}*")]
            return statuses == [200] * LIMIT + [429] and counted == [LIMIT]

        waited = wait_until(shared_round, 90, "failed logins counted in Redis again")
    finally:
        stop_load.set()
        for t in threads:
            t.join(60)
        stop(server.process)
        private.stop()
        store.close()

    problems = [p for c in counters for p in c.unexpected]
    assert problems == [], problems[:5]
    answers = [a for c in counters for a in c.answers]
    assert not [a for a in answers if a[1] >= 500]
    assert sum(c.rounds_down for c in counters) >= 2 * TILLS
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        cancelled = db.session.scalar(select(func.count()).select_from(Payment)
                                      .where(Payment.status == PaymentStatus.CANCELLED))
        assert cancelled == sum(c.cancelled for c in counters) > 0
        assert ledger.verify_books() == []
        db.engine.dispose()
    print(f"checked: {len(answers)} answers from {TILLS} tills ({sum(c.rounds_down for c in counters)} rounds while "
          f"Redis was down), none 5xx; down: /readyz 200 degraded ['rate_limits'], an account refused after "
          f"{len(down_guesses) - 1} failures over {WORKERS} workers; back: counted in Redis again after {waited:.1f} s; "
          f"{cancelled} payments cancelled, books balanced")
