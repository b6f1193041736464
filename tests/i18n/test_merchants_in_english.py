"""The merchant part in English beyond the page walk: form errors after a
bad POST, the till's payment flow, mails in the recipient's language over a
real SMTP server, CSV files for Excel outside Japan (read back in a real
spreadsheet) and the PDFs (statement, QR sheet) in the reader's language."""
from __future__ import annotations

import datetime as dt
import html as html_lib
import os
import re
import shutil
import subprocess

import openpyxl
import pytest
from sqlalchemy import select

from iseca import outbox
from iseca.extensions import db
from iseca.models import Account, AccountKind, SettlementPeriod
from iseca.money import settlement, zengin
from iseca.timeutil import JST
from tests import factories
from tests.i18n.test_pages_in_language import JAPANESE
from tests.qr_helpers import pdf_text
from tests.support.client import csrf_from, login, post_form
from tests.terminal.test_pay import read_card, submit_page_form

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
ERRORS = re.compile(r'<ul class="errors" id="([^"]+)-error">(.*?)</ul>', re.S)


def english(client):
    client.set_cookie("lang", "en")
    return client


def choose_english(business):
    """The business account's own language setting (what the switch stores)."""
    account = db.session.scalar(select(Account).where(Account.business_id == business.id,
                                                      Account.kind == AccountKind.BUSINESS))
    account.locale = "en"
    db.session.commit()


def field_errors(html: str) -> dict[str, str]:
    """{field id: its messages}, as shown next to each field."""
    return {field: html_lib.unescape(re.sub(r"<[^>]+>", " ", messages)).strip()
            for field, messages in ERRORS.findall(html)}


# --- Forms: English messages next to the field ---------------------------------------------------


def test_bad_store_details_in_english_show_english_messages_next_to_each_field(client):
    store = factories.make_store()
    assert login(client, store.code, factories.PASSWORD).status_code == 303
    english(client)
    resp = post_form(client, f"/cms/stores/{store.id}", {
        "category": store.category or "飲食", "area": "伊勢崎地区", "postal_code": "12", "address": "東京都千代田区1-1",
        "phone": "abc", "hours": "", "website": "ftp://example.jp",
    })
    html = resp.get_data(as_text=True)
    errors = field_errors(html)
    assert errors["postal_code"] == "Enter the postal code as 7 digits (e.g. 372-8501)."
    assert errors["phone"] == "Enter the phone number with its area code (e.g. 0270-27-2708)."
    assert errors["hours"] == "Opening hours is required."
    assert errors["website"] == "Enter a website address starting with http:// or https://."
    assert errors["address"].startswith("ISECA merchants must have their store or office in Isesaki City.")
    assert '<html lang="en">' in html and "Store details" in html


def test_bad_application_in_english_keeps_what_was_typed_and_says_what_is_wrong(client):
    english(client)
    form = factories.application_form(stores=1, bank_code="9999", email="not-an-address", name="")
    page = client.get("/apply")
    resp = client.post("/apply", data={**form, "csrf_token": csrf_from(page.get_data(as_text=True))})
    html = resp.get_data(as_text=True)
    errors = field_errors(html)
    assert errors["name"] == "Business name is required."
    assert errors["email"] == "This is not a valid e-mail address (e.g. info@example.jp)."
    assert errors["bank_code"].startswith('No bank has the bank code "9999".')
    assert "Everything you entered has been kept." in html and 'value="not-an-address"' in html
    assert not [m for m in errors.values() if JAPANESE.search(m.replace("9999", ""))]


# --- The till in English --------------------------------------------------------------------------


def test_terminal_payment_in_english_amount_confirmation_and_completion_in_japan_time(client):
    store = factories.make_store(confirm_before_charge=True)
    assert login(client, store.code, factories.PASSWORD, area="terminal", kind=None).status_code == 303
    english(client)
    member, card = factories.make_card_member(5_000)
    params = read_card(client, card.number)
    amount_page = client.get("/terminal/pay/amount", query_string=params).get_data(as_text=True)
    assert "Enter the amount" in amount_page and "Points available" in amount_page
    assert "<strong>5,000</strong> points" in amount_page and "(ISECA card)" in amount_page
    assert ">Review</button>" in amount_page

    bad = submit_page_form(client, amount_page, amount="abc")
    assert bad.status_code in (200, 422) and 'lang="en"' in bad.get_data(as_text=True)

    confirm = submit_page_form(client, amount_page, amount="1280")
    confirm_page = confirm.get_data(as_text=True)
    assert "Confirm the payment" in confirm_page and "¥1,280" in confirm_page and ">Pay</button>" in confirm_page

    done = submit_page_form(client, confirm_page)
    assert done.status_code == 303
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Payment complete" in page and "¥1,280" in page and "3,720 points" in page
    shown = re.search(r"Paid at</dt><dd>([^<]+)</dd>", page).group(1)
    assert shown.endswith("(Japan time)")
    assert not JAPANESE.search(shown)
    assert re.search(r"[A-Z][a-z]{2} \d{1,2}, \d{4}", shown), shown  # the month by name, Babel's order


# --- Mails in the recipient's language, at a real SMTP server --------------------------------------


@pytest.fixture
def two_businesses(app):
    """One business whose account chose English, one that never chose (Japanese)."""
    en = factories.make_business(name="Sunflower Ltd", email="sunflower@example.jp", bank_code="0009",
                                 branch_code="001", account_number="7654321", account_holder_kana="ｻﾝﾌﾗﾜ-")
    ja = factories.make_business(name="あさひ商店", email="asahi@example.jp", bank_code="0001", branch_code="001",
                                 account_number="1234567", account_holder_kana="ｱｻﾋ")
    choose_english(en)
    return en, ja


def test_bank_change_mail_goes_out_in_the_language_the_business_chose(client, two_businesses, smtp):
    en, _ = two_businesses
    factories.make_store(en)
    assert login(client, en.code, factories.PASSWORD, kind="business").status_code == 303
    resp = post_form(client, "/cms/business", {
        "representative": "Hanako Akabori", "postal_code": "379-2204", "address": "群馬県伊勢崎市西久保町2-10",
        "phone": "0270-00-0002", "email": "sunflower@example.jp", "bank_code": "0001", "branch_code": "001",
        "account_type": "1", "account_number": "1234567", "account_holder_kana": "サンフラワー",
    })
    assert resp.status_code == 303
    [mail] = smtp.messages
    assert mail["Subject"] == "[ISECA] Your bank account for transfers was changed"
    body = smtp.body(mail)
    assert body.startswith("Dear Sunflower Ltd,")
    assert "Your bank account for transfers was changed in the management site" in body
    assert "****321" in body and "****567" in body and "Ordinary" in body
    assert "ISECA Counter (Isesaki City, Planning Department" in body
    assert "振込先口座が変更されました" not in body and "様" not in body


def test_transfer_notices_go_out_in_english_and_in_japanese_as_each_business_reads(app, two_businesses, smtp):
    en, ja = two_businesses
    member, _ = factories.make_card_member(100_000)
    for business, amount in ((en, 4_321), (ja, 1_000)):
        store = factories.make_store(business)
        factories.make_payment_at(store.registers[0], member, amount, dt.datetime(2025, 2, 20, 10, tzinfo=JST))
    period = db.session.scalar(select(SettlementPeriod).where(SettlementPeriod.starts_on == dt.date(2025, 2, 16)))
    settlement.close_period(period, at=dt.datetime(2025, 3, 1, 1, tzinfo=JST))
    period.transfer_date = dt.date(2025, 3, 19)
    zengin.prepare_transfers(period, at=dt.datetime(2025, 3, 18, 10, tzinfo=JST))
    settlement.mark_transferred(period, on=dt.date(2025, 3, 19))
    db.session.commit()
    assert outbox.send_pending()["sent"] == 2

    [english_mail] = [m for m in smtp.messages if m["To"] == "sunflower@example.jp"]
    assert english_mail["Subject"] == "[ISECA] Transfer notice"
    body = smtp.body(english_mail)
    for text in ("Dear Sunflower Ltd,", "Your ISECA (Isesaki City e-currency) settlement has been transferred.",
                 "Feb 16 – 28, 2025", "Mar 19, 2025 (2025-03-19)", "¥4,321", "他)ジムカンカ",
                 "https://iseca.example.jp/cms/settlements", "No transfer notice is sent on paper."):
        assert text in body, text
    assert "令和" not in body and "振込" not in body

    [japanese_mail] = [m for m in smtp.messages if m["To"] == "asahi@example.jp"]
    assert japanese_mail["Subject"] == "【ISECA】振込完了通知"
    body = smtp.body(japanese_mail)
    for text in ("あさひ商店 様", "振込日　　　：令和7年3月19日（2025-03-19）", "振込金額　　：1,000円",
                 "売上対象期間：令和7年2月16日から28日まで", "書面による振込通知書の送付は行いません。"):
        assert text in body, text


def test_the_application_receipt_speaks_the_language_used_on_apply(client, smtp):
    english(client)
    form = factories.application_form(stores=1, email="newshop@example.jp")
    resp = post_form(client, "/apply", form)
    assert resp.status_code == 303
    [mail] = smtp.messages
    assert mail["Subject"] == "[ISECA] We have received your merchant application"
    body = smtp.body(mail)
    assert "We have received your application to become an ISECA (Isesaki City e-currency) merchant." in body
    assert "受け付けました" not in body


# --- CSV for Excel outside Japan --------------------------------------------------------------------


@pytest.fixture
def paid_store(client):
    store = factories.make_store()
    member, _ = factories.make_card_member(10_000)
    at = dt.datetime.now(JST).replace(hour=10, minute=2, second=3, microsecond=0)
    payment = factories.make_payment_at(store.registers[0], member, 1_280, at)
    assert login(client, store.code, factories.PASSWORD).status_code == 303
    return client, store, payment, at


def test_usage_csv_in_english_is_utf8_with_bom_english_words_and_iso_times(paid_store):
    client, store, payment, at = paid_store
    english(client)
    # Whatever encoding the address asks for, an English reader gets UTF-8 with a BOM.
    resp = client.get("/cms/usage.csv?encoding=cp932", buffered=True)
    assert resp.headers["Content-Type"] == "text/csv; charset=UTF-8"
    data = resp.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Date and time (Japan time),Transaction number,Store code,Store name,Register,")
    assert f"{at:%Y-%m-%d %H:%M:%S}" in lines[1] and ",1280," in lines[1]
    assert f'"=""{payment.number}"""' in lines[1]  # ="…": every digit kept in Excel
    page = client.get("/cms/usage").get_data(as_text=True)
    assert "Download CSV UTF-8 (with BOM)" in page and "Shift_JIS" not in page


def test_usage_csv_in_japanese_stays_cp932(paid_store):
    client, *_ = paid_store
    resp = client.get("/cms/usage.csv", buffered=True)
    assert resp.headers["Content-Type"] == "text/csv; charset=Windows-31J"
    assert resp.get_data().decode("cp932").splitlines()[0].startswith("利用日時（日本時間 JST）,取引番号,店舗コード")


def test_english_csv_opens_in_a_spreadsheet_with_dates_numbers_and_codes(paid_store, tmp_path):
    if SOFFICE is None:
        if os.environ.get("CI"):
            pytest.fail("soffice not found: .ci/run installs libreoffice-calc-nogui")
        pytest.skip("LibreOffice is not installed (apt-get install --no-install-recommends libreoffice-calc-nogui)")
    client, store, payment, at = paid_store
    english(client)
    (tmp_path / "usage.csv").write_bytes(client.get("/cms/usage.csv", buffered=True).get_data())
    # UTF-8 (76), language English (US) 1033: as a spreadsheet outside Japan opens it.
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless", "--norestore",
                    "--infilter=CSV:44,34,76,1,,1033,false,true", "--convert-to", "xlsx", "--outdir",
                    str(tmp_path / "xlsx"), str(tmp_path / "usage.csv")], check=True, capture_output=True, timeout=180)
    sheet = openpyxl.load_workbook(tmp_path / "xlsx" / "usage.xlsx", data_only=True).active
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["Date and time (Japan time)", "Transaction number", "Store code"]
    row = [c.value for c in sheet[2]]
    assert row[0] == at.replace(tzinfo=None)  # a real date and time, not text
    assert row[1] == payment.number and row[7] == 1280


# --- PDFs in the reader's language -------------------------------------------------------------------


def test_statement_and_qr_sheet_pdfs_in_english(client, two_businesses):
    en, _ = two_businesses
    store = factories.make_store(en)
    member, _ = factories.make_card_member(10_000)
    factories.make_payment_at(store.registers[0], member, 4_321, dt.datetime(2025, 2, 20, 10, tzinfo=JST))
    period = db.session.scalar(select(SettlementPeriod).where(SettlementPeriod.starts_on == dt.date(2025, 2, 16)))
    settlement.close_period(period, at=dt.datetime(2025, 3, 1, 1, tzinfo=JST))
    period.transfer_date = dt.date(2025, 3, 19)
    db.session.commit()
    assert login(client, en.code, factories.PASSWORD, kind="business").status_code == 303
    english(client)
    index = client.get("/cms/settlements").get_data(as_text=True)
    settlement_id = re.search(r'/cms/settlements/(\d+)/meisai\.pdf', index).group(1)
    text = pdf_text(client.get(f"/cms/settlements/{settlement_id}/meisai.pdf").get_data())
    for words in ("Statement", "Sales period: Feb 16 – 28, 2025", "Scheduled transfer date: Mar 19, 2025",
                  "Payments total", "¥4,321", "By store", "No transfer notice is sent on paper."):
        assert words in text, words
    assert "令和" not in text and "利用額明細" not in text
    # A line's kind as a column words it, in the PDF, on the page and in the CSV.
    assert "Payment " in text and "payment " not in text
    page = client.get(f"/cms/settlements/{settlement_id}").get_data(as_text=True)
    assert "<td>Payment</td>" in page
    csv_text = client.get(f"/cms/settlements/{settlement_id}/meisai.csv").get_data().decode("utf-8-sig")
    assert "\nPayment," in csv_text and "payment," not in csv_text

    sheet = pdf_text(client.get(f"/cms/registers/{store.registers[0].id}/sheet.pdf").get_data())
    assert "ISECA accepted here" in sheet and "Scan this QR code with the ISECA Wallet (or your phone’s camera)" in sheet and "chiica" not in sheet
    assert "ISECAが使えます" not in sheet


def test_japanese_statement_keeps_the_guides_wareki(client, two_businesses):
    _, ja = two_businesses
    store = factories.make_store(ja)
    member, _ = factories.make_card_member(10_000)
    factories.make_payment_at(store.registers[0], member, 1_000, dt.datetime(2025, 2, 20, 10, tzinfo=JST))
    period = db.session.scalar(select(SettlementPeriod).where(SettlementPeriod.starts_on == dt.date(2025, 2, 16)))
    settlement.close_period(period, at=dt.datetime(2025, 3, 1, 1, tzinfo=JST))
    period.transfer_date = dt.date(2025, 3, 19)
    db.session.commit()
    assert login(client, ja.code, factories.PASSWORD, kind="business").status_code == 303
    page = client.get("/cms/settlements").get_data(as_text=True)
    assert "令和7年2月16日から28日まで" in page and "令和7年3月19日" in page
