"""Many rows in one statement, and the rows of a query written by PostgreSQL
itself: closing a period writes thousands of settlements, ledger rows and
balances at once; the CSV of 利用状況一覧 is made by COPY.

On PostgreSQL rows go in by COPY … FROM STDIN (ids drawn from the table's
sequence first) and updates are one UPDATE … FROM unnest(arrays); elsewhere
one INSERT … RETURNING, or one UPDATE with a CASE on the id."""
from __future__ import annotations

from .extensions import db

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
