"""What a merchant sees when the 利用状況一覧 and 日計 CSVs are opened in a
spreadsheet: names that look like formulas stay text, 取引番号 and 会員コード
keep every digit, amounts stay numbers (negative ones too), dates stay dates.

The names arrive as an attacker would send them: a store applied for on the
public form and a register renamed in the management site. The files are
opened by a real spreadsheet program (LibreOffice, headless) and read back
cell by cell with openpyxl."""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
import subprocess

import openpyxl
import pytest
from sqlalchemy import select

from iseca import passwords
from iseca.extensions import db
from iseca.models import Account, AccountKind, MerchantApplication, Store, utcnow
from iseca.timeutil import JST, today_jst
from tests import factories
from tests.cms.test_usage import download
from tests.factories import application_form
from tests.support.client import basic_auth_header, login, post_form

STORE_NAME = '=HYPERLINK("http://evil.example/","請求書を開く")'
REGISTER_NAME = "=1+2+cmd|' /C calc'!A0"
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.fixture
def hostile_store(app):
    """A store named like a formula through the public application form and
    the counter's approval, with a register renamed like a formula through
    「名前を変更」, one payment made yesterday and cancelled today (so that
    today's 差引 in the 日計 is negative)."""
    gate = app.test_client()
    gate.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
    form = application_form(stores=1, **{"stores-0-name": STORE_NAME})
    assert post_form(gate, "/apply", form).status_code == 303

    staff = app.test_client()
    factories.make_staff()
    assert login(staff, "staff1", factories.PASSWORD, area="counter", kind=None).status_code == 303
    application = db.session.scalar(select(MerchantApplication))
    resp = post_form(staff, f"/counter/applications/{application.id}/approve", {},
                     page_url=f"/counter/applications/{application.id}")
    assert resp.status_code == 303
    store = db.session.scalar(select(Store))
    assert store.name == STORE_NAME

    # The mailed initial password is replaced by a known one (the mail path has tests of its own).
    account = db.session.scalar(select(Account).where(Account.kind == AccountKind.STORE, Account.store_id == store.id))
    passwords.set_password(account, factories.PASSWORD, initial=False)
    db.session.commit()
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
    assert login(client, store.code, factories.PASSWORD).status_code == 303

    register = store.registers[0]
    resp = post_form(client, f"/cms/registers/{register.id}/rename", {"name": REGISTER_NAME})
    assert resp.status_code == 303, resp.get_data(as_text=True)
    db.session.refresh(register)
    assert register.name == REGISTER_NAME

    member, _ = factories.make_card_member(10_000)
    kept = factories.make_payment_at(register, member, 2_500, utcnow())
    cancelled = factories.make_payment_at(register, member, 4_000, utcnow() - dt.timedelta(days=1))
    resp = post_form(client, f"/cms/usage/{cancelled.id}/cancel", {"password": factories.PASSWORD})
    assert resp.status_code == 303, resp.get_data(as_text=True)
    return client, store, member, kept, cancelled


def _query() -> str:
    first = (today_jst() - dt.timedelta(days=3)).isoformat()
    last = (today_jst() + dt.timedelta(days=1)).isoformat()
    return f"date_from={first}&date_to={last}"


def _rows(body: bytes, encoding: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode(encoding), newline="")))


@pytest.mark.parametrize("encoding,codec", [("cp932", "cp932"), ("utf-8", "utf-8-sig")])
def test_names_that_look_like_formulas_are_written_as_text(app, hostile_store, encoding, codec):
    client, store, member, kept, cancelled = hostile_store
    _, body = download(client, f"/cms/usage.csv?{_query()}&encoding={encoding}")
    rows = _rows(body, codec)
    assert [r[3] for r in rows[1:]] == ["'" + STORE_NAME] * 2
    assert [r[4] for r in rows[1:]] == ["'" + REGISTER_NAME] * 2
    assert sorted(int(r[7]) for r in rows[1:]) == [2_500, 4_000]  # amounts are bare numbers

    _, body = download(client, f"/cms/usage/daily.csv?{_query()}&encoding={encoding}")
    daily = _rows(body, codec)
    assert {(r[2], r[3]) for r in daily[1:]} == {("'" + STORE_NAME, "'" + REGISTER_NAME)}
    # Today: the 2,500 payment, and the 4,000 cancellation of yesterday's payment.
    today = today_jst().strftime("%Y/%m/%d")
    line = next(r for r in daily[1:] if r[0] == today)
    assert line[5:] == ["2500", "1", "4000", "-1500"]  # a negative 差引 stays a plain number


def _open_in_libreoffice(tmp_path, files: dict[str, bytes], charset: str) -> dict[str, openpyxl.worksheet.worksheet.Worksheet]:
    """Open CSV files as LibreOffice Calc does and read the cells it made."""
    if SOFFICE is None:
        if os.environ.get("CI"):
            pytest.fail("soffice not found: .ci/run installs libreoffice-calc-nogui")
        pytest.skip("spreadsheet test skipped: LibreOffice is not installed "
                    "(apt-get install --no-install-recommends libreoffice-calc-nogui)")
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    # CSV import options, in LibreOffice's order: separator 44 (,), text delimiter 34 ("),
    # character set (64 = Windows-932, 76 = UTF-8), data from line 1, standard column
    # types, language 1041 (Japanese), quoted fields not forced to text, special numbers
    # (dates) detected as Excel does; formulas are evaluated (LibreOffice's default).
    options = f"CSV:44,34,{charset},1,,1041,false,true"
    subprocess.run(
        [SOFFICE, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless", "--norestore",
         f"--infilter={options}", "--convert-to", "xlsx", "--outdir", str(tmp_path / "xlsx"),
         *[str(tmp_path / name) for name in files]],
        check=True, capture_output=True, timeout=180,
    )
    return {name: openpyxl.load_workbook(tmp_path / "xlsx" / name.replace(".csv", ".xlsx"), data_only=True).active
            for name in files}


def test_the_excel_csv_keeps_codes_amounts_and_dates_in_a_spreadsheet(app, hostile_store, tmp_path):
    client, store, member, kept, cancelled = hostile_store
    _, usage_csv = download(client, f"/cms/usage.csv?{_query()}")
    _, daily_csv = download(client, f"/cms/usage/daily.csv?{_query()}")
    sheets = _open_in_libreoffice(tmp_path, {"usage.csv": usage_csv, "daily.csv": daily_csv}, charset="64")

    usage = sheets["usage.csv"]
    assert [c.value for c in usage[1]][:3] == ["利用日時（日本時間 JST）", "取引番号", "店舗コード"]
    lines = {row[1].value: row for row in usage.iter_rows(min_row=2)}
    assert set(lines) == {kept.number, cancelled.number}  # every digit, as text
    assert all(len(n) == 16 for n in lines)
    for number, payment, amount in ((kept.number, kept, 2_500), (cancelled.number, cancelled, 4_000)):
        row = lines[number]
        assert row[0].is_date and isinstance(row[0].value, dt.datetime)
        assert row[0].value == payment.created_at.astimezone(JST).replace(
            tzinfo=None, microsecond=0)
        assert row[1].data_type == "s" and row[1].value == number
        assert row[2].value == store.code
        assert (row[3].data_type, row[3].value) == ("s", "'" + STORE_NAME)  # shown, never run
        assert (row[4].data_type, row[4].value) == ("s", "'" + REGISTER_NAME)
        assert row[5].data_type == "s" and row[5].value == member.code and len(row[5].value) == 10
        assert row[7].data_type == "n" and row[7].value == amount
    assert lines[cancelled.number][9].is_date  # 取消日時
    assert lines[kept.number][11].is_date  # 取消可能期限

    daily = sheets["daily.csv"]
    days = list(daily.iter_rows(min_row=2))
    assert all(row[0].is_date for row in days)
    assert all(row[1].value == store.code for row in days)
    assert all(row[2].data_type == "s" and row[2].value == "'" + STORE_NAME for row in days)
    today = next(row for row in days if row[0].value.date() == today_jst())
    assert [c.value for c in today[4:]] == [1, 2_500, 1, 4_000, -1_500]
    assert all(c.data_type == "n" for c in today[4:])


def test_member_codes_with_leading_zeros_keep_them_in_a_spreadsheet(app, tmp_path):
    store = factories.make_store()
    member, _ = factories.make_card_member(1_000)
    member.code = "0012345678"
    db.session.commit()
    payment = factories.make_payment_at(store.registers[0], member, 300, utcnow())
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
    assert login(client, store.code, factories.PASSWORD).status_code == 303
    _, usage_csv = download(client, f"/cms/usage.csv?{_query()}")
    row = _open_in_libreoffice(tmp_path, {"usage.csv": usage_csv}, charset="64")["usage.csv"][2]
    assert row[1].value == payment.number
    assert row[5].value == "0012345678"
    assert row[7].value == 300
