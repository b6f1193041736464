"""Many rows in one statement, and the rows of a query written by PostgreSQL
itself: closing a period writes thousands of settlements, ledger rows and
balances at once; the CSV of 利用状況一覧 is made by COPY.

On PostgreSQL rows go in by COPY … FROM STDIN (ids drawn from the table's
sequence first) and updates are one UPDATE … FROM unnest(arrays); elsewhere
one INSERT … RETURNING, or one UPDATE with a CASE on the id."""
from __future__ import annotations

import datetime as dt
import enum
import json

from sqlalchemy import BigInteger, case, cast, func, literal, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from .extensions import db

# ---------------------------------------------------------------------------
# Many rows in one statement (closing a period writes thousands)
# ---------------------------------------------------------------------------


def _plain(value):
    """A value as the column stores it: enums by their value, times as naive UTC."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def _on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _array(values: list, item_type):
    """`values` bound as they are (the driver makes the array), cast to `item_type[]`."""
    return cast(literal(values, None), ARRAY(item_type))


def _copy_insert(table, rows: list[dict]) -> None:
    """PostgreSQL: the rows through COPY … FROM STDIN on the session's own
    connection (same transaction), the fastest way PostgreSQL takes rows."""
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
    connection = db.session.connection()
    # COPY is no statement SQLAlchemy builds: its names quoted as the dialect quotes them.
    preparer = connection.dialect.identifier_preparer
    columns = ", ".join(preparer.quote(name) for name in names)
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {preparer.format_table(table)} ({columns}) FROM STDIN") as copy:
        for row in rows:
            merged = {**defaults, **row}
            copy.write_row([_plain(merged[name]) for name in names])


def insert_rows(table, rows: list[dict]) -> list[int]:
    """Insert `rows` (dicts with the same keys) into `table` and return their
    new ids in order. On PostgreSQL the ids are drawn from the table's
    sequence first and the rows written by COPY; elsewhere
    one INSERT … RETURNING per batch."""
    if not rows:
        return []
    if _on_postgresql():
        preparer = db.session.get_bind().dialect.identifier_preparer
        # pg_get_serial_sequence reads its first argument as SQL does a table name.
        sequence = func.pg_get_serial_sequence(preparer.format_table(table), table.c.id.name)
        ids = list(db.session.scalars(
            select(func.nextval(sequence, type_=BigInteger)).select_from(func.generate_series(1, len(rows)))
        ))
        _copy_insert(table, [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
        return ids
    return list(db.session.scalars(table.insert().returning(table.c.id, sort_by_parameter_order=True), rows))


def insert_rows_without_ids(table, rows: list[dict]) -> None:
    """Insert `rows` when their ids are not needed."""
    if not rows:
        return
    if _on_postgresql():
        _copy_insert(table, rows)
    else:
        db.session.execute(table.insert(), rows)


def set_by_id(table, column: str, values: dict[int, object], *, only_if_null: bool = False) -> int:
    """UPDATE table SET column = values[id] for every id, in one statement;
    `only_if_null`: only rows where the column is still NULL (the first
    writer wins). Returns the number of rows changed."""
    if not values:
        return 0
    target = table.c[column]
    if _on_postgresql():
        pairs = func.unnest(
            _array(list(values), BigInteger), _array([_plain(v) for v in values.values()], target.type),
        ).table_valued("id", "value").render_derived(name="v")
        stmt = update(table).values({target: pairs.c.value}).where(table.c.id == pairs.c.id)
    else:
        stmt = update(table).where(table.c.id.in_(list(values))).values(
            {target: case({i: literal(v, target.type) for i, v in values.items()}, value=table.c.id)})
    if only_if_null:
        stmt = stmt.where(target.is_(None))
    return db.session.execute(stmt).rowcount


def add_by_id(table, column: str, deltas: dict[int, int]) -> None:
    """UPDATE table SET column = column + deltas[id] for every id, in one statement."""
    if not deltas:
        return
    target = table.c[column]
    if _on_postgresql():
        pairs = func.unnest(_array(list(deltas), BigInteger), _array(list(deltas.values()), BigInteger)).table_valued(
            "id", "delta").render_derived(name="v")
        stmt = update(table).values({target: target + pairs.c.delta}).where(table.c.id == pairs.c.id)
    else:
        stmt = update(table).where(table.c.id.in_(list(deltas))).values(
            {target: target + case({i: literal(d, BigInteger) for i, d in deltas.items()}, value=table.c.id)})
    db.session.execute(stmt)


# ---------------------------------------------------------------------------
# Rows written by the database itself (PostgreSQL COPY)
# ---------------------------------------------------------------------------


def _bound_values(compiled, expanded) -> dict:
    """The statement's values as the driver would receive them: each passed
    through its type's conversion for the dialect (enums, UTC times), the
    elements of IN lists included."""
    dialect = compiled.dialect
    processors = {}
    for name, bind in compiled.binds.items():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors[compiled.escaped_bind_names.get(name, name)] = processor
    processors.update(expanded.processors)  # one per element of an expanded IN list
    return {name: (processors[name](value) if name in processors else value)
            for name, value in expanded.parameters.items()}


def copy_csv_records(statement):
    """The rows of `statement` as PostgreSQL's `COPY (…) TO STDOUT WITH CSV`
    writes them, one record (UTF-8, ending in LF) at a time, read on the
    session's own connection and transaction.

    COPY takes no server-side parameters: the statement's values are bound
    by psycopg on the client (quoted by libpq), after SQLAlchemy's own
    conversion of each value for its column type (enums, UTC times)."""
    connection = db.session.connection()
    compiled = statement.compile(dialect=connection.dialect)
    expanded = compiled.construct_expanded_state()  # IN lists written out, one bound value each
    params = _bound_values(compiled, expanded)
    cursor = connection.connection.driver_connection.cursor()
    try:
        # No JIT for the export: it would compile the plan's expressions for
        # 0.3–0.4 s before the first row, longer than it saves on a streamed
        # read that does little per row. For this transaction only.
        cursor.execute("SET LOCAL jit = off")
        with cursor.copy(f"COPY ({expanded.statement}) TO STDOUT WITH (FORMAT csv)", params) as copy:
            # One CopyData message per row (PostgreSQL's protocol), so each
            # block is exactly one record.
            yield from copy
    finally:
        cursor.close()
