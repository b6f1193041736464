"""レジ一覧 → 「QRコード表示」 → 「画像形式でダウンロード」 / 「印刷用ページを表示」
in a real browser, as the guide's 店舗QRコードの出力方法 describes; the counter's
bulk printing of 台紙."""
from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from playwright.sync_api import expect

from iseca.extensions import db
from iseca.merchants import qr
from tests import factories
from tests.qr_helpers import decode_qr, pdf_page_images, pdf_pages, pdf_text
from tests.support.browser import SCREENSHOTS, log_in, screenshot

BASE = "https://iseca.example.jp"


def _screen_codes(page) -> list[str]:
    return decode_qr(Image.open(io.BytesIO(page.screenshot(full_page=True))))


def test_store_downloads_png_and_prints_sheet_from_register_list(page):
    store = factories.make_store(name="いせさき青果店", registers=2)
    register = store.registers[0]
    url = qr.register_pay_url(register)
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    log_in(page, "cms", store.code, kind="store")

    page.get_by_role("navigation", name="メニュー").get_by_text("レジ一覧", exact=True).click()
    page.wait_for_url("**/cms/registers")
    screenshot(page, "cms-registers")
    page.get_by_role("link", name="レジ1のQRコード表示").click()
    page.wait_for_url(f"**/cms/registers/{register.id}/qr")
    assert page.get_by_text("いせさき青果店").first.is_visible()
    assert page.get_by_text("レジ：レジ1").is_visible()
    screenshot(page, "cms-register-qr")
    assert _screen_codes(page) == [url]  # the code on screen reads

    with page.expect_download() as info:
        page.get_by_role("link", name="画像形式でダウンロード").click()
    download = info.value
    assert download.suggested_filename == f"ISECA_QR_{store.code}_R{register.id:04d}_レジ1.png"
    png = Path(download.path()).read_bytes()
    assert decode_qr(png) == [url]

    page.get_by_role("link", name="印刷用ページを表示").click()
    page.wait_for_url(f"**/cms/registers/{register.id}/sheet")
    assert page.get_by_role("heading", name="いせさき青果店").is_visible()
    assert page.get_by_text("ISECAウォレットかスマートフォンのカメラで読み取り、金額を入力してください").is_visible()
    assert page.get_by_role("button", name="印刷する").is_visible()  # shown by its script
    screenshot(page, "cms-register-sheet")
    assert _screen_codes(page) == [url]

    # What the printer gets: one A4 page, without the toolbar, code readable.
    page.emulate_media(media="print")
    assert not page.get_by_role("button", name="印刷する").is_visible()
    printed = page.pdf(prefer_css_page_size=True, print_background=True)
    assert pdf_pages(printed) == 1
    assert "いせさき青果店" in pdf_text(printed)
    [sheet] = pdf_page_images(printed, dpi=100)
    SCREENSHOTS.mkdir(exist_ok=True)
    sheet.save(SCREENSHOTS / "cms-register-sheet-printed.png")  # for a person to look at
    assert decode_qr(sheet) == [url]
    page.emulate_media(media="screen")

    with page.expect_download() as info:
        page.get_by_role("link", name="PDFでダウンロード").click()
    pdf = Path(info.value.path()).read_bytes()
    assert "いせさき青果店" in pdf_text(pdf) and "レジ1" in pdf_text(pdf)
    assert decode_qr(pdf_page_images(pdf)[0]) == [url]
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors


def test_store_reissues_code_and_old_code_is_refused(page, new_context):
    store = factories.make_store(name="カフェひまわり")
    register = store.registers[0]
    old_path = qr.register_pay_url(register).removeprefix(BASE)
    log_in(page, "cms", store.code, kind="store")
    page.goto(f"/cms/registers/{register.id}/qr")
    page.get_by_role("link", name="QRコード再発行").click()
    page.wait_for_url(f"**/cms/registers/{register.id}/reissue")
    assert page.get_by_role("heading", name="QRコードを再発行しますか？").is_visible()
    screenshot(page, "cms-register-reissue")
    page.get_by_role("button", name="再発行する").click()
    page.wait_for_url(f"**/cms/registers/{register.id}/qr")
    assert page.get_by_text("QRコードを再発行しました").is_visible()
    db.session.rollback()  # end the test's snapshot: read what the server wrote
    new_url = qr.register_pay_url(db.session.get(type(register), register.id))
    assert new_url.removeprefix(BASE) != old_path
    assert _screen_codes(page) == [new_url]

    customer = new_context().new_page()
    response = customer.goto(old_path)
    assert response.status == 410
    assert customer.get_by_text("このQRコードは現在使えません（再発行されました）").is_visible()
    screenshot(customer, "wallet-qr-reissued")
    response = customer.goto(new_url.removeprefix(BASE))
    assert response.status == 200 and customer.get_by_text("カフェひまわり").first.is_visible()
    screenshot(customer, "wallet-qr-valid")


def test_counter_prints_many_stores_sheets_in_one_pdf(page):
    factories.make_staff()
    a = factories.make_store(name="赤堀うどん", registers=2)
    b = factories.make_store(name="境の本屋")
    factories.make_store(name="印刷しない店")
    log_in(page, "counter", "staff1")
    page.get_by_role("navigation", name="メニュー").get_by_text("店舗QRコード").click()
    page.wait_for_url("**/counter/registers")

    # The header box selects every row (script), then one row is cleared.
    page.get_by_label("表示中の店舗をすべて選択").check()
    page.get_by_label("印刷しない店の台紙を印刷").uncheck()
    assert page.get_by_label("赤堀うどんの台紙を印刷").is_checked()
    screenshot(page, "counter-registers")
    with page.expect_download() as info:
        page.get_by_role("button", name="選んだ店舗の台紙をPDFで印刷").click()
    pdf = Path(info.value.path()).read_bytes()
    assert pdf_pages(pdf) == 3
    decoded = [decode_qr(img) for img in pdf_page_images(pdf, dpi=80)]
    assert decoded == [[qr.register_pay_url(r)] for r in (*a.registers, *b.registers)]


def test_add_rename_and_retire_registers_with_and_without_javascript(new_context):
    store = factories.make_store(name="境の本屋")
    for js in (True, False):
        page = new_context(java_script_enabled=js).new_page()
        log_in(page, "cms", store.code, kind="store")
        page.goto("/cms/registers")
        name = "雑誌売場レジ" if js else "児童書レジ"
        page.get_by_role("button", name="レジを追加").click()
        expect(page.get_by_text("レジ名を入力してください。")).to_be_visible()  # next to the field
        page.get_by_label("追加するレジの名前").fill(name)
        page.get_by_role("button", name="レジを追加").click()
        expect(page.get_by_text(f"レジ「{name}」を追加しました")).to_be_visible()
        page.get_by_role("link", name=f"{name}の名前を変更").click()
        page.get_by_label("レジ名").fill(name + "2")
        page.get_by_role("button", name="名前を変更する").click()
        expect(page.get_by_text(f"レジ名を「{name}2」に変更しました")).to_be_visible()
        page.get_by_role("link", name=f"{name}2を廃止").click()
        page.get_by_role("button", name="廃止する").click()
        expect(page.get_by_text(f"レジ「{name}2」を廃止しました")).to_be_visible()
        if js:
            screenshot(page, "cms-registers-after-retire")
