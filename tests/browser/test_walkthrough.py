"""A walk through every area as its users would: no dead link from the menus,
nothing wider than a phone, the menu says where you are, buttons a thumb can
hit at the till, and the management site without JavaScript."""
from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest

from iseca.models import PaymentMethod, utcnow
from iseca.timeutil import today_jst
from tests import factories
from tests.support.browser import log_in, screenshot

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# Links that download a file, leave the page or change something are not walked.
NOT_WALKED = re.compile(r"logout|\.csv|\.pdf|\.png|/static/|/images/")


@pytest.fixture
def town(app):
    """A business with two stores, an app member and a card member who have
    paid at both, and a counter clerk."""
    business = factories.make_business(name="有限会社いせさき商店")
    greengrocer = factories.make_store(business, registers=2, name="いせさき青果店")
    butcher = factories.make_store(business, name="いせさき精肉店")
    app_member, app_account = factories.make_app_member(50_000)
    card_member, card = factories.make_card_member(50_000)
    now = utcnow()
    for i in range(6):
        at = now - dt.timedelta(minutes=40 * i + 1)
        factories.make_payment_at(greengrocer.registers[i % 2], app_member, 3_300 + i, at, method=PaymentMethod.STORE_SCAN)
        factories.make_payment_at(butcher.registers[0], card_member, 1_280 + i, at, card=card)
    staff = factories.make_staff("clerk1")
    return dict(business=business, store=greengrocer, member_login=app_account.login, staff=staff)


def _who(town, who: str):
    """(area, login, kind) for each kind of user."""
    return {
        "store": ("cms", town["store"].code, "store"),
        "business": ("cms", town["business"].code, "business"),
        "till": ("terminal", town["store"].code, None),
        "counter": ("counter", "clerk1", None),
        "resident": ("wallet", town["member_login"], None),
        "public": (None, None, None),
    }[who]


@pytest.mark.parametrize("who", ["store", "business", "till", "counter", "resident", "public"])
def test_no_page_reached_from_the_menus_answers_an_error(new_context, live_server, town, who):
    area, code, kind = _who(town, who)
    context = new_context(viewport=DESKTOP)
    page = context.new_page()
    if area:
        log_in(page, area, code, kind=kind)
    prefix = f"/{area}/" if area else "/"
    start = f"{live_server.url}{prefix}"
    queue, walked, checked, failures = [start], set(), {}, []
    while queue and len(walked) < 40:
        url = queue.pop(0)
        path = urlsplit(url).path
        shape = re.sub(r"\d+", "N", path)
        if shape in walked:
            continue
        walked.add(shape)
        response = page.goto(url)
        if response.status >= 400:
            failures.append(f"{url} → {response.status}")
            continue
        for link in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            link = link.split("#")[0]
            if not link.startswith(live_server.url) or NOT_WALKED.search(link):
                continue
            if link not in checked:
                checked[link] = context.request.get(link, max_redirects=5).status
                if checked[link] >= 400:
                    failures.append(f"{link} (linked from {url}) → {checked[link]}")
            if area is None and any(urlsplit(link).path.startswith(f"/{a}/") for a in ("cms", "terminal", "counter", "wallet")):
                continue
            if urlsplit(link).path.startswith(prefix):
                queue.append(link)
    assert len(walked) > 3
    assert failures == []


MAIN_PAGES = {
    "store": ["/cms/", "/cms/registers", "/cms/usage", "/cms/usage/daily", "/cms/settlements", "/cms/stores", "/cms/password"],
    "business": ["/cms/", "/cms/registers", "/cms/usage", "/cms/usage/daily", "/cms/stores", "/cms/business"],
    "till": ["/terminal/", "/terminal/pay", "/terminal/history"],
    "counter": ["/counter/", "/counter/registers", "/counter/applications", "/counter/merchants", "/counter/outbox",
                "/counter/members", "/counter/grants/upload", "/counter/campaigns", "/counter/applications/new"],
    "resident": ["/wallet/", "/wallet/qr", "/wallet/history"],
    "public": ["/", "/stores", "/apply", "/faq", "/not-payable", "/contact", "/cms/login", "/terminal/login"],
}


# The figures a person reads first: totals, balances, amounts.
KEY_FIGURES = ".figures dd, .balance .amount, .done-amount, .incoming-amount, .run-total-amount, td.amount, .history-list .amount"
PHONES = {"360": {"width": 360, "height": 740}, "390": PHONE}


def _too_wide(page) -> list[int] | None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    return widths if widths[0] > widths[1] else None


def _outside(page, selector: str) -> list[str]:
    """Visible elements matching `selector` that are not wholly inside the viewport."""
    return page.eval_on_selector_all(selector, """els => els.filter(e => e.offsetParent !== null).filter(e => {
        const r = e.getBoundingClientRect();
        return r.left < 0 || r.right > window.innerWidth + 0.5 || r.width === 0;
    }).map(e => e.textContent.trim())""")


@pytest.mark.parametrize("phone", list(PHONES))
@pytest.mark.parametrize("who", list(MAIN_PAGES))
def test_main_pages_fit_a_phone_without_sideways_scrolling(new_context, town, who, phone):
    area, code, kind = _who(town, who)
    page = new_context(viewport=PHONES[phone]).new_page()
    if area:
        log_in(page, area, code, kind=kind)
    too_wide, cut = {}, {}
    for path in MAIN_PAGES[who] + DETAIL_PAGES.get(who, lambda t: [])(town):
        assert page.goto(path).status == 200, path
        widths = _too_wide(page)
        if widths:
            too_wide[path] = widths
            screenshot(page, f"too-wide-{phone}-{who}-{path.strip('/').replace('/', '-') or 'top'}")
        outside = _outside(page, KEY_FIGURES)
        if outside:
            cut[path] = outside
    assert too_wide == {}
    assert cut == {}


DETAIL_PAGES = {
    "store": lambda town: [f"/cms/stores/{town['store'].id}", f"/cms/registers/{town['store'].registers[0].id}/qr"],
    "till": lambda town: ["/terminal/pay/incoming", "/terminal/password"],
    "resident": lambda town: ["/wallet/scan", f"/wallet/pay/{town['store'].registers[0].qr_token}"],
}


@pytest.mark.parametrize("phone", list(PHONES))
def test_usage_rows_show_amount_status_and_cancel_on_a_phone(new_context, town, phone):
    page = new_context(viewport=PHONES[phone]).new_page()
    log_in(page, "cms", town["business"].code, kind="business")
    page.goto("/cms/usage")
    assert _too_wide(page) is None
    row = page.locator("main .usage-table tbody tr").first
    for cell in (row.locator("td.amount"), row.locator(".badge"), row.get_by_role("link", name="取消")):
        assert cell.is_visible()
    assert _outside(page, "main .usage-table tbody tr:first-child td.amount, main .usage-table tbody tr:first-child .badge,"
                          " main .usage-table tbody tr:first-child .row-actions a") == []
    assert re.fullmatch(r"[\d,]+円", row.locator("td.amount").inner_text())
    screenshot(page, f"walkthrough-usage-phone-{phone}")


@pytest.mark.parametrize("phone", list(PHONES))
def test_the_tills_running_total_is_in_view_on_a_phone(new_context, town, phone):
    """「続けて別のカードで決済」: the 合計 the clerk keys into the register."""
    from iseca.terminal.payments import _run_serializer

    store = town["store"]
    members = [factories.make_card_member(200_000) for _ in range(3)]
    paid = [factories.make_payment_at(store.registers[0], member, amount, utcnow(), card=card)
            for (member, card), amount in zip(members, (12_345, 6_780, 123_456), strict=True)]
    run = _run_serializer().dumps([p.id for p in paid])
    page = new_context(viewport=PHONES[phone]).new_page()
    log_in(page, "terminal", store.code)
    page.goto(f"/terminal/pay/done/{paid[-1].id}?run={run}")
    total = page.locator(".run-total-amount")
    assert total.inner_text().strip() == "142,581円"
    assert _outside(page, ".run-total-amount, .run-total td.amount") == []
    assert _too_wide(page) is None
    screenshot(page, f"walkthrough-run-total-{phone}")


@pytest.mark.parametrize("phone", list(PHONES))
def test_detail_pages_of_the_counter_fit_a_phone(new_context, town, phone):
    page = new_context(viewport=PHONES[phone]).new_page()
    log_in(page, "counter", "clerk1")
    page.goto("/counter/merchants")
    page.get_by_role("link", name="有限会社いせさき商店").first.click()
    page.wait_for_url("**/counter/merchants/*")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.goto("/counter/members")
    page.locator("main table a").first.click()
    page.wait_for_url("**/counter/members/*")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def _current(page):
    return page.eval_on_selector_all(
        "nav[aria-label=メニュー] a[aria-current]", "links => links.map(a => [a.textContent.trim(), a.getAttribute('aria-current')])")


def test_menu_shows_the_page_you_are_on(new_context, town):
    page = new_context(viewport=DESKTOP).new_page()
    log_in(page, "cms", town["store"].code, kind="store")
    assert _current(page) == [["TOP", "page"]]
    menu = page.get_by_role("navigation", name="メニュー")
    menu.get_by_role("link", name="利用状況一覧").click()
    page.wait_for_url("**/cms/usage")
    assert _current(page) == [["利用状況一覧", "page"]]
    page.get_by_role("link", name="日計（日別・レジ別の集計）").click()
    page.wait_for_url("**/cms/usage/daily*")
    assert _current(page) == [["利用状況一覧", "true"]]
    menu.get_by_role("link", name="レジ一覧").click()
    page.wait_for_url("**/cms/registers")
    page.get_by_role("link", name="QRコード表示").first.click()
    page.wait_for_url("**/qr")
    assert _current(page) == [["レジ一覧", "true"]]
    menu.get_by_role("link", name="パスワード変更").click()
    page.wait_for_url("**/cms/password")
    assert _current(page) == [["パスワード変更", "page"]]

    wallet = new_context(viewport=PHONE).new_page()
    log_in(wallet, "wallet", town["member_login"])
    wallet.get_by_role("navigation", name="メニュー").get_by_role("link", name="利用履歴").click()
    wallet.wait_for_url("**/wallet/history")
    wallet.locator("main table a").first.click()
    wallet.wait_for_url("**/wallet/payments/*")
    assert _current(wallet) == [["利用履歴", "true"]]


def test_till_buttons_are_big_enough_for_a_thumb(new_context, town):
    page = new_context(viewport=PHONE).new_page()
    log_in(page, "terminal", town["store"].code)
    small = {}
    for path in ["/terminal/", "/terminal/pay", "/terminal/history", "/terminal/password", "/cms/usage", "/cms/registers"]:
        page.goto(path)
        heights = page.eval_on_selector_all(
            "main .button, main button",
            "els => els.filter(e => e.offsetParent !== null)"
            ".map(e => [e.textContent.trim(), Math.round(e.getBoundingClientRect().height)])")
        small.update({f"{path} {label}": h for label, h in heights if h < 44})
    assert small == {}


def test_keyboard_focus_is_visible_in_the_menu(new_context, town):
    page = new_context(viewport=DESKTOP).new_page()
    log_in(page, "cms", town["store"].code, kind="store")
    page.goto("/cms/")
    page.keyboard.press("Tab")  # 本文へ移動
    assert page.evaluate("document.activeElement.textContent.trim()") == "本文へ移動"
    for _ in range(3):
        page.keyboard.press("Tab")
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none", page.evaluate("document.activeElement.outerHTML")


def test_wallet_history_keeps_each_date_and_amount_on_one_line_on_a_phone(new_context, town):
    page = new_context(viewport=PHONE).new_page()
    log_in(page, "wallet", town["member_login"])
    page.goto("/wallet/history")
    row = page.locator("main tbody tr").first
    assert re.fullmatch(r"[\d,]+円", row.locator("td.num").inner_text())
    for cell in (row.locator("td").nth(0), row.locator("td.num")):
        lines = cell.evaluate("el => { const r = document.createRange(); r.selectNodeContents(el);"
                              " return r.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight); }")
        assert lines < 1.5, cell.inner_text()
    screenshot(page, "walkthrough-wallet-history-phone")
    assert page.locator("main .badge", has_text="決済済").first.is_visible()


def test_management_site_works_without_javascript(new_context, town):
    context = new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    log_in(page, "cms", town["store"].code, kind="store")
    menu = page.get_by_role("navigation", name="メニュー")

    menu.get_by_role("link", name="利用状況一覧").click()
    page.wait_for_url("**/cms/usage")
    page.get_by_label("金額（下限・円）").fill("abc")
    page.get_by_role("button", name="検索").click()
    page.wait_for_url("**amount_min=abc*")
    error = page.locator(".field.has-error", has=page.get_by_label("金額（下限・円）"))
    assert "数字" in error.inner_text()
    assert page.get_by_label("金額（下限・円）").input_value() == "abc"
    page.get_by_label("期間（開始日）").fill((today_jst() - dt.timedelta(days=2)).isoformat())
    page.get_by_label("期間（終了日）").fill(today_jst().isoformat())
    page.get_by_label("金額（下限・円）").fill("3000")
    page.get_by_role("button", name="検索").click()
    page.wait_for_url("**amount_min=3000*")
    assert page.get_by_text("全6件中 1〜6件目を表示（新しい順）").is_visible()

    menu.get_by_role("link", name="店舗情報").click()
    page.wait_for_url("**/cms/stores/*")
    page.get_by_label("電話番号").fill("abc")
    page.get_by_role("button", name="店舗情報を保存する").click()
    page.wait_for_load_state()
    assert "市外局番" in page.locator(".field.has-error", has=page.get_by_label("電話番号")).inner_text()
    page.get_by_label("郵便番号").fill("372-0042")
    page.get_by_label("電話番号").fill("0270-27-2708")
    page.get_by_label("営業時間").fill("9:00〜18:30")
    page.get_by_role("button", name="店舗情報を保存する").click()
    page.wait_for_load_state()
    assert page.locator(".field.has-error").all_inner_texts() == []
    assert page.get_by_text("店舗情報を保存しました。").is_visible()
    assert page.get_by_label("営業時間").input_value() == "9:00〜18:30"
    screenshot(page, "walkthrough-store-without-js")


def test_a_missing_page_keeps_the_areas_menu_and_leads_back_home(new_context, town):
    page = new_context(viewport=PHONE).new_page()
    log_in(page, "terminal", town["store"].code)
    response = page.goto("/terminal/history/999999")
    assert response.status == 404
    assert page.get_by_role("heading", name="ページが見つかりません").is_visible()
    assert page.get_by_role("navigation", name="メニュー").get_by_role("link", name="HOME").is_visible()
    page.get_by_role("link", name="加盟店アプリのトップへ").click()
    page.wait_for_url("**/terminal/")
    assert page.get_by_role("link", name="決済する").is_visible()

    anonymous = new_context(viewport=PHONE).new_page()
    assert anonymous.goto("/no-such-page").status == 404
    assert anonymous.get_by_role("link", name="トップページへ").is_visible()
