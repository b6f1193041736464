"""`db upgrade` on a running system: the migrations run against a database
while tills pay through gunicorn, and no payment fails or waits long."""
from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
import uuid

from flask_migrate import upgrade
from sqlalchemy import select, text

from iseca import create_app, payments
from iseca.extensions import db
from iseca.health import migration_heads
from iseca.models import Member, PaymentMethod, Register
from tests.conftest import TEST_CONFIG
from tests.operations.conftest import ROOT, app_environment, need_redis, seed_shop, start_gunicorn, stop
from tests.operations.test_faults import PayingTill, _check_books

# The revision before the head: what a host runs before the upgrade.
PREVIOUS = "1be8c7a7819c"
HISTORY = 400  # payments already in the table the new indexes are built on


def test_db_upgrade_under_payment_load_blocks_no_payment_for_long(tmp_path, pg_databases):
    url = pg_databases.create(migrate=False)
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(revision=PREVIOUS)
        db.engine.dispose()
    shops = seed_shop(url, balance=10_000_000, stores=3)
    with app.app_context():
        register = db.session.scalars(select(Register)).first()
        members = list(db.session.scalars(select(Member)))
        for i in range(HISTORY):
            payments.pay(members[i % len(members)], register, 10, PaymentMethod.STORE_SCAN)
        db.session.commit()
        db.engine.dispose()

    env = app_environment(url, ISECA_RATELIMIT_STORAGE_URI=need_redis(),
                          ISECA_RATELIMIT_KEY_PREFIX=f"iseca-migrate-{uuid.uuid4().hex[:8]}")
    server = start_gunicorn(tmp_path, env)
    try:
        tills = [PayingTill(server.url, shop, random.Random(i)) for i, shop in enumerate(shops)]
        latencies: list[tuple[float, float]] = []  # (start, seconds) of each charge
        original = PayingTill.charge_once

        def timed(self, amount, key, **kwargs):
            started = time.monotonic()
            result = original(self, amount, key, **kwargs)
            latencies.append((started, time.monotonic() - started))
            return result

        for till in tills:
            till.charge_once = timed.__get__(till)
        stop_event = threading.Event()
        threads = [threading.Thread(target=t.run, args=(stop_event,)) for t in tills]
        for thread in threads:
            thread.start()
        time.sleep(1)
        began = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=120)
        ended = time.monotonic()
        time.sleep(1)
        stop_event.set()
        for thread in threads:
            thread.join(timeout=60)
        assert result.returncode == 0, result.stderr
        during = [seconds for started, seconds in latencies if started + seconds >= began and started <= ended]
        assert not [t.failures for t in tills if t.failures], [t.failures for t in tills]
        assert during, "no payment ran while the migration did"
        assert max(during) < 2.0, f"a payment waited {max(during):.2f} s for the migration"
        with app.app_context():
            version = set(db.session.scalars(text("SELECT version_num FROM alembic_version")))
            assert version == set(migration_heads())
            db.engine.dispose()
        count = _check_books(url, tills, "migrate", earlier=HISTORY)
    finally:
        stop(server.process)
    print(f"checked: flask db upgrade {PREVIOUS} → head ({', '.join(sorted(migration_heads()))}) on a payments table of "
          f"{HISTORY}+ rows took {ended - began:.1f} s while 3 tills paid; {len(during)} payments overlapped it, "
          f"none failed, the slowest {max(during) * 1000:.0f} ms; {count} payments, books balance")
