"""Fixtures: an app per test on a real database (SQLite always, PostgreSQL
when ISECA_TEST_DATABASE_URL is set), schema built by the Alembic migration;
clients logged in as each kind of account; a real SMTP server (aiosmtpd).
What they are made of is in tests/support/."""
from __future__ import annotations

import threading

import pytest
from aiosmtpd.controller import Controller
from werkzeug.serving import make_server

from iseca import create_app
from iseca.extensions import db
from iseca.extensions import mail as flask_mail
from tests.support.client import IsolatedClient, basic_auth_header, login
from tests.support.database import BACKENDS, TEST_CONFIG, Databases, empty_all_tables
from tests.support.mail import Inbox
from tests.support.servers import free_port
from tests.support.translations import compile_catalogues


def pytest_configure(config):
    compile_catalogues()


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    dbs = Databases(tmp_path_factory)
    yield dbs
    dbs.drop()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def app(databases, backend):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": databases.url(backend)})
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.rollback()
        empty_all_tables()
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
