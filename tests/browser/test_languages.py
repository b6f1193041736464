"""Languages in a real browser: a visitor whose browser speaks English lands
on English pages, switches to Tiếng Việt with the switch at the foot of the
page, logs into the wallet and pays a store by its register QR address,
every page in Vietnamese; then the store, at its till, sets the switch to
English, logs into the terminal and takes a card payment."""
from __future__ import annotations

import re

from iseca import i18n
from iseca.extensions import db
from iseca.money import ledger
from tests import factories
from tests.i18n.test_pages_in_language import allowed_terms, leaks
from tests.support.browser import screenshot

STORE_NAME = "カフェひまわり"


def lang_of(page) -> str:
    return page.locator("html").get_attribute("lang")


def japanese_on(page, *data: str) -> list[str]:
    """Japanese a reader sees on the page, besides data shown as entered, the
    guide's own labels quoted beside their translation and the switch's 日本語
    (as tests/i18n's walk allows)."""
    return leaks(page.locator("body").inner_text(), sorted(data, key=len, reverse=True) + allowed_terms())


def test_an_english_browser_switches_to_vietnamese_pays_in_the_wallet_and_the_till_takes_a_card_in_english(new_context):
    store = factories.make_store(name=STORE_NAME)
    register = store.registers[0]
    member, account = factories.make_app_member(4_000)
    card_member, card = factories.make_card_member(3_000)
    data = (STORE_NAME, register.name, account.name)

    # A visitor whose browser speaks English.
    phone = new_context(locale="en-US").new_page()
    phone.goto("/")
    assert lang_of(phone) == "en"
    assert phone.get_by_role("heading", level=1).inner_text() == "Isesaki City e-currency ISECA"
    assert japanese_on(phone) == []

    # The switch at the foot of every page names each language in its own words.
    switch = phone.locator("form.language-switch")
    assert switch.locator('[aria-current="true"]').inner_text() == "English"
    switch.get_by_role("button", name="Tiếng Việt").click()
    phone.locator('html[lang="vi"]').wait_for(state="attached")
    assert phone.get_by_role("heading", level=1).inner_text() == "Tiền điện tử địa phương thành phố Isesaki ISECA"
    assert japanese_on(phone) == []

    # Into the wallet (app member), every page in Vietnamese.
    phone.get_by_role("link", name="Ví ISECA (dành cho thành viên ứng dụng)").click()
    phone.wait_for_url("**/wallet/login**")
    assert lang_of(phone) == "vi" and japanese_on(phone) == []
    phone.get_by_label("Địa chỉ email").fill(account.login)
    phone.get_by_label("Mật khẩu").fill(factories.PASSWORD)
    phone.get_by_role("button", name="Đăng nhập").click()
    phone.wait_for_url(re.compile(r".*/wallet/$"))
    assert lang_of(phone) == "vi"
    assert phone.locator(".balance").inner_text() == "4.000 điểm"
    assert japanese_on(phone, *data) == []

    # The store's register QR address, as a phone's camera opens it.
    phone.goto(f"/wallet/pay/{register.qr_token}")
    assert lang_of(phone) == "vi" and phone.locator(".store-name").inner_text() == STORE_NAME
    assert japanese_on(phone, *data) == []
    phone.get_by_label("Số tiền thanh toán (yên, đã gồm thuế)").fill("880")
    phone.get_by_role("button", name="Xem lại").click()
    phone.wait_for_url("**/confirm**")
    assert lang_of(phone) == "vi" and japanese_on(phone, *data) == []
    assert phone.locator(".confirm-amount").inner_text() == i18n.yen(880, "vi")  # 880 ¥, as Babel writes it
    phone.get_by_role("button", name="Thanh toán").click()
    phone.wait_for_url("**/wallet/payments/**")
    assert lang_of(phone) == "vi"
    assert phone.get_by_role("heading", name="Đã thanh toán xong").is_visible()
    assert phone.locator(".done-amount").inner_text() == i18n.yen(880, "vi")
    assert phone.locator(".remaining").inner_text() == "3.120 điểm"
    assert japanese_on(phone, *data) == []
    screenshot(phone, "languages-wallet-done-vi")
    db.session.commit()
    assert ledger.member_balance(member.id) == 3_120

    # The store's till: a Japanese browser, set to English with the switch.
    till = new_context().new_page()
    till.goto("/terminal/login")
    assert lang_of(till) == "ja"
    till.locator("form.language-switch").get_by_role("button", name="English").click()
    till.locator('html[lang="en"]').wait_for(state="attached")
    assert till.locator("form.language-switch").get_by_role("button", name="Tiếng Việt").count() == 0  # merchants: ja, en
    till.get_by_label("Store code").fill(store.code)
    till.get_by_label("Password").fill(factories.PASSWORD)
    till.get_by_label("Keep me logged in").check()
    till.get_by_role("button", name="Log in").click()
    till.wait_for_url(re.compile(r".*/terminal/$"))
    assert lang_of(till) == "en" and japanese_on(till, *data) == []

    # A card payment, the card number typed (or sent by a handheld scanner, which ends with Enter).
    till.goto("/terminal/pay")
    assert lang_of(till) == "en"
    till.get_by_label("Card number (or scan it with a barcode reader)").fill(card.number)
    till.keyboard.press("Enter")
    till.wait_for_url("**/terminal/pay/amount**")
    assert lang_of(till) == "en" and japanese_on(till, *data) == []
    till.get_by_label("Amount, tax included (yen)").fill("1280")
    till.get_by_role("button", name="Pay", exact=True).click()
    till.wait_for_url("**/terminal/pay/done/**")
    assert lang_of(till) == "en"
    assert till.get_by_role("heading", name="Payment complete").is_visible()
    assert till.locator(".done-amount").inner_text() == "¥1,280"  # as Babel writes yen in English
    assert till.locator(".remaining").inner_text() == "1,720 points"
    assert japanese_on(till, *data) == []
    screenshot(till, "languages-terminal-done-en")
    db.session.commit()
    assert ledger.member_balance(card_member.id) == 1_720
