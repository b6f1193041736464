"""The query rules every domain module uses: one INSERT that ignores a taken
key, the one LIKE rule of every search, and reads from one snapshot."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.dialects import postgresql, sqlite

from .extensions import db


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


@contextmanager
def one_snapshot() -> Iterator[None]:
    """Reads that must agree with each other (sums of entries against
    balances, payments against their day totals) see one moment of the
    database. On PostgreSQL a REPEATABLE READ, READ ONLY transaction: under
    READ COMMITTED each statement sees its own moment, and a payment committed
    between two of them looked like broken books. SQLite's transaction is one
    snapshot already. Commits what the session holds first (the isolation is
    chosen when a transaction begins) and ends the snapshot with a rollback."""
    db.session.commit()
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True})
    try:
        yield
    finally:
        db.session.rollback()
