"""The terminal and the wallet as installed apps, in chromium: installable
(the DevTools protocol's Page.getInstallabilityErrors says nothing is
missing), their service worker keeps no page with data, and with the
network down a till or wallet page shows our offline page with the guide's
steps in the page's language, never the browser's error page.

A persistent browser profile (launch_persistent_context): a fresh context is
incognito-like, and chromium reports `in-incognito` for any page there."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from iseca.extensions import db
from iseca.models import Payment
from iseca.money import ledger
from tests import factories
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, log_in, screenshot

CACHE_KEYS = """async () => {
  const urls = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) { urls.push(request.url); }
  }
  return urls;
}"""
# navigator.serviceWorker.ready never settles when no worker installs, and
# page.evaluate has no timeout of its own: give up after 20 s.
WORKER_READY = """async () => {
  const registration = await Promise.race([
    navigator.serviceWorker.ready,
    new Promise(resolve => setTimeout(() => resolve(null), 20000)),
  ]);
  return registration && registration.active ? registration.active.scriptURL : "no service worker active after 20 s";
}"""


@pytest.fixture
def profile(playwright_instance, live_server, tmp_path):
    """A browser with a profile on disk (not incognito), at 390 px."""
    contexts = []

    def make(**kwargs):
        options = dict(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, base_url=live_server.url, locale="ja-JP",
            timezone_id="Asia/Tokyo", viewport={"width": 390, "height": 844},
        )
        options.update(kwargs)
        context = playwright_instance.chromium.launch_persistent_context(str(tmp_path / f"profile{len(contexts)}"),
                                                                         **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def installability_errors(page) -> list[dict]:
    session = page.context.new_cdp_session(page)
    try:
        return session.send("Page.getInstallabilityErrors")["installabilityErrors"]
    finally:
        session.detach()


def controlled(page, area: str) -> None:
    """Wait until the area's service worker is active and controls the page."""
    worker = page.evaluate(WORKER_READY)
    assert worker.endswith(f"/{area}/sw.js"), worker
    if not page.evaluate("() => !!navigator.serviceWorker.controller"):
        page.reload()
    page.wait_for_function("() => !!navigator.serviceWorker.controller")


def cached_paths(page) -> list[str]:
    return sorted({f"{urlsplit(u).path}?{urlsplit(u).query}".rstrip("?") for u in page.evaluate(CACHE_KEYS)})


def assert_only_static_and_offline(paths: list[str], area: str) -> None:
    pages = [p for p in paths if not re.fullmatch(r"/static/[\w./-]+\?v=[0-9a-f]{12}", p)]
    assert pages == [f"/{area}/offline"], f"the worker's cache holds more than static files and the offline page: {pages}"


def test_terminal_is_installable_caches_no_data_and_shows_the_offline_page(profile):
    store = factories.make_store(name="いせさき青果店", registers=2)
    member, card = factories.make_card_member(5_000)
    _, second_card = factories.make_card_member(1_000)
    context = profile()
    page = context.pages[0] if context.pages else context.new_page()
    log_in(page, "terminal", store.code)
    controlled(page, "terminal")
    assert installability_errors(page) == []

    # A session's pages: HOME, 決済する with a card read and an amount, history.
    page.goto("/terminal/pay")
    page.get_by_label("カード番号（またはバーコードリーダーで読み取り）").fill(card.number)
    page.keyboard.press("Enter")
    page.wait_for_url("**/terminal/pay/amount**")
    page.get_by_label("税込金額（円）").fill("700")
    page.get_by_role("button", name="決済する").click()
    page.wait_for_url("**/terminal/pay/done/**")
    page.goto("/terminal/history")
    page.goto("/terminal/")
    page.locator("#today-figures").wait_for()
    paths = cached_paths(page)
    assert_only_static_and_offline(paths, "terminal")
    assert any(p.startswith("/static/css/app.css?v=") for p in paths)

    # The network goes: the parts HOME polls say the guide's steps beside them …
    context.set_offline(True)
    help_box = page.locator(".network-help").first
    help_box.wait_for()
    assert "店舗利用履歴を確認し、決済が完了したか必ず確認してください" in help_box.inner_text()
    screenshot(page, "terminal-home-offline-390")
    # … and a page asked for is our offline page, at the address asked for.
    response = page.goto("/terminal/history")
    assert response is not None and response.status == 200
    assert urlsplit(page.url).path == "/terminal/history"
    heading = page.get_by_role("heading", name="通信できません", level=1)
    assert heading.is_visible()
    body = page.locator("section.offline:visible").inner_text()
    for step in ("Wi-Fi接続やスマホの電波環境を確認してください", "店舗利用履歴を確認し、決済が完了したか必ず確認してください",
                 "決済の履歴がない場合は、再度決済を実施してください",
                 "上記で解決しない場合は、ISECAでの決済を中止し現金等の決済を促してください"):
        assert step in body
    assert page.locator("section.offline:visible").count() == 1
    assert page.evaluate("document.documentElement.lang") == "ja"
    screenshot(page, "terminal-offline-390")
    page.set_viewport_size({"width": 360, "height": 740})
    screenshot(page, "terminal-offline-360")

    # The network is back: pages come from the server again, and nothing new was cached.
    context.set_offline(False)
    page.goto("/terminal/")
    page.get_by_text("今日の決済").first.wait_for()
    assert "1件" in page.locator("#today-figures").inner_text()
    assert "700円" in page.locator("#today-figures").inner_text()
    screenshot(page, "terminal-home-360")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "terminal-home-390")
    assert_only_static_and_offline(cached_paths(page), "terminal")

    # A payment at the other register, from another tab: HOME's poll brings the new figures without a reload.
    other_tab = context.new_page()
    other_tab.goto(f"/terminal/pay?register={store.registers[1].id}")
    other_tab.get_by_label("カード番号（またはバーコードリーダーで読み取り）").fill(second_card.number)
    other_tab.keyboard.press("Enter")
    other_tab.wait_for_url("**/terminal/pay/amount**")
    other_tab.get_by_label("税込金額（円）").fill("300")
    other_tab.get_by_role("button", name="決済する").click()
    other_tab.wait_for_url("**/terminal/pay/done/**")
    other_tab.close()
    page.wait_for_function("() => document.querySelector('#today-figures .today-count').textContent.trim() === '2件'")
    assert "1,000円" in page.locator("#today-figures .today-sum").inner_text()


def test_a_charge_sent_while_offline_shows_the_offline_page_and_is_never_made_later(profile):
    store = factories.make_store()
    member, card = factories.make_card_member(5_000)
    context = profile()
    page = context.pages[0] if context.pages else context.new_page()
    log_in(page, "terminal", store.code)
    controlled(page, "terminal")
    page.goto("/terminal/pay")
    page.get_by_label("カード番号（またはバーコードリーダーで読み取り）").fill(card.number)
    page.keyboard.press("Enter")
    page.wait_for_url("**/terminal/pay/amount**")
    page.get_by_label("税込金額（円）").fill("1200")
    context.set_offline(True)
    page.get_by_role("button", name="決済する").click()
    page.get_by_role("heading", name="通信できません", level=1).wait_for()
    assert "決済が保留されて、あとで行われることはありません" in page.locator("section.offline:visible").inner_text()
    context.set_offline(False)
    # Back online, the till asks what became of the charge it sent: not made,
    # the amount offered again with the same key.
    page.goto("/terminal/")
    page.get_by_text("決済されていません").wait_for()
    assert page.get_by_label("税込金額（円）").input_value() == "1200"
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Payment).where(Payment.store_id == store.id)) == 0
    assert ledger.member_balance(member.id) == 5_000


def test_the_offline_page_speaks_the_language_the_till_was_in(profile):
    store = factories.make_store()
    context = profile()
    page = context.pages[0] if context.pages else context.new_page()
    log_in(page, "terminal", store.code)
    controlled(page, "terminal")
    page.get_by_role("button", name="English").click()
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    context.set_offline(True)
    page.goto("/terminal/pay")
    page.get_by_role("heading", name="No connection", level=1).wait_for()
    assert "Always check the Store payment history" in page.locator("section.offline:visible").inner_text()
    assert page.evaluate("document.documentElement.lang") == "en"


def test_wallet_is_installable_caches_no_data_and_shows_the_offline_page_in_vietnamese(profile, live_server):
    member, account = factories.make_app_member(2_000)
    context = profile(locale="vi-VN")
    page = context.pages[0] if context.pages else context.new_page()
    context.add_cookies([{"name": "lang", "value": "vi", "url": live_server.url}])
    page.goto("/wallet/login")
    page.locator("input[name=code]").fill(account.login)
    page.locator("input[name=password]").fill(factories.PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/wallet/")
    controlled(page, "wallet")
    assert installability_errors(page) == []
    page.goto("/wallet/history")
    page.goto("/wallet/qr")
    assert_only_static_and_offline(cached_paths(page), "wallet")

    context.set_offline(True)
    page.goto("/wallet/history")
    assert urlsplit(page.url).path == "/wallet/history"
    page.get_by_role("heading", name="Không có kết nối", level=1).wait_for()
    assert page.evaluate("document.documentElement.lang") == "vi"
    assert "Lịch sử sử dụng" in page.locator("section.offline:visible").inner_text()
    screenshot(page, "wallet-offline-vi-390")
    page.set_viewport_size({"width": 360, "height": 740})
    screenshot(page, "wallet-offline-vi-360")


FAKE_WAKE_LOCK = """(() => {
  const log = [];
  window.__wakeLog = log;
  Object.defineProperty(navigator, "wakeLock", { configurable: true, value: {
    request(type) {
      log.push("request:" + type);
      const listeners = [];
      const sentinel = {
        released: false,
        addEventListener(name, fn) { if (name === "release") { listeners.push(fn); } },
        release() { sentinel.released = true; log.push("release"); listeners.forEach(fn => fn()); return Promise.resolve(); },
      };
      return Promise.resolve(sentinel);
    },
  } });
})();"""


def test_the_screen_stays_on_while_reading_and_typing_the_amount(page):
    """The Wake Lock API (a stand-in here: headless chromium has no screen to keep on)."""
    store = factories.make_store()
    member, card = factories.make_card_member(5_000)
    page.add_init_script(FAKE_WAKE_LOCK)
    log_in(page, "terminal", store.code)
    assert page.evaluate("window.__wakeLog") == []
    page.goto("/terminal/pay")
    page.wait_for_function("() => window.__wakeLog.join() === 'request:screen'")
    # Leaving for a page without the mark (HOME, a boosted link) lets the screen sleep again.
    page.get_by_role("navigation", name="メニュー").get_by_role("link", name="HOME").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/terminal/")
    page.wait_for_function("() => window.__wakeLog.join() === 'request:screen,release'")
    # The amount page keeps it on too.
    page.goto("/terminal/pay")
    page.get_by_label("カード番号（またはバーコードリーダーで読み取り）").fill(card.number)
    page.keyboard.press("Enter")
    page.wait_for_url("**/terminal/pay/amount**")
    page.get_by_label("税込金額（円）").wait_for()
    page.wait_for_function("() => window.__wakeLog[window.__wakeLog.length - 1] === 'request:screen'")
