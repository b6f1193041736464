"""A newcomer's first visit, in a real browser."""
from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import update

from iseca.extensions import db
from iseca.models import Account
from tests import factories
from tests.support.browser import log_in, screenshot


def test_store_first_login_is_forced_to_change_password_then_sees_menu(page):
    store = factories.make_store(name="いせさき青果店")
    db.session.execute(update(Account).where(Account.login == store.code).values(must_change_password=True))
    db.session.commit()

    page.goto("/cms/")
    assert "ログイン" in page.title()
    page.get_by_label("店舗", exact=True).check()
    page.get_by_label("ユーザー名（店舗コード・事業者コード）").fill(store.code)
    page.get_by_label("パスワード").fill(factories.PASSWORD)
    screenshot(page, "cms-login")
    page.get_by_role("button", name="ログイン").click()

    page.wait_for_url(lambda url: "/cms/password" in url)
    assert page.get_by_text("初期パスワードからの変更が必要です").first.is_visible()
    page.get_by_label("現在のパスワード").fill(factories.PASSWORD)
    page.get_by_label("新しいパスワード", exact=True).fill("はるの野菜と新しい合言葉")
    page.get_by_label("新しいパスワード（確認）").fill("はるの野菜と新しい合言葉")
    page.get_by_role("button", name="パスワードを変更する").click()

    page.wait_for_url(lambda url: urlsplit(url).path == "/cms/")  # the query of the change form also holds "/cms/"
    menu = page.get_by_role("navigation", name="メニュー")
    for entry in ("レジ一覧", "利用状況一覧", "精算", "店舗情報", "パスワード変更", "ログアウト"):
        assert menu.get_by_text(entry, exact=True).is_visible()
    assert page.get_by_role("heading", name="TOPページメニュー").is_visible()
    screenshot(page, "cms-top")

    menu.get_by_role("button", name="ログアウト").click()
    page.wait_for_url("**/cms/login")
    assert page.get_by_text("ログアウトしました").is_visible()
    page.goto("/cms/registers")
    assert "/cms/login" in page.url


def test_business_login_shows_business_menu(page):
    business = factories.make_business(name="株式会社ひまわり")
    log_in(page, "cms", business.code, kind="business")
    assert page.get_by_role("navigation", name="メニュー").get_by_text("事業者情報").is_visible()
    assert page.get_by_text("株式会社ひまわり").first.is_visible()


def test_terminal_remember_me_survives_browser_restart(new_context):
    store = factories.make_store(name="カフェひまわり")
    context = new_context()
    page = context.new_page()
    log_in(page, "terminal", store.code, remember=True)

    # Closing the browser drops cookies that have no expiry; keep the others.
    persistent = [c for c in context.cookies() if c.get("expires", -1) > 0]
    assert any(c["name"] == "iseca_remember" for c in persistent)
    restarted = new_context()
    restarted.add_cookies(persistent)
    page2 = restarted.new_page()
    page2.goto("/terminal/")
    assert "/terminal/login" not in page2.url
    assert page2.get_by_text("カフェひまわり").first.is_visible()
    screenshot(page2, "terminal-home")


def test_without_remember_me_restart_asks_for_login(new_context):
    store = factories.make_store()
    context = new_context()
    page = context.new_page()
    log_in(page, "terminal", store.code)
    persistent = [c for c in context.cookies() if c.get("expires", -1) > 0]
    restarted = new_context()
    if persistent:
        restarted.add_cookies(persistent)
    page2 = restarted.new_page()
    page2.goto("/terminal/")
    assert "/terminal/login" in page2.url


def test_no_console_errors_from_csp_on_pages(page):
    """htmx and the page scripts load under the CSP without violations."""
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    store = factories.make_store()
    log_in(page, "cms", store.code, kind="store")
    assert page.evaluate("typeof htmx") == "object"
    page.get_by_role("navigation", name="メニュー").get_by_text("レジ一覧").click()
    page.wait_for_url("**/cms/registers")
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
