"""The Alembic migration builds the schema the models describe, the same on
SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from iseca.extensions import db
from tests.support.database import PG_URL


def _schema(url: str) -> dict:
    """Tables, columns (generic type, nullability), primary keys, foreign
    keys, unique constraints, indexes and check constraint names."""
    engine = create_engine(url)
    insp = inspect(engine)
    schema = {}
    for table in sorted(insp.get_table_names()):
        if table == "alembic_version":
            continue
        columns = {}
        for col in insp.get_columns(table):
            generic = col["type"].as_generic() if hasattr(col["type"], "as_generic") else col["type"]
            type_name = type(generic).__name__
            length = getattr(generic, "length", None)
            columns[col["name"]] = (type_name, length, col["nullable"])
        schema[table] = {
            "columns": columns,
            "pk": tuple(insp.get_pk_constraint(table)["constrained_columns"]),
            "fks": sorted((tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]))
                          for fk in insp.get_foreign_keys(table)),
            "unique": sorted((u["name"], tuple(u["column_names"])) for u in insp.get_unique_constraints(table)),
            # PostgreSQL also lists the index behind each unique constraint.
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                              for i in insp.get_indexes(table) if not i.get("duplicates_constraint")),
            "checks": sorted(c["name"] for c in insp.get_check_constraints(table)),
        }
    engine.dispose()
    return schema


def test_migration_matches_models(app):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    assert diff == []


@pytest.mark.skipif(not PG_URL, reason="needs ISECA_TEST_DATABASE_URL (PostgreSQL)")
def test_migration_creates_same_schema_on_sqlite_and_postgresql(databases):
    sqlite_schema = _schema(databases.url("sqlite"))
    pg_schema = _schema(databases.url("postgresql"))
    assert sqlite_schema.keys() == pg_schema.keys()
    for table in sqlite_schema:
        assert sqlite_schema[table] == pg_schema[table], table
    assert "ledger_entries" in sqlite_schema and "payments" in sqlite_schema


def test_running_the_migrations_leaves_the_apps_warnings_on(tmp_path):
    """Alembic's logging set-up silenced every logger that already existed, so
    a process that migrated after starting (as the tests do for PostgreSQL)
    lost the app's warnings, e.g. 「Japanese font … not found」."""
    import logging

    from flask_migrate import upgrade

    from iseca import create_app
    from tests.support.database import TEST_CONFIG

    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/migrated.sqlite3"})
    app.logger.info("the app's logger exists before the migration, as in a running process")
    with app.app_context():
        upgrade()
        db.engine.dispose()
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    app.logger.addHandler(handler)
    try:
        app.logger.warning("after the migration")
    finally:
        app.logger.removeHandler(handler)
    assert seen == ["after the migration"]
