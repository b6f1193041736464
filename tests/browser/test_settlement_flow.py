"""The whole 精算 path in a browser: staff import the schedule, close a
period, make the transfer file and mark it done; the business opens 精算,
sees 振込済 and the amount, downloads its 利用額明細 (PDF and CSV); the
振込完了通知 arrives at a real SMTP server."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from iseca.timeutil import JST
from tests import factories
from tests.support.browser import log_in, screenshot

GUIDE_TABLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "transfer-schedule.csv"


def test_staff_close_export_and_pay_then_the_business_sees_it(new_context, smtp, tmp_path):  # noqa: F811
    if not GUIDE_TABLE.exists():  # pragma: no cover
        pytest.skip("the guide's table is not beside the repository")
    business = factories.make_business(name="ひまわり商店", email="himawari@example.jp", bank_code="0001",
                                       branch_code="001", account_number="1234567", account_holder_kana="ﾋﾏﾜﾘｼﾖｳﾃﾝ")
    store = factories.make_store(business, name="ひまわり本店")
    member, _ = factories.make_card_member(100_000)
    for minute, amount in enumerate((3_300, 8_000)):
        factories.make_payment_at(store.registers[0], member, amount, dt.datetime(2025, 2, 20, 10, minute, tzinfo=JST))
    factories.make_staff()
    errors: list[str] = []

    # --- Staff at the counter, on a desktop ---------------------------------
    staff = new_context(viewport={"width": 1280, "height": 900}).new_page()
    staff.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log_in(staff, "counter", "staff1")
    staff.get_by_role("navigation", name="メニュー").get_by_text("精算").click()
    staff.get_by_label("振込スケジュールのCSV").set_input_files(str(GUIDE_TABLE))
    staff.get_by_role("button", name="取り込む").click()
    staff.get_by_text("振込スケジュールを取り込みました（25期間").wait_for()
    # The one period with payments is listed; the guide's other 24 periods, empty, are behind a toggle.
    assert staff.locator("#periods tbody tr").count() == 1
    assert staff.get_by_text("取引のない終了済みの期間（24期間）").is_visible()
    screenshot(staff, "counter-settlements")

    staff.get_by_role("link", name="終了した期間をすべて締める").click()
    staff.get_by_text("次の25期間を古い順に締めます").wait_for()
    staff.get_by_role("button", name="締める").click()
    staff.get_by_text("25期間を締めました（1件の精算、振込合計11,300円）").wait_for()
    staff.get_by_role("link", name="令和7年2月16日から28日まで").click()
    staff.get_by_role("heading", name="令和7年2月16日から28日まで").wait_for()
    staff.get_by_role("button", name="振込データを作成する").click()
    staff.get_by_text("振込データを作成しました（1件）").wait_for()
    with staff.expect_download() as download:
        staff.get_by_role("link", name=re.compile("全銀ファイル")).click()
    data = Path(download.value.path()).read_bytes()
    assert len(data) == 4 * 122 and data.split(b"\r\n")[1][80:90] == b"0000011300"
    screenshot(staff, "counter-settlement-period")
    staff.get_by_role("link", name="振込完了にする").click()
    today = dt.datetime.now(JST).date()
    day = staff.get_by_label("振込日")
    assert day.input_value() == today.isoformat()  # the day the bank paid: today unless changed
    day.fill((today + dt.timedelta(days=1)).isoformat())  # not yet paid
    staff.get_by_role("button", name="振込済にする").click()
    staff.locator("#transferred_on-error").get_by_text("振込日に未来の日付").wait_for()
    assert staff.get_by_label("振込日").input_value() == (today + dt.timedelta(days=1)).isoformat()
    screenshot(staff, "counter-settlement-done-refused")
    # The refusal's 422 is logged by the browser and by htmx, as it should be: nothing else may be.
    assert errors and all("422" in e for e in errors), errors
    errors.clear()
    staff.get_by_label("振込日").fill(today.isoformat())
    staff.get_by_role("button", name="振込済にする").click()
    staff.get_by_text("1件を振込済（振込日 ").wait_for()
    staff.get_by_text("振込データの振込はすべて振込済です。").wait_for()
    assert staff.get_by_role("link", name="振込完了にする").count() == 0

    # --- The 振込完了通知 at the SMTP server -------------------------------
    [mail] = smtp.wait_for_subject("【ISECA】振込完了通知")
    body = smtp.body(mail)
    assert mail["To"] == "himawari@example.jp"
    assert "11,300円" in body and f"（{today.isoformat()}）" in body and "令和7年2月16日から28日まで" in body

    # --- The business, on a phone -------------------------------------------
    owner = new_context().new_page()
    log_in(owner, "cms", business.code, kind="business")
    owner.get_by_role("link", name="精算").first.click()
    row = owner.locator("tr", has_text="令和7年2月16日から28日まで").first
    assert "振込済" in row.inner_text() and "11,300円" in row.inner_text()
    screenshot(owner, "cms-settlements")
    with owner.expect_download() as pdf_download:
        row.get_by_role("link", name="PDF").click()
    pdf = tmp_path / "meisai.pdf"
    pdf_download.value.save_as(pdf)
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert re.search(r"振込金額\s+11,300円", text) and "振込済" in text
    with owner.expect_download() as csv_download:
        row.get_by_role("link", name="CSV").click()
    rows = list(csv.reader(io.StringIO(Path(csv_download.value.path()).read_bytes().decode("cp932"))))
    assert ["振込金額", "", "", "", "", "11300", ""] in rows
    assert errors == []
