"""Fixtures: an app per test on a real database (SQLite always, PostgreSQL
when ISECA_TEST_DATABASE_URL is set), schema built by the Alembic migration;
clients logged in as each kind of account; a real SMTP server (aiosmtpd)."""
from __future__ import annotations

import base64
import contextvars
import email
import email.policy
import os
import re
import socket
import threading
import uuid
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask import has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from iseca import create_app
from iseca.extensions import db
from iseca.extensions import mail as flask_mail

PG_URL = os.environ.get("ISECA_TEST_DATABASE_URL")


def _compile_catalogues() -> None:
    """The translations as `make translations` builds them, for a suite run
    without make (each .mo replaced in one step: test workers start at once)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in Path(__file__).resolve().parent.parent.glob("iseca/translations/*/*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with open(po, "rb") as f:
            catalogue = read_po(f)
        partial = mo.with_suffix(f".{os.getpid()}.tmp")
        with open(partial, "wb") as f:
            write_mo(f, catalogue)
        os.replace(partial, mo)


_compile_catalogues()
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])

TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key",
    # Cheap hashes keep the suite fast; the defaults are tested separately.
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_COST": 1024,
    "RATELIMIT_STORAGE_URI": "memory://",
    "MAIL_SERVER": None,
    "PUBLIC_BASE_URL": "https://iseca.example.jp",
}


def basic_auth_header(user: str = "guest", password: str = "guest") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _pg_admin_url() -> str:
    """The database named by ISECA_TEST_DATABASE_URL; each run creates its
    own databases from there, so parallel runs never meet."""
    return make_url(PG_URL).render_as_string(hide_password=False)


def _migrate(url: str) -> None:
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()


class Databases:
    """One migrated database per backend for the whole run; dropped at the end."""

    def __init__(self, tmp_path_factory):
        self.tmp_path_factory = tmp_path_factory
        self.urls: dict[str, str] = {}
        self.pg_names: list[str] = []

    def url(self, backend: str) -> str:
        if backend not in self.urls:
            if backend == "sqlite":
                path = Path(self.tmp_path_factory.mktemp("sqlite")) / "iseca-test.sqlite3"
                url = f"sqlite:///{path}"
            else:
                name = f"iseca_test_{uuid.uuid4().hex[:12]}"
                engine = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
                with engine.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
                engine.dispose()
                self.pg_names.append(name)
                url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
            _migrate(url)
            self.urls[backend] = url
        return self.urls[backend]

    def drop(self) -> None:
        if not self.pg_names:
            return
        engine = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for name in self.pg_names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    dbs = Databases(tmp_path_factory)
    yield dbs
    dbs.drop()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


def _empty_all_tables() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        # DELETE, dependants first, and the id sequences back to 1: on a few
        # rows this takes milliseconds where TRUNCATE of every table takes
        # about 0.2 s (new files for each table), after every test.
        db.session.execute(text("; ".join(f'DELETE FROM "{t.name}"' for t in tables)))
        db.session.execute(text("SELECT setval(c.oid, 1, false) FROM pg_class c "
                                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                                "WHERE c.relkind = 'S' AND n.nspname = current_schema()"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


class IsolatedClient(FlaskClient):
    """A test client whose requests run in their own app context, as in a
    real server: the test's own context (and its `g` and db session) is not
    shared with the request."""

    def open(self, *args, **kwargs):
        # End the test's own transaction first: it must not hold an old
        # snapshot (SQLite) or locks while the request runs, and what it
        # reads afterwards is what the request left.
        # A redirect followed (follow_redirects) comes back here inside the
        # request's own context, where the test's context is not pushed.
        if has_app_context():
            db.session.commit()
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def app(databases, backend):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": databases.url(backend)})
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.rollback()
        _empty_all_tables()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    """A browser that has passed the BASIC gate (guest/guest)."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
    return client


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def login(client, code: str, password: str, *, area: str = "cms", kind: str | None = "store", remember: bool = False):
    """Log in through the real login form; returns the response (not followed)."""
    page = client.get(f"/{area}/login")
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "code": code, "password": password}
    if area == "cms" and kind:
        data["kind"] = kind
    if remember:
        data["remember"] = "y"
    return client.post(f"/{area}/login", data=data)


def post_form(client, url: str, data: dict, *, page_url: str | None = None, **kwargs):
    """POST a form the way a browser does: with the CSRF token of its page."""
    page = client.get(page_url or url)
    return client.post(url, data={"csrf_token": csrf_from(page.get_data(as_text=True)), **data}, **kwargs)


@pytest.fixture
def server(app):
    """The app served over real HTTP on 127.0.0.1, one thread per request,
    for tests that send many requests at once."""
    db.session.commit()
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    srv.url = f"http://127.0.0.1:{srv.server_port}"
    yield srv
    srv.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def store_client(client, app):
    """A client logged in as a store account (password already changed)."""
    from tests import factories

    store = factories.make_store()
    resp = login(client, store.code, factories.PASSWORD)
    assert resp.status_code == 303, resp.get_data(as_text=True)
    client.store = store
    return client


class Inbox:
    """What the SMTP server received, parsed as e-mail messages."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()
        self.refuse = False  # answer every message with a permanent error

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "554 5.7.1 refused for the test"
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def with_subject(self, subject: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["Subject"] == subject]

    def body(self, message) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(app):
    """A real SMTP server on 127.0.0.1; the app is configured to send to it."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_SUPPRESS_SEND=False, MAIL_TIMEOUT=5)
    flask_mail.init_app(app)
    inbox.port = port
    yield inbox
    controller.stop()


@pytest.fixture
def staff_client(app):
    """A counter clerk, logged in to the console."""
    client = app.test_client()
    from tests import factories

    factories.make_staff()
    resp = login(client, "staff1", factories.PASSWORD, area="counter", kind=None)
    assert resp.status_code == 303, resp.get_data(as_text=True)
    return client


@pytest.fixture
def gate_client(app):
    """A browser that has passed the BASIC gate (a second, independent one)."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
    return client


LOGIN_RE = {
    "store_id": re.compile(r"店舗ID：(S\d+)"),
    "store_password": re.compile(r"店舗パスワード：(\S+)"),
    "business_id": re.compile(r"事業者ID：(B\d+)"),
    "business_password": re.compile(r"事業者パスワード：(\S+)"),
}


def credentials(body: str, kind: str) -> tuple[str, str]:
    """The ID and initial password a mail carries."""
    return LOGIN_RE[f"{kind}_id"].search(body).group(1), LOGIN_RE[f"{kind}_password"].search(body).group(1)
