"""/healthz and /readyz as a load balancer and monitoring read them, and
the 503 page a till shows while the database is unreachable."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from iseca import create_app
from iseca.extensions import db
from iseca.health import migration_heads
from iseca.models import OutboxMessage, OutboxStatus, utcnow
from tests.support.database import TEST_CONFIG


def test_healthz_answers_without_the_database(tmp_path):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/no.sqlite3"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    print("checked: /healthz is 200 {'status': 'ok'} even with an unreachable database")


def test_readyz_reports_migrations_and_the_outbox_backlog(app, client, backend):
    now = utcnow()
    db.session.add_all([
        OutboxMessage(recipient="a@example.jp", subject="s", body="b", status=OutboxStatus.PENDING,
                      created_at=now - dt.timedelta(minutes=10)),
        OutboxMessage(recipient="b@example.jp", subject="s", body="b", status=OutboxStatus.FAILED,
                      created_at=now - dt.timedelta(minutes=3)),
        OutboxMessage(recipient="c@example.jp", subject="s", body="b", status=OutboxStatus.SENT,
                      created_at=now - dt.timedelta(hours=5), sent_at=now),
    ])
    db.session.commit()
    response = client.get("/readyz")
    report = response.json
    assert response.status_code == 200, report
    assert report["ready"] is True and report["database"] == "ok"
    assert report["migrations"]["at_head"] is True
    assert report["migrations"]["database"] == sorted(migration_heads())
    assert report["outbox"]["unsent"] == 2  # the sent one is not backlog
    assert 595 <= report["outbox"]["oldest_unsent_age_seconds"] <= 700
    print(f"checked on {backend}: /readyz 200, migrations at head, outbox backlog 2 aged "
          f"{report['outbox']['oldest_unsent_age_seconds']} s")


def test_readyz_is_503_when_the_schema_is_behind_the_code(app, client, backend):
    [head] = migration_heads()
    db.session.execute(text("UPDATE alembic_version SET version_num = 'behind'"))
    db.session.commit()
    try:
        response = client.get("/readyz")
    finally:
        db.session.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
        db.session.commit()
    assert response.status_code == 503
    assert response.json["ready"] is False
    assert response.json["migrations"] == {"at_head": False, "database": ["behind"], "code": [head]}
    print(f"checked on {backend}: /readyz 503 when the database's revision is not the code's head")


def test_readyz_is_503_when_the_database_is_unreachable(tmp_path):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/no.sqlite3"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["ready"] is False and response.json["database"] == "unreachable"
    print("checked: /readyz 503 with database 'unreachable'")


def test_database_down_shows_a_japanese_503_page_with_the_request_id(tmp_path):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/no.sqlite3"})
    response = app.test_client().get("/stores", headers={"X-Request-ID": "nginx0123456789abcdef"})
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "ただいま混み合っているか、メンテナンス中です" in html
    assert "お問い合わせ番号: <span>nginx0123456789abcdef</span>" in html
    assert response.headers["Retry-After"] == "30"
    print("checked: a page needing the database answers 503 「ただいま混み合っているか、メンテナンス中です」, Retry-After 30")


def test_health_checks_never_look_up_the_signed_in_account(store_client, app, backend):
    """A browser's session cookie on /readyz must not make it ask the database who is signed in."""
    from sqlalchemy import event

    statements = []
    listener = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert store_client.get("/healthz").status_code == 200
        assert store_client.get("/readyz").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert not [s for s in statements if "login_sessions" in s], statements
    print(f"checked on {backend}: /healthz and /readyz with a store's session cookie ran no session lookup "
          f"({len(statements)} statements, all for the readiness report)")


def test_a_pooled_connection_the_server_ended_is_replaced_before_a_request_uses_it(app, client, backend):
    """The pool hands out no connection whose server process has gone (a
    restart, pg_terminate_backend): the socket is looked at on checkout, with
    no ping per request; the next request is served on a fresh connection."""
    import time

    import pytest
    from sqlalchemy import create_engine

    if backend != "postgresql":
        pytest.skip("a server that ends connections: PostgreSQL")
    with db.engine.connect() as conn:
        first_pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    assert db.engine.pool.checkedin() >= 1  # the connection waits in the pool
    admin = create_engine(db.engine.url)
    try:
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first_pid}).scalar()
            deadline = time.monotonic() + 10
            while conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": first_pid}).scalar():
                assert time.monotonic() < deadline, "the backend did not end"
                time.sleep(0.05)
    finally:
        admin.dispose()
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json["database"] == "ok"
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != first_pid
    print("checked: a pooled connection whose backend was terminated is replaced at checkout; /readyz answered 200")


def test_throttle_storage_unreachable_leaves_logins_answering_and_readyz_ready(app, databases, backend):
    """ISECA_RATELIMIT_STORAGE_URI names a Redis nothing answers at: /readyz
    stays 200 and names `rate_limits` degraded; logins (wrong and right
    passwords) answer as usual, counted in the process's memory. In a
    process of its own: the limiter is one object per process."""
    import json
    import subprocess
    import sys

    from tests import factories
    from tests.support.servers import ROOT, free_port

    store = factories.make_store()
    db.session.commit()
    config = {**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": databases.url(backend),
              "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{free_port()}/0"}
    script = f"""
import json, sys
sys.path.insert(0, {str(ROOT)!r})
from iseca import create_app
from tests.support.client import login
app = create_app({config!r})
client = app.test_client()
ready = client.get("/readyz")
wrong = [login(client, {store.code!r}, "wrong wrong wrong", area="terminal").status_code for _ in range({LIMIT + 1})]
right = login(app.test_client(), {store.code!r}, {factories.PASSWORD!r}, area="terminal").status_code
print(json.dumps({{"ready": [ready.status_code, ready.json], "wrong": wrong, "right": right}}))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    answers = json.loads(out.stdout.strip().splitlines()[-1])
    status, report = answers["ready"]
    assert status == 200 and report["ready"] is True, report
    assert report["rate_limits"] == {"storage": "redis", "state": "unreachable", "fallback": "memory, per process"}
    assert report["degraded"] == ["rate_limits"]
    assert answers["wrong"] == [200] * LIMIT + [429]  # still throttled, in this process
    assert answers["right"] == 429  # the account is locked for a while, as with Redis
    print(f"checked on {backend}: Redis unreachable → /readyz 200 degraded ['rate_limits']; "
          f"failed logins {answers['wrong']} (throttled in memory), no 500")


LIMIT = 5  # LOGIN_FAILURES_PER_ACCOUNT: 5 per 15 minutes


def test_readyz_says_the_throttles_count_in_memory_when_configured_so(client):
    report = client.get("/readyz").json
    assert report["rate_limits"] == {"storage": "memory", "state": "ok"} and report["degraded"] == []
