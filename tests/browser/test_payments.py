"""決済 in a real browser: the terminal reads a card with the camera
(Chromium's fake camera playing a video of the card's QR) or typed input;
insufficient balance; several cards; the wallet pays a register by its QR
address and the terminal shows it without a reload."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import qrcode
from sqlalchemy import func, select

from iseca.extensions import db
from iseca.members import payers
from iseca.models import Payment
from iseca.money import ledger
from tests import factories
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, log_in, screenshot


def write_y4m(text: str, path: Path, frames: int = 15) -> Path:
    """A 640×480 video (YUV4MPEG2, 4:2:0) showing the QR code of `text`."""
    from PIL import Image

    width, height = 640, 480
    code = qrcode.make(text, box_size=6, border=4).convert("L")
    side = min(400, height - 40)
    code = code.resize((side, side), Image.NEAREST)
    frame = Image.new("L", (width, height), 255)
    frame.paste(code, ((width - side) // 2, (height - side) // 2))
    y_plane = frame.tobytes()
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + y_plane + chroma + chroma)
    return path


def read_typed_card(page, number: str):
    """The card number typed (or sent by a handheld scanner, which ends with Enter) on the reading screen."""
    page.goto("/terminal/pay")
    page.get_by_label("カード番号（またはバーコードリーダーで読み取り）").fill(number)
    page.keyboard.press("Enter")
    page.wait_for_url("**/terminal/pay/amount**")


def pay_amount(page, amount: str):
    """The guide's step: type the tax-included amount and tap 「決済する」 (it charges)."""
    page.get_by_label("税込金額（円）").fill(amount)
    page.get_by_role("button", name="決済する").click()


@pytest.fixture
def camera_page(playwright_instance, live_server, tmp_path, request):
    """A page whose camera plays a video of the QR made by `request.param`'s caller."""
    browsers = []

    def open_with_video(text: str):
        video = write_y4m(text, tmp_path / "qr.y4m")
        browser = playwright_instance.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS + ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                                  f"--use-file-for-fake-video-capture={video}"],
        )
        browsers.append(browser)
        context = browser.new_context(base_url=live_server.url, locale="ja-JP", timezone_id="Asia/Tokyo",
                                      permissions=["camera"], viewport={"width": 390, "height": 844})
        context.set_default_timeout(15_000)
        return context.new_page()

    yield open_with_video
    for browser in browsers:
        browser.close()


def test_terminal_charges_a_card_read_by_the_camera(camera_page):
    store = factories.make_store(name="いせさき青果店")
    member, card = factories.make_card_member(3_000)
    page = camera_page(payers.card_qr_text(card))
    log_in(page, "terminal", store.code, remember=True)
    page.get_by_role("link", name="決済する").click()
    # The camera reads the card's QR and the amount screen opens by itself.
    page.wait_for_url("**/terminal/pay/amount**")
    assert page.get_by_text(member.code).is_visible()
    assert page.locator(".available").inner_text().startswith("3,000")
    screenshot(page, "terminal-pay-amount")
    pay_amount(page, "１２８０")
    page.wait_for_url("**/terminal/pay/done/**")
    assert page.get_by_role("heading", name="決済完了").is_visible()
    assert page.locator(".done-amount").inner_text() == "1,280円"
    assert page.locator(".remaining").inner_text().startswith("1,720")
    screenshot(page, "terminal-pay-done")
    db.session.commit()
    assert ledger.member_balance(member.id) == 1_720


def test_terminal_typed_card_insufficient_balance_then_several_cards_total(page):
    store = factories.make_store()
    _, first = factories.make_card_member(1_000)
    _, second = factories.make_card_member(5_000)
    log_in(page, "terminal", store.code, remember=True)
    read_typed_card(page, first.number)
    pay_amount(page, "1500")
    alert = page.locator(".insufficient")
    assert "残高が不足しています" in alert.inner_text() and "1,000" in alert.inner_text() and "現金" in alert.inner_text()
    screenshot(page, "terminal-pay-insufficient")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0

    pay_amount(page, "1000")
    page.wait_for_url("**/terminal/pay/done/**")
    page.get_by_role("link", name="続けて別のカードで決済").click()
    page.get_by_label("カード番号（またはバーコードリーダーで読み取り）").fill(" ".join(re.findall("....", second.number)))
    page.get_by_role("button", name="次へ").click()
    page.wait_for_url("**/terminal/pay/amount**")
    pay_amount(page, "500")
    page.wait_for_url("**/terminal/pay/done/**")
    assert page.locator(".run-total-amount").inner_text() == "1,500円"
    screenshot(page, "terminal-pay-run-total")


def test_double_tap_on_kessai_suru_charges_once(page):
    store = factories.make_store()
    member, card = factories.make_card_member(5_000)
    log_in(page, "terminal", store.code, remember=True)
    read_typed_card(page, card.number)
    page.get_by_label("税込金額（円）").fill("700")
    page.get_by_role("button", name="決済する").dblclick()
    page.wait_for_url("**/terminal/pay/done/**")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
    assert ledger.member_balance(member.id) == 4_300


def test_a_store_that_asked_for_it_sees_a_confirmation_page_first(page):
    store = factories.make_store()
    store.confirm_before_charge = True
    db.session.commit()
    member, card = factories.make_card_member(3_000)
    log_in(page, "terminal", store.code, remember=True)
    read_typed_card(page, card.number)
    page.get_by_label("税込金額（円）").fill("1280")
    page.get_by_role("button", name="確認へ").click()
    page.wait_for_url("**/terminal/pay/confirm**")
    assert page.locator(".confirm-amount").inner_text() == "1,280円"
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    page.get_by_role("button", name="決済する").click()
    page.wait_for_url("**/terminal/pay/done/**")
    db.session.commit()
    assert ledger.member_balance(member.id) == 1_720


def test_wallet_pays_a_register_and_the_terminal_shows_it_without_reload(new_context):
    store = factories.make_store(name="カフェひまわり")
    member, account = factories.make_app_member(4_000)
    till = new_context().new_page()
    log_in(till, "terminal", store.code, remember=True)
    till.evaluate("window.__notReloaded = true")

    phone = new_context().new_page()
    log_in(phone, "wallet", account.login)
    phone.goto(f"/wallet/pay/{store.registers[0].qr_token}")
    assert phone.get_by_text("カフェひまわり").is_visible()
    phone.get_by_label("お支払い金額（税込・円）").fill("880")
    phone.get_by_role("button", name="確認へ").click()
    phone.get_by_role("button", name="支払う").click()
    phone.wait_for_url("**/wallet/payments/**")
    assert phone.locator(".done-amount").inner_text() == "880円"
    screenshot(phone, "wallet-pay-done")

    till.locator(".incoming-amount", has_text="880円").wait_for(timeout=10_000)
    assert till.evaluate("window.__notReloaded") is True
    screenshot(till, "terminal-incoming")


def test_terminal_charges_an_app_member_whose_wallet_qr_the_camera_reads(camera_page):
    store = factories.make_store()
    member, _ = factories.make_app_member(2_000)
    page = camera_page(payers.wallet_qr_text(member))
    log_in(page, "terminal", store.code, remember=True)
    page.get_by_role("link", name="決済する").click()
    page.wait_for_url("**/terminal/pay/amount**")
    assert "アプリ会員" in page.locator(".member-code").inner_text()
    pay_amount(page, "600")
    page.wait_for_url("**/terminal/pay/done/**")
    assert page.locator(".remaining").inner_text().startswith("1,400")


def test_wallet_qr_page_and_card_balance_page_as_a_customer_sees_them(new_context):
    member, account = factories.make_app_member(12_345)
    _, card = factories.make_card_member(3_210)
    phone = new_context().new_page()
    log_in(phone, "wallet", account.login)
    phone.get_by_role("link", name="QRコードを表示（お店で読み取ってもらう）").click()
    phone.wait_for_url("**/wallet/qr")
    assert phone.locator(".qr-image").is_visible()
    screenshot(phone, "wallet-qr")
    public = new_context().new_page()
    public.goto(f"/card/{card.number}/{card.secret}")
    assert "3,210" in public.locator(".balance").inner_text()
    screenshot(public, "card-balance")


def test_counter_issues_cards_and_prints_their_sheet(new_context):
    factories.make_staff("staff9")
    page = new_context().new_page()
    log_in(page, "counter", "staff9")
    page.get_by_role("link", name="会員・カード").first.click()
    page.get_by_role("link", name="カード発行").click()
    page.get_by_label("発行枚数").fill("4")
    page.get_by_role("button", name="発行する").click()
    page.wait_for_url("**/counter/cards/sheet/**")
    assert page.locator(".printed-card").count() == 4
    screenshot(page, "counter-card-sheet")
