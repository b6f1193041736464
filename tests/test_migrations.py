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


@pytest.fixture
def empty_database(backend, tmp_path):
    """A database of its own with no schema yet, on each backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path}/empty.sqlite3"
        return
    import uuid

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"iseca_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_the_adjustment_reasons_written_before_become_codes(empty_database):
    """The words the code wrote before the reason codes become a code with
    its parameters; any other words stay as they are, without a code."""
    import datetime as dt
    import json

    import sqlalchemy as sa
    from flask_migrate import upgrade

    from iseca import create_app
    from iseca.money import settlement
    from tests.support.database import TEST_CONFIG

    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": empty_database})
    words = ["精算済み期間の決済の取消（取引番号 2502209001467134）",
             "2025年2月16日〜2月28日の精算額がマイナスのため繰越",
             "2025年2月16日〜2月28日分の振込不能による繰越（口座解約済み（2月末））",
             "窓口で手入力した調整"]
    with app.app_context():
        upgrade(revision="f7a8b9c0d1e2")  # the schema before the codes
        now = dt.datetime(2025, 3, 16, tzinfo=dt.UTC)
        with db.engine.begin() as conn:
            businesses = sa.Table("businesses", sa.MetaData(), autoload_with=conn)
            values = {"code": "B00001", "name": "ひまわり商店", "account_type": "1", "status": "active"}
            for column in businesses.columns:  # every other required column, plainly filled
                if column.name in values or column.nullable or column.primary_key or column.server_default is not None:
                    continue
                values[column.name] = now if isinstance(column.type, sa.DateTime) else ""
            business_id = conn.execute(businesses.insert().values(**values).returning(businesses.c.id)).scalar_one()
            adjustments = sa.Table("settlement_adjustments", sa.MetaData(), autoload_with=conn)
            conn.execute(adjustments.insert(), [{"business_id": business_id, "amount": -100, "reason": w,
                                                 "created_at": now} for w in words])
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT reason, reason_code, reason_params FROM settlement_adjustments "
                                        "ORDER BY id")).all()
        db.engine.dispose()
        params = [json.loads(p) if isinstance(p, str) else p for _, _, p in rows]
        assert [(r[0], r[1]) for r in rows] == list(zip(words, [
            "cancelled_after_close", "negative_carried", "transfer_failed", None], strict=True))
        assert params == [
            {"number": "2502209001467134"},
            {"starts_on": "2025-02-16", "ends_on": "2025-02-28"},
            {"starts_on": "2025-02-16", "ends_on": "2025-02-28", "reason": "口座解約済み（2月末）"},
            None,
        ]
        with app.test_request_context(headers={"Cookie": "lang=en"}):
            shown = [settlement.adjustment_reason(code, p, reason) for (reason, code, _), p in zip(rows, params, strict=True)]
        assert shown == [
            "Cancellation of a payment of a closed period (transaction number 2502209001467134)",
            "Carried over: the settlement for Feb 16 – 28, 2025 was negative",
            "Carried over: the transfer for Feb 16 – 28, 2025 failed (口座解約済み（2月末）)",
            "窓口で手入力した調整",
        ]
