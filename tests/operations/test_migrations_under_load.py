"""`db upgrade` on a running system, as README "Upgrading" does it: the
previous release (its code taken from git) serves tills on the previous
schema while the new release's `flask db upgrade` runs; no payment fails or
waits long, and the books balance at the end."""
from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
import uuid

import pytest
from alembic.script import ScriptDirectory
from flask_migrate import downgrade
from sqlalchemy import select, text

from iseca import create_app
from iseca.extensions import db
from iseca.health import migration_heads
from iseca.models import Member, PaymentMethod, Register
from iseca.money import payments
from tests.operations.test_faults import PayingTill, _check_books
from tests.support.database import TEST_CONFIG
from tests.support.servers import (
    ROOT,
    app_environment,
    need_redis,
    seed_shop,
    start_gunicorn,
    stop,
    wait_until,
)

HISTORY = 400  # payments already in the table the migration works on


def previous_release(folder) -> tuple[str, str]:
    """The code of the last commit on the main line before the newest
    migration (git archive into `folder`), and the revision its schema is at."""
    head = ScriptDirectory.from_config(_alembic_config()).get_revision("head")
    if not head.down_revision:
        pytest.skip("only one migration: there is no previous release to upgrade from")
    [head_file] = [p.name for p in (ROOT / "migrations" / "versions").glob(f"*{head.revision}*.py")]
    # Along the main line (first parents) back to the last commit without the newest migration.
    history = subprocess.run(["git", "rev-list", "--first-parent", "--max-count=500", "HEAD"],
                             cwd=ROOT, capture_output=True, text=True)
    commit = ""
    for candidate in history.stdout.split():
        present = subprocess.run(["git", "cat-file", "-e", f"{candidate}:migrations/versions/{head_file}"],
                                 cwd=ROOT, capture_output=True)
        if present.returncode != 0:
            commit = candidate
            break
    if history.returncode != 0 or not commit:
        pytest.skip("needs the git history of migrations/ (a full clone)")
    archive = subprocess.run(f"git archive {commit} app.py iseca templates static migrations | tar -x -C {folder}",
                             shell=True, cwd=ROOT, capture_output=True, text=True)
    if archive.returncode != 0:
        pytest.skip(f"the previous release is not in this clone's history: {archive.stderr.strip()}")
    return commit[:12], head.down_revision


def _alembic_config():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return config


def test_db_upgrade_under_payment_load_blocks_no_payment_for_long(tmp_path, pg_databases):
    old_code = tmp_path / "previous-release"
    old_code.mkdir()
    release, previous = previous_release(old_code)
    url = pg_databases.create()  # at head: the data is made with today's factories …
    shops = seed_shop(url, balance=1_000_000, stores=3)
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        register = db.session.scalars(select(Register)).first()
        members = list(db.session.scalars(select(Member)))
        for i in range(HISTORY):
            payments.pay(members[i % len(members)], register, 10, PaymentMethod.STORE_SCAN)
        db.session.commit()
        downgrade(revision=previous)  # … then taken back to the previous release's schema
        db.engine.dispose()

    env = app_environment(url, ISECA_RATELIMIT_STORAGE_URI=need_redis(),
                          ISECA_RATELIMIT_KEY_PREFIX=f"iseca-migrate-{uuid.uuid4().hex[:8]}")
    server = start_gunicorn(tmp_path, env, cwd=old_code)  # the previous release serves
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
        wait_until(lambda: any(t.done for t in tills), 60, "the tills paying before the upgrade")
        began = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=120)
        ended = time.monotonic()
        stop_event.set()  # each till finishes the charge in hand
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
    print(f"checked: the previous release ({release}) served 3 paying tills while flask db upgrade {previous} → head ({', '.join(sorted(migration_heads()))}) on a payments table of "
          f"{HISTORY}+ rows took {ended - began:.1f} s while 3 tills paid; {len(during)} payments overlapped it, "
          f"none failed, the slowest {max(during) * 1000:.0f} ms; {count} payments, books balance")
