"""Error answers reach the person in front of the screen: boosted forms,
htmx fragments and plain forms alike, and a form refused for an expired
token keeps what was typed."""
from __future__ import annotations

from playwright.sync_api import expect

from tests import factories
from tests.support.browser import log_in, screenshot


def _fill_login(page, code: str, password: str) -> None:
    page.get_by_label("店舗コード").fill(code)
    page.get_by_label("パスワード").fill(password)
    page.get_by_role("button", name="ログイン").click()


def test_throttled_login_says_so_even_with_the_right_password(page):
    store = factories.make_store()
    page.goto("/terminal/login")
    for attempt in range(5):
        with page.expect_response(lambda r: r.request.method == "POST"):
            _fill_login(page, store.code, f"wrong password {attempt}")
        # The answer's form has replaced the typed one (its password field is empty)
        # before the next attempt is typed: the same message from the attempt
        # before is no proof of that, and typing into the form being replaced
        # would post an empty password.
        expect(page.get_by_label("パスワード")).to_have_value("")
        page.locator("#password-error").get_by_text("店舗コードまたはパスワードが違います").wait_for()
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        _fill_login(page, store.code, factories.PASSWORD)
    assert answer.value.status == 429
    alert = page.get_by_role("alert").filter(has_text="一時的にログインを制限しています")
    alert.wait_for()
    assert alert.is_visible()
    assert "/terminal/login" in page.url
    screenshot(page, "errors-login-throttled")


def test_expired_token_keeps_the_typed_store_details_and_says_why(page):
    store = factories.make_store(name="いせさき青果店")
    log_in(page, "cms", store.code, kind="store")
    page.get_by_role("navigation", name="メニュー").get_by_role("link", name="店舗情報").click()
    page.wait_for_url("**/cms/stores/*")
    page.get_by_label("郵便番号").fill("372-0042")
    page.get_by_label("電話番号").fill("0270-27-2708")
    page.get_by_label("営業時間").fill("7:00〜19:00（日曜は休み）")
    page.get_by_label("お店の紹介").fill("朝どれ野菜を\n毎朝並べています。")
    # The token the page was drawn with is no longer valid (the session behind it ended).
    page.evaluate("""() => {
        for (const input of document.querySelectorAll('input[name=csrf_token]')) input.value = 'expired';
        document.body.setAttribute('data-hx-headers', JSON.stringify({'X-CSRFToken': 'expired'}));
    }""")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="店舗情報を保存する").click()
    assert answer.value.status == 400
    message = page.get_by_role("alert").filter(has_text="画面の有効期限が切れました")
    message.wait_for()
    assert "入力内容はそのまま残っています" in message.inner_text()
    assert page.get_by_label("営業時間").input_value() == "7:00〜19:00（日曜は休み）"
    assert page.get_by_label("お店の紹介").input_value() == "朝どれ野菜を\n毎朝並べています。"
    assert page.get_by_label("電話番号").input_value() == "0270-27-2708"
    assert "/cms/stores/" in page.url
    screenshot(page, "errors-expired-token-store")

    # The page came back with a fresh token: saving again works.
    page.get_by_role("button", name="店舗情報を保存する").click()
    page.get_by_text("店舗情報を保存しました。").wait_for()
    assert page.get_by_label("営業時間").input_value().startswith("7:00〜19:00")  # stored NFKC-folded


def test_expired_token_on_a_plain_form_keeps_the_typed_text(new_context):
    """Without JavaScript the browser posts the form itself: same result."""
    store = factories.make_store()
    page = new_context(java_script_enabled=False).new_page()
    log_in(page, "cms", store.code, kind="store")
    page.goto(f"/cms/stores/{store.id}")
    page.get_by_label("定休日").fill("毎週水曜日と第3木曜日")
    page.locator("form:has(#hours) input[name=csrf_token]").evaluate("el => el.value = 'expired'")
    page.get_by_role("button", name="店舗情報を保存する").click()
    page.wait_for_load_state()
    assert page.get_by_text("画面の有効期限が切れました").is_visible()
    assert page.get_by_label("定休日").input_value() == "毎週水曜日と第3木曜日"


def test_a_fragment_that_fails_shows_its_message_next_to_it(new_context):
    """The application form looks up bank names as codes are typed (an htmx
    fragment); when the session behind the page has ended, the lookup is
    refused and says so where the names would appear."""
    context = new_context()
    page = context.new_page()
    page.goto("/apply")
    context.clear_cookies()
    with page.expect_response(lambda r: "bank" in r.url and r.request.method == "POST") as answer:
        page.get_by_label("金融機関コード（4桁）").fill("0009")
    assert answer.value.status == 400
    message = page.locator("[data-error-message]")
    message.wait_for()
    assert "画面の有効期限が切れました" in message.inner_text()
    assert message.get_attribute("role") == "alert"
    # The part it stands for is still there for the next try.
    assert page.locator("#bank-names").count() == 1
    screenshot(page, "errors-fragment")
