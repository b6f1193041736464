"""The query rules every domain module uses: one INSERT that ignores a taken
key, and the one LIKE rule of every search."""
from __future__ import annotations

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
