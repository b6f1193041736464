"""Many rows in one statement, and the rows of a query as COPY writes them:
the same outcome on SQLite and PostgreSQL, whatever the server's time zone."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text

from iseca import bulk
from iseca.extensions import db
from iseca.models import LedgerAccount, LedgerAccountKind, LedgerTransaction, LedgerTransactionKind
from iseca.timeutil import JST
from tests import factories

AT = dt.datetime(2026, 3, 10, 0, 0, tzinfo=JST)  # 2026-03-09 15:00 UTC, as the column stores it


def _transactions(*memos_at: tuple[str, dt.datetime]) -> list[int]:
    return bulk.insert_rows(LedgerTransaction.__table__, [
        {"kind": LedgerTransactionKind.GRANT, "memo": memo, "created_at": at} for memo, at in memos_at
    ])


def test_inserted_rows_get_their_ids_in_order(app):
    ids = _transactions(("一", AT), ("二", AT + dt.timedelta(seconds=1)), ("三", AT + dt.timedelta(hours=9)))
    db.session.commit()

    rows = [db.session.get(LedgerTransaction, i) for i in ids]
    assert [(r.memo, r.kind, r.created_at) for r in rows] == [
        ("一", LedgerTransactionKind.GRANT, AT),
        ("二", LedgerTransactionKind.GRANT, AT + dt.timedelta(seconds=1)),
        ("三", LedgerTransactionKind.GRANT, AT + dt.timedelta(hours=9)),
    ]


def test_values_and_deltas_by_id_change_only_the_rows_named(app):
    first, second = factories.make_campaign(name="一"), factories.make_campaign(name="二")
    a, b, c = bulk.insert_rows(LedgerAccount.__table__, [{"kind": LedgerAccountKind.ISSUER}] * 3)

    assert bulk.set_by_id(LedgerAccount.__table__, "campaign_id", {a: first.id, b: first.id}) == 2
    # The first writer wins: `a` keeps its campaign, `c` (still empty) takes the second.
    assert bulk.set_by_id(LedgerAccount.__table__, "campaign_id", {a: second.id, c: second.id}, only_if_null=True) == 1
    bulk.add_by_id(LedgerAccount.__table__, "balance", {a: 5, b: -3})
    bulk.add_by_id(LedgerAccount.__table__, "balance", {a: 5, b: -3})
    db.session.commit()

    accounts = db.session.execute(
        select(LedgerAccount.id, LedgerAccount.campaign_id, LedgerAccount.balance).where(LedgerAccount.id.in_([a, b, c]))
    ).all()
    assert sorted(accounts) == [(a, first.id, 10), (b, first.id, -6), (c, second.id, 0)]


def test_copied_rows_are_chosen_by_the_moments_stored_whatever_the_server_time_zone(app, backend):
    """COPY binds its values on the client: each goes through its column's
    conversion (aware times to naive UTC), the elements of an IN list too."""
    if backend != "postgresql":
        pytest.skip("COPY … TO STDOUT is PostgreSQL's")
    _transactions(("その時", AT), ("九時間後", AT + dt.timedelta(hours=9)))
    db.session.execute(text("SET LOCAL TimeZone = 'Asia/Tokyo'"))  # not the UTC the columns hold

    def copied(condition) -> list[bytes]:
        statement = select(LedgerTransaction.memo).where(condition).order_by(LedgerTransaction.id)
        return [bytes(record) for record in bulk.copy_csv_records(statement)]

    assert copied(LedgerTransaction.created_at.in_([AT])) == ["その時\n".encode()]
    assert copied(LedgerTransaction.created_at > AT) == ["九時間後\n".encode()]
    assert copied(LedgerTransaction.created_at.between(AT, AT + dt.timedelta(hours=9))) == [
        "その時\n".encode(), "九時間後\n".encode()]
