"""Every CSV of the product, in every encoding and language it is offered
in, opened by a real spreadsheet program (LibreOffice, headless) and read
back cell by cell: a 16-digit 取引番号, a member code and an account number
with leading zeros, store and bank codes all come back exact, as text; the
two encodings of one download have different file names; the audit files
(操作履歴, 監査ログ) show the words people read, never the stored keys."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from iseca import audit
from iseca.extensions import db
from iseca.models import Settlement, SettlementPeriod
from iseca.money import settlement, zengin
from iseca.timeutil import JST
from tests import factories
from tests.cms.test_usage import download
from tests.cms.test_usage_csv_cells import _open_in_libreoffice
from tests.support.client import basic_auth_header, login

NUMBER = "2612012541253248"  # LibreOffice shows 2612012541253250 when it reads it as a number
MEMBER_CODE = "0012345678"
ACCOUNT_NUMBER = "0007654"
BANK_CODE, BRANCH_CODE = "0001", "001"
# (language, encoding asked for, LibreOffice's character set, the file name's suffix)
READERS = [("ja", "cp932", "64", "_sjis.csv"), ("ja", "utf-8", "76", "_utf8.csv"), ("en", "utf-8", "76", "_utf8.csv"),
           ("en", "cp932", "76", "_utf8.csv")]  # another language always gets UTF-8 (BOM)
# Stored keys that an audit file must not show (they have words in labels.py).
INTERNAL_WORDS = ("business:", "publictext", "store_scan", "merchants", "notice_published", "cms",
                  "settlement_period_closed", "transfer_file_prepared", "settlementperiod")


@pytest.fixture
def world(app):
    business = factories.make_business(name="株式会社ひまわり", account_holder_kana="ｶ)ﾋﾏﾜﾘ", bank_code=BANK_CODE,
                                       branch_code=BRANCH_CODE, account_number=ACCOUNT_NUMBER)
    store = factories.make_store(business)
    member, _ = factories.make_card_member(10_000)
    member.code = MEMBER_CODE
    db.session.commit()
    payment = factories.make_payment_at(store.registers[0], member, 1_234, dt.datetime(2025, 2, 20, 10, tzinfo=JST))
    payment.number = NUMBER
    period = db.session.scalar(select(SettlementPeriod).where(SettlementPeriod.starts_on == dt.date(2025, 2, 16)))
    settlement.close_period(period, at=dt.datetime(2025, 3, 1, 1, tzinfo=JST))
    period.transfer_date = dt.date(2025, 3, 19)
    zengin.prepare_transfers(period)
    # Audit rows as they are stored: an account's kind and the product's keys.
    entry = audit.record("notice_published", details={"audience": "merchants", "area": "cms", "method": "store_scan",
                                                      "number": NUMBER},
                         actor_label=f"business:{business.code}", business_id=business.id)
    entry.target_type, entry.target_id = "publictext", 1
    db.session.commit()
    row = db.session.scalar(select(Settlement).where(Settlement.business_id == business.id))

    merchant = app.test_client()
    merchant.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
    assert login(merchant, business.code, factories.PASSWORD, kind="business").status_code == 303
    staff = app.test_client()
    factories.make_staff()
    assert login(staff, "staff1", factories.PASSWORD, area="counter", kind=None).status_code == 303
    return dict(business=business, store=store, period=period, settlement=row, merchant=merchant, staff=staff)


def _files(world) -> dict[str, tuple[str, str]]:
    """{name: (who downloads it, its address without the encoding)}."""
    usage_range = "date_from=2025-02-01&date_to=2025-03-01"
    figures_range = "date_from=2025-02-01&date_to=2025-03-01"
    return {
        "usage": ("merchant", f"/cms/usage.csv?{usage_range}"),
        "daily": ("merchant", f"/cms/usage/daily.csv?{usage_range}"),
        "meisai": ("merchant", f"/cms/settlements/{world['settlement'].id}/meisai.csv?x=1"),
        "history": ("merchant", "/cms/audit.csv?x=1"),
        "counter-meisai": ("staff", f"/counter/settlements/transfers/{world['settlement'].id}/meisai.csv?x=1"),
        "transfers": ("staff", f"/counter/settlements/{world['period'].id}/transfers.csv?x=1"),
        "figures-stores": ("staff", f"/counter/figures.csv?chart=stores&{figures_range}"),
        "audit": ("staff", "/counter/audit.csv?x=1"),
    }


def _row_with(sheet, value):
    for row in sheet.iter_rows(min_row=2):
        if any(cell.value == value for cell in row):
            return row
    raise AssertionError(f"{value!r} not found: {[[c.value for c in r] for r in sheet.iter_rows()]}")


def test_every_csv_keeps_its_codes_exact_in_a_spreadsheet_in_every_encoding_and_language(world, tmp_path):
    store_code = world["store"].code
    by_charset: dict[str, dict[str, bytes]] = {"64": {}, "76": {}}
    for lang, encoding, charset, suffix in READERS:
        for name, (who, url) in _files(world).items():
            client = world[who]
            client.set_cookie("lang", lang)
            response, body = download(client, f"{url}&encoding={encoding}")
            assert response.status_code == 200, (name, lang, encoding, body[:500])
            disposition = response.headers["Content-Disposition"]
            assert disposition.endswith(f'{suffix}"'), (name, lang, encoding, disposition)
            assert body.startswith(b"\xef\xbb\xbf") == (charset == "76"), (name, lang, encoding)
            by_charset[charset][f"{name}-{lang}-{encoding}.csv"] = body
    sheets = {}
    for charset, files in by_charset.items():
        (tmp_path / charset).mkdir()
        sheets.update(_open_in_libreoffice(tmp_path / charset, files, charset=charset))

    def text_cell(row, value):
        cells = [cell for cell in row if cell.value == value]
        assert cells and all(cell.data_type == "s" for cell in cells), [(c.value, c.data_type) for c in row]

    for lang, encoding, _charset, _suffix in READERS:
        def sheet(name):
            return sheets[f"{name}-{lang}-{encoding}.csv"]  # noqa: B023 (used inside the loop)

        row = _row_with(sheet("usage"), NUMBER)
        for value in (NUMBER, store_code, MEMBER_CODE):
            text_cell(row, value)
        text_cell(_row_with(sheet("daily"), store_code), store_code)
        for name in ("meisai", "counter-meisai"):
            row = _row_with(sheet(name), NUMBER)
            text_cell(row, NUMBER)
            text_cell(row, store_code)
        row = _row_with(sheet("transfers"), ACCOUNT_NUMBER)
        for value in (ACCOUNT_NUMBER, BANK_CODE, BRANCH_CODE):
            text_cell(row, value)
        text_cell(_row_with(sheet("figures-stores"), store_code), store_code)
        for name in ("history", "audit"):
            cells = [str(c.value) for row in sheet(name).iter_rows(min_row=2) for c in row if c.value is not None]
            written = " ".join(cells)
            assert NUMBER in written
            for word in INTERNAL_WORDS:
                assert word not in written, (name, lang, word, cells)
            if lang == "ja":
                assert f"事業者:{world['business'].code}" in cells
                assert "公開ページの文章" in cells and "お知らせの掲載" in cells
                assert "掲載先: 加盟店（管理サイト・加盟店アプリ）" in written and "決済方法: ②会員QR・カード" in written
            else:
                assert f"Business:{world['business'].code}" in cells
