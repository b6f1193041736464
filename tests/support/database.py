"""The app's test configuration and its databases: SQLite always,
PostgreSQL when ISECA_TEST_DATABASE_URL is set, each schema built by the
Alembic migration."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from iseca import create_app
from iseca.extensions import db

PG_URL = os.environ.get("ISECA_TEST_DATABASE_URL")
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


def pg_admin_url() -> str:
    """The database named by ISECA_TEST_DATABASE_URL; each run creates its
    own databases from there, so parallel runs never meet."""
    return make_url(PG_URL).render_as_string(hide_password=False)


def migrate_database(url: str) -> None:
    """Build the schema at `url` with the Alembic migration."""
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
                engine = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
                with engine.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
                engine.dispose()
                self.pg_names.append(name)
                url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
            migrate_database(url)
            self.urls[backend] = url
        return self.urls[backend]

    def drop(self) -> None:
        if not self.pg_names:
            return
        engine = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for name in self.pg_names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def empty_all_tables() -> None:
    """Every row gone (and PostgreSQL's id sequences back to 1), schema kept."""
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
