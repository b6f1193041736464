"""Engine settings that the ORM cannot express, one INSERT that ignores a taken key, and the one LIKE rule of every search."""
from __future__ import annotations

import select
import sqlite3

from flask import current_app, has_app_context, has_request_context, request
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool
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


# ---------------------------------------------------------------------------
# Many rows in one statement (closing a period writes thousands)
# ---------------------------------------------------------------------------


def _plain(value):
    """A value as the column stores it: enums by their value, times as naive UTC."""
    import datetime as dt
    import enum

    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    if isinstance(value, dict):
        import json

        return json.dumps(value, ensure_ascii=False)
    return value


def _copy_insert(table, rows: list[dict]) -> None:
    """PostgreSQL: the rows through COPY … FROM STDIN on the session's own
    connection (same transaction), the fastest way PostgreSQL takes rows."""
    from .extensions import db

    # The columns' Python-side defaults, as the ORM would fill them.
    defaults = {}
    for column in table.columns:
        if column.name in rows[0] or column.default is None:
            continue
        if column.default.is_scalar:
            defaults[column.name] = column.default.arg
        elif column.default.is_callable:
            defaults[column.name] = column.default.arg(None)
    names = list(defaults) + list(rows[0])
    columns = ", ".join(f'"{name}"' for name in names)
    cursor = db.session.connection().connection.driver_connection.cursor()
    with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            merged = {**defaults, **row}
            copy.write_row([_plain(merged[name]) for name in names])


def insert_rows(table, rows: list[dict]) -> list[int]:
    """Insert `rows` (dicts with the same keys) into `table` and return their
    new ids in order. On PostgreSQL the ids are drawn from the table's
    sequence first and the rows written by COPY; elsewhere
    one INSERT … RETURNING per batch."""
    from sqlalchemy import text

    from .extensions import db

    if not rows:
        return []
    if db.session.get_bind().dialect.name == "postgresql":
        ids = list(db.session.scalars(
            text(f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) FROM generate_series(1, :n)"),
            {"n": len(rows)},
        ))
        _copy_insert(table, [{"id": i, **row} for i, row in zip(ids, rows)])
        return ids
    return list(db.session.scalars(table.insert().returning(table.c.id, sort_by_parameter_order=True), rows))


def insert_rows_without_ids(table, rows: list[dict]) -> None:
    """Insert `rows` when their ids are not needed."""
    from .extensions import db

    if not rows:
        return
    if db.session.get_bind().dialect.name == "postgresql":
        _copy_insert(table, rows)
    else:
        db.session.execute(table.insert(), rows)


def set_by_id(table, column: str, values: dict[int, object], *, only_if_null: bool = False) -> int:
    """UPDATE table SET column = values[id] for every id, in one statement;
    `only_if_null`: only rows where the column is still NULL (the first
    writer wins). Returns the number of rows changed."""
    from sqlalchemy import case, literal, text, update

    from .extensions import db

    if not values:
        return 0
    if db.session.get_bind().dialect.name == "postgresql":
        kind = table.c[column].type.compile(dialect=db.session.get_bind().dialect)
        null = f' AND "{table.name}"."{column}" IS NULL' if only_if_null else ""
        return db.session.execute(
            text(f'UPDATE "{table.name}" SET "{column}" = v.value FROM unnest(CAST(:ids AS BIGINT[]), '
                 f'CAST(:values AS {kind}[])) AS v(id, value) WHERE "{table.name}".id = v.id{null}'),
            {"ids": list(values), "values": [_plain(v) for v in values.values()]},
        ).rowcount
    stmt = update(table).where(table.c.id.in_(list(values)))
    if only_if_null:
        stmt = stmt.where(table.c[column].is_(None))
    return db.session.execute(
        stmt.values({column: case({i: literal(v, table.c[column].type) for i, v in values.items()}, value=table.c.id)})
    ).rowcount


def add_by_id(table, column: str, deltas: dict[int, int]) -> None:
    """UPDATE table SET column = column + deltas[id] for every id, in one statement."""
    from sqlalchemy import BigInteger, case, literal, text, update

    from .extensions import db

    if not deltas:
        return
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            text(f'UPDATE "{table.name}" SET "{column}" = "{table.name}"."{column}" + v.delta FROM unnest('
                 f'CAST(:ids AS BIGINT[]), CAST(:deltas AS BIGINT[])) AS v(id, delta) WHERE "{table.name}".id = v.id'),
            {"ids": list(deltas), "deltas": list(deltas.values())},
        )
        return
    col = table.c[column]
    db.session.execute(
        update(table).where(table.c.id.in_(list(deltas)))
        .values({column: col + case({i: literal(d, BigInteger) for i, d in deltas.items()}, value=table.c.id)})
    )


# ---------------------------------------------------------------------------
# Rows written by the database itself (PostgreSQL COPY)
# ---------------------------------------------------------------------------


def copy_csv_records(statement):
    """The rows of `statement` as PostgreSQL's `COPY (…) TO STDOUT WITH CSV`
    writes them, one record (UTF-8, ending in LF) at a time, read on the
    session's own connection and transaction.

    COPY takes no server-side parameters: the statement's values are bound
    by psycopg on the client (quoted by libpq), after SQLAlchemy's own
    conversion of each value for its column type (enums, UTC times)."""
    connection = db.session.connection()
    compiled = statement.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    processors = compiled._bind_processors
    params = {name: (processors[name](value) if name in processors else value)
              for name, value in compiled.construct_params().items()}
    cursor = connection.connection.driver_connection.cursor()
    try:
        # No JIT for the export: it would compile the plan's expressions for
        # 0.3–0.4 s before the first row, longer than it saves on a streamed
        # read that does little per row. For this transaction only.
        cursor.execute("SET LOCAL jit = off")
        with cursor.copy(f"COPY ({compiled.string}) TO STDOUT WITH (FORMAT csv)", params) as copy:
            # One CopyData message per row (PostgreSQL's protocol), so each
            # block is exactly one record.
            yield from copy
    finally:
        cursor.close()
