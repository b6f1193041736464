"""The benchmarks' own PostgreSQL databases: made fresh for a run, dropped after."""
from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def admin(url: str):
    """An AUTOCOMMIT engine on the server's `postgres` database (CREATE/DROP DATABASE)."""
    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def fresh_database(url: str) -> None:
    """Drop and create the database that `url` names."""
    name = make_url(url).database
    with admin(url).connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))


def drop_database(url: str) -> None:
    """Drop the database that `url` names."""
    name = make_url(url).database
    with admin(url).connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def finish(app, url: str, keep: bool) -> None:
    """End the run's connections, then drop its database unless asked to keep it."""
    from iseca.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if not keep:
        drop_database(url)
