"""The 利用状況一覧 CSV is the same file, byte for byte, whichever database
wrote it: on PostgreSQL the database writes the rows (COPY), on SQLite the
Python writer does; both are compared here with the Python writer's file over
the same rows, with names that look like formulas, characters CP932 lacks,
quotes, commas, line breaks and cancelled payments."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from iseca.cms.usage import CSV_HEADER, CSV_IDENTIFIERS, _csv_row
from iseca.csvexport import CsvStream
from iseca.extensions import db
from iseca.merchants.records import create_register
from iseca.models import AccountKind, PaymentMethod
from iseca.money import cancellation, usage
from iseca.money.usage import UsageFilter
from iseca.timeutil import JST
from tests import factories
from tests.cms.test_usage import download, logged_in

AWKWARD_NAMES = [
    '=HYPERLINK("http://evil.example/","開く")',
    "+81-270-00-0000",
    "-1",
    "@SUM(A1)",
    "\tタブ",
    "＝全角イコール",
    "レジ, カンマ",
    'レジ "引用符"',
    "改行\nのあるレジ",
    "𠮷野家 髙﨑 ～ － ① — ¥",
    "普通のレジ",
]
FIRST_DAY = dt.date(2026, 3, 10)


@pytest.fixture
def awkward(app):
    """A store named like a formula, registers named awkwardly, payments at
    day boundaries, some cancelled by an account whose name starts with @."""
    store = factories.make_store(name='=cmd|" /C calc"!A0, 𠮷田"商店"')
    registers = [store.registers[0]] + [create_register(store, name) for name in AWKWARD_NAMES]
    db.session.commit()
    canceller = factories.account_of(AccountKind.STORE, store.code)
    canceller.name = "@取消 担当, \"山田\""
    campaign = factories.make_campaign()
    member, _ = factories.make_card_member(10_000_000, campaign)
    moments = [dt.time(0, 0), dt.time(23, 59, 59, 999_999), dt.time(12, 34, 56, 789_000), dt.time(9, 0, 1)]
    for i, register in enumerate(registers * 3):
        day = FIRST_DAY + dt.timedelta(days=i % 5)
        at = dt.datetime.combine(day, moments[i % len(moments)], JST).astimezone(dt.UTC)
        method = list(PaymentMethod)[i % 2]
        payment = factories.make_payment_at(register, member, 100 + 37 * i, at, method=method)
        if i % 3 == 0:
            cancellation.cancel_payment(payment, actor=canceller, at=at + dt.timedelta(minutes=90))
    db.session.commit()
    return store


def _python_file(f: UsageFilter, encoding: str) -> bytes:
    """The file as the Python writer makes it from the same rows."""
    stream = CsvStream(encoding, CSV_IDENTIFIERS)
    return b"".join(stream.chunks(CSV_HEADER, (_csv_row(r) for r in usage.iter_rows(f))))


@pytest.mark.parametrize("encoding,codec", [("cp932", "cp932"), ("utf-8", "utf-8-sig")])
def test_the_csv_is_the_same_file_whichever_database_writes_it(app, awkward, encoding, codec):
    client = logged_in(app, awkward.code)
    query = f"date_from={FIRST_DAY.isoformat()}&date_to={(FIRST_DAY + dt.timedelta(days=6)).isoformat()}"
    response, body = download(client, f"/cms/usage.csv?{query}&encoding={encoding}")
    assert response.status_code == 200

    f = UsageFilter(own_store_id=awkward.id, date_from=FIRST_DAY, date_to=FIRST_DAY + dt.timedelta(days=6))
    assert body == _python_file(f, encoding)

    rows = list(csv.reader(io.StringIO(body.decode(codec), newline="")))
    assert len(rows) == 1 + 3 * (1 + len(AWKWARD_NAMES))
    assert all(len(row) == len(CSV_HEADER) for row in rows)
    # Every line ends in CRLF; the line break inside a quoted name stays a bare LF.
    in_name = "改行\nのあるレジ".encode("cp932" if encoding == "cp932" else "utf-8")
    assert body.endswith(b"\r\n") and b"\n" not in body.replace(b"\r\n", b"").replace(in_name, b"")
    registers = {row[4] for row in rows[1:]}
    assert "'=HYPERLINK(\"http://evil.example/\",\"開く\")" in registers
    assert {"'+81-270-00-0000", "'-1", "'@SUM(A1)", "'\tタブ", "'＝全角イコール", "レジ, カンマ", 'レジ "引用符"',
            "改行\nのあるレジ"} <= registers
    names = {row[3] for row in rows[1:]}
    if encoding == "cp932":
        assert names == {'\'=cmd|" /C calc"!A0, 〓田"商店"'}
        assert "〓野家 髙﨑 ～ － ① ― ￥" in registers
        assert rows[1][1].startswith('="') and rows[1][5].startswith('="')
    else:
        assert names == {'\'=cmd|" /C calc"!A0, 𠮷田"商店"'}
        assert "𠮷野家 髙﨑 ～ － ① — ¥" in registers
    cancelled = [row for row in rows[1:] if row[8] == "取消済"]
    assert len(cancelled) == 12
    assert all(row[10] == f"'@取消 担当, \"山田\"（{awkward.code}）" for row in cancelled)
    assert all(row[9] and row[9][:4] == "2026" for row in cancelled)
    assert {row[0][-8:] for row in rows[1:]} == {"00:00:00", "23:59:59", "12:34:56", "09:00:01"}
