"""How the engine's connections are set up: SQLite's pragmas and its write
lock taken at BEGIN by requests that write, and the check at checkout that
throws away a pooled PostgreSQL connection the server closed."""
from __future__ import annotations

import select
import sqlite3

from flask import current_app, has_app_context, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool

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


_checking = False


def install_disconnect_check() -> None:
    """Before a pooled PostgreSQL connection is handed to a request, look
    whether the server closed it while it sat idle (a restart, a terminated
    backend: the server writes its FATAL message and closes the socket);
    such a connection is thrown away and the pool opens a fresh one
    (SQLAlchemy's "checkout" event raising DisconnectionError). One poll of
    the socket instead of pool_pre_ping's SELECT round trip on every
    request. A connection cut without a word (the host or network gone)
    fails the one request that meets it, and the pool is then renewed."""
    global _checking
    if _checking:
        return
    _checking = True

    @event.listens_for(Pool, "checkout")
    def _on_checkout(dbapi_connection, connection_record, connection_proxy):
        pgconn = getattr(dbapi_connection, "pgconn", None)
        if pgconn is None:  # not psycopg (SQLite)
            return
        if dbapi_connection.closed or dbapi_connection.broken:
            raise DisconnectionError("the connection was closed")
        poller = select.poll()
        poller.register(pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
        # An idle connection is silent: anything to read is the server's goodbye.
        if poller.poll(0):
            raise DisconnectionError("the server closed the idle connection")


def _writing_request() -> bool:
    """Requests that change data take SQLite's write lock when they begin;
    pages that only read do not (in WAL mode readers never block writers).
    Command-line tools take it too; a test's own session does not, so that
    it does not hold the lock while the request under test runs."""
    if has_request_context():
        return request.method not in ("GET", "HEAD", "OPTIONS")
    return not (has_app_context() and current_app.testing)
