"""Engine settings that the ORM cannot express, one INSERT that ignores a taken key, and the one LIKE rule of every search."""
from __future__ import annotations

import sqlite3

from flask import current_app, has_app_context, has_request_context, request
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from .extensions import db

_installed = False


def install_sqlite_pragmas() -> None:
    """On SQLite: WAL, a busy timeout, foreign keys, and `BEGIN IMMEDIATE`
    for requests that write.

    A deferred SQLite transaction that reads and then writes fails with
    SQLITE_BUSY when another writer got in between; taking the write lock at
    BEGIN makes concurrent requests wait their turn instead (the recipe of
    SQLAlchemy's pysqlite documentation).
    """
    global _installed
    if _installed:
        return
    _installed = True

    @event.listens_for(Engine, "connect")
    def _on_connect(dbapi_connection, connection_record):  # pragma: no cover - trivial
        if not isinstance(dbapi_connection, sqlite3.Connection):
            return
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(Engine, "begin")
    def _on_begin(conn):
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE" if _writing_request() else "BEGIN")


def _writing_request() -> bool:
    """Requests that change data take SQLite's write lock when they begin;
    pages that only read do not (in WAL mode readers never block writers).
    Command-line tools take it too; a test's own session does not, so that
    it does not hold the lock while the request under test runs."""
    if has_request_context():
        return request.method not in ("GET", "HEAD", "OPTIONS")
    return not (has_app_context() and current_app.testing)


def insert_ignoring_conflict(model, conflict_columns: list[str], values: dict):
    """INSERT … ON CONFLICT DO NOTHING RETURNING id: the new id, or None
    when the unique key already exists (after waiting for an uncommitted
    writer of the same key on PostgreSQL)."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(model).values(**values).on_conflict_do_nothing(index_elements=conflict_columns).returning(model.id)
    return db.session.execute(stmt).scalar()


def contains_text(column, text: str):
    """`column` contains `text`, case-insensitively, with `%`, `_` and `\\`
    typed by the user matched as themselves (the one LIKE rule of every search)."""
    return column.icontains(text, autoescape=True)
