"""The till's fault matrix: a card payment at the terminal (and, below, the
wallet) when the network fails at each moment a clerk meets. Chromium's
network interception loses the request before the server, or the answer
after the server committed (route.fetch, then route.abort); the clerk then
does what clerks do (Back, reload, 「決済する」 again, a closed tab, a second
till). Every case ends with the payments stored and the balance: exactly the
charges the clerk meant, none doubled, none lost. SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from iseca.extensions import db
from iseca.models import AuditLog, Payment
from iseca.money import ledger
from tests import factories
from tests.support.browser import log_in, screenshot
from tests.support.database import BACKENDS

START = 5_000
CHARGE = "**/terminal/pay/charge"

# The matrix drives the pages' own answer to a lost charge (the pending
# charge kept on the device, the outcome asked of the server), with the
# installed app's service worker blocked: the interception below loses the
# page's own requests, and a till opened before its worker installed meets
# the browser's error page. With the worker, the same failures show the
# till's offline page (tests/browser/test_installable.py).


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    """The matrix runs on every database the suite has (the money is the point)."""
    return request.param


@pytest.fixture
def till(new_context):
    """A store, a card with START points and a logged-in till (390 px)."""
    store = factories.make_store(name="いせさき青果店", registers=2)
    member, card = factories.make_card_member(START)
    page = new_context(service_workers="block").new_page()
    log_in(page, "terminal", store.code, remember=True)
    return page, store, member, card


def read_card(page, number: str, register=None):
    page.goto("/terminal/pay" + (f"?register={register.id}" if register else ""))
    page.get_by_label("カード番号（またはバーコードリーダーで読み取り）").fill(number)
    page.keyboard.press("Enter")
    page.wait_for_url("**/terminal/pay/amount**")


def type_amount(page, amount: str) -> str:
    """The amount typed; returns the form's key (what the server will see)."""
    page.get_by_label("税込金額（円）").fill(amount)
    return page.locator("form.pay-form input[name=key]").input_value()


def tap(page, name="決済する"):
    page.get_by_role("button", name=name).click()


def _once_on_post(page, url, lose):
    done = []

    def handler(route):
        if route.request.method != "POST" or done:
            route.fallback()
            return
        done.append(route)
        lose(route)
    page.route(url, handler)


def lose_request(page, url=CHARGE):
    """The next POST to `url` never reaches the server (Wi-Fi cut before it left)."""
    _once_on_post(page, url, lambda route: route.abort("internetdisconnected"))


def lose_answer(page, url=CHARGE):
    """The next POST to `url` reaches the server, which charges and
    commits; its answer never comes back."""
    def lose(route):
        route.fetch(max_redirects=0)
        route.abort("internetdisconnected")
    _once_on_post(page, url, lose)


def browser_error_page(page):
    page.wait_for_url(lambda url: url.startswith("chrome-error://"))


def both_widths(page, name: str) -> None:
    """The answer as a phone shows it, at 390 and 360 px (screenshots to look
    at), with nothing wider than the 360 px screen."""
    screenshot(page, f"{name}-390")
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, f"{name}-360")
    page.set_viewport_size({"width": 390, "height": 844})


def stored(member) -> tuple[int, int]:
    """(payments of the member, balance), read fresh."""
    db.session.commit()
    count = db.session.scalar(select(func.count()).select_from(Payment).where(Payment.member_id == member.id))
    return count, ledger.member_balance(member.id)


def payment_numbers(member) -> list[str]:
    db.session.commit()
    return list(db.session.scalars(select(Payment.number).where(Payment.member_id == member.id).order_by(Payment.id)))


def resolved_done(page, amount_text: str, balance: int, number: str):
    """The till answered itself: 決済完了 as 「決済は完了しています」 with 取引番号, amount, time, balance."""
    page.get_by_role("heading", name="決済は完了しています").wait_for()
    assert page.locator(".done-amount").inner_text() == amount_text
    assert page.locator(".payment-number").inner_text() == number
    assert page.locator(".remaining").inner_text().startswith(f"{balance:,}")
    assert "日本時間" in page.locator(".done dl").inner_text()


def not_charged(page, amount: str, key: str):
    """「決済されていません」, the amount filled in and the same key."""
    page.locator(".not-charged").wait_for()
    assert "決済されていません" in page.locator(".not-charged").inner_text()
    assert page.get_by_label("税込金額（円）").input_value() == amount
    assert page.locator("form.pay-form input[name=key]").input_value() == key


def answered(page) -> None:
    """Wait until the page that answered the charge has cleared it from the
    device (its script runs after the heading is drawn): a page opened
    before that would still find it pending and ask the server again."""
    page.wait_for_function("() => !Object.keys(localStorage).some(k => k.startsWith('iseca-charge-'))")


def pending_record(page) -> str | None:
    return page.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('iseca-charge-')).map(k => localStorage.getItem(k)).join('')") or None


# ---------------------------------------------------------------------------
# Terminal
# ---------------------------------------------------------------------------


def test_request_lost_before_the_server_back_shows_not_charged_then_one_charge(till):
    page, store, member, card = till
    read_card(page, card.number)
    key = type_amount(page, "333")
    lose_request(page)
    tap(page)
    browser_error_page(page)
    assert stored(member) == (0, START)
    page.go_back()
    not_charged(page, "333", key)
    both_widths(page, "till-not-charged")
    tap(page)
    page.wait_for_url("**/terminal/pay/done/**")
    assert page.get_by_role("heading", name="決済完了").is_visible()
    assert stored(member) == (1, START - 333)
    assert pending_record(page) is None


def test_answer_lost_after_the_commit_back_shows_the_completed_charge(till):
    page, store, member, card = till
    read_card(page, card.number)
    type_amount(page, "333")
    lose_answer(page)
    tap(page)
    browser_error_page(page)
    assert stored(member) == (1, START - 333)
    page.go_back()
    resolved_done(page, "333円", START - 333, payment_numbers(member)[0])
    both_widths(page, "till-charge-completed")
    assert pending_record(page) is None
    assert stored(member) == (1, START - 333)


def test_double_tap_charges_once(till):
    page, store, member, card = till
    read_card(page, card.number)
    type_amount(page, "700")
    page.get_by_role("button", name="決済する").dblclick()
    page.wait_for_url("**/terminal/pay/done/**")
    assert stored(member) == (1, START - 700)


def test_back_and_retype_after_a_lost_answer_charges_once(till):
    page, store, member, card = till
    read_card(page, card.number)
    type_amount(page, "444")
    lose_answer(page)
    tap(page)
    browser_error_page(page)
    page.go_back()
    page.get_by_role("heading", name="決済は完了しています").wait_for()
    # The clerk, unsure, reads the card again and retypes the amount: the server asks.
    read_card(page, card.number)
    type_amount(page, "444")
    tap(page)
    page.locator(".duplicate-question").wait_for()
    page.get_by_role("link", name="決済しない").click()
    page.wait_for_url("**/terminal/pay?**")
    assert stored(member) == (1, START - 444)


def test_reload_of_the_browser_error_page_charges_once(till):
    page, store, member, card = till
    read_card(page, card.number)
    type_amount(page, "555")
    lose_answer(page)
    tap(page)
    browser_error_page(page)
    page.reload()
    page.get_by_role("heading", name="決済は完了しています").wait_for()
    assert page.locator(".done-amount").inner_text() == "555円"
    assert stored(member) == (1, START - 555)


def test_reload_after_a_lost_request_charges_once(till):
    page, store, member, card = till
    read_card(page, card.number)
    key = type_amount(page, "555")
    lose_request(page)
    tap(page)
    browser_error_page(page)
    # The browser sends the lost request again, with its key: it charges now, once.
    page.reload()
    page.get_by_role("heading", name="決済完了").wait_for()
    assert page.locator("input[name=key]").count() == 0 and key
    assert stored(member) == (1, START - 555)


def test_kessai_suru_again_with_the_same_card_and_amount_shows_the_completed_charge(till):
    page, store, member, card = till
    read_card(page, card.number)
    type_amount(page, "600")
    lose_answer(page)
    tap(page)
    browser_error_page(page)
    page.goto("/terminal/pay")  # HOME's 「決済する」
    resolved_done(page, "600円", START - 600, payment_numbers(member)[0])
    assert stored(member) == (1, START - 600)


@pytest.mark.parametrize("lost", ["request", "answer"])
def test_the_tab_closed_and_the_till_reopened(till, lost):
    page, store, member, card = till
    read_card(page, card.number)
    key = type_amount(page, "720")
    (lose_request if lost == "request" else lose_answer)(page)
    tap(page)
    browser_error_page(page)
    context = page.context
    page.close()
    page = context.new_page()
    page.goto("/terminal/")
    if lost == "request":
        not_charged(page, "720", key)
        assert stored(member) == (0, START)
        tap(page)
        page.wait_for_url("**/terminal/pay/done/**")
    else:
        resolved_done(page, "720円", START - 720, payment_numbers(member)[0])
    assert stored(member) == (1, START - 720)


def test_two_tills_charging_the_same_card_at_once_charge_once_and_ask_the_other(till, new_context):
    page, store, member, card = till
    other = new_context(service_workers="block").new_page()
    log_in(other, "terminal", store.code)
    read_card(page, card.number, store.registers[0])
    read_card(other, card.number, store.registers[1])
    type_amount(page, "980")
    type_amount(other, "980")
    # Both requests are held until both are on their way, then let go together.
    held = []

    def hold(route):
        held.append(route)

    for p in (page, other):
        p.route(CHARGE, hold, times=1)
    for p in (page, other):
        p.evaluate("document.querySelector('form.pay-form').requestSubmit()")
    while len(held) < 2:
        page.wait_for_timeout(50)
    for route in held:
        route.continue_()
    answers = []
    for p in (page, other):
        p.locator(".done-amount, .duplicate-question").first.wait_for()
        answers.append("asked" if p.locator(".duplicate-question").count() else "charged")
    assert sorted(answers) == ["asked", "charged"]
    assert stored(member) == (1, START - 980)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(AuditLog)
                             .where(AuditLog.action == "payment_duplicate_asked")) == 1


def test_a_duplicate_within_the_window_is_asked_and_charged_only_when_confirmed(till):
    page, store, member, card = till
    read_card(page, card.number)
    type_amount(page, "1280")
    tap(page)
    page.wait_for_url("**/terminal/pay/done/**")
    first_number = payment_numbers(member)[0]
    read_card(page, card.number)
    key = type_amount(page, "1280")
    tap(page)
    question = page.locator(".duplicate-question")
    question.wait_for()
    text = question.inner_text()
    assert "同じカードで同じ金額の決済が1分前に完了しています" in text and first_number in text
    assert "もう一度決済しますか？" in text
    assert page.locator("input[name=key]").input_value() == key
    both_widths(page, "till-duplicate-question")
    assert stored(member) == (1, START - 1280)
    # The answer of 「もう一度決済する」 is lost too: the till still charges once.
    lose_answer(page)
    tap(page, "もう一度決済する")
    browser_error_page(page)
    page.go_back()
    page.get_by_role("heading", name="決済は完了しています").wait_for()
    assert stored(member) == (2, START - 2 * 1280)
    db.session.commit()
    actions = list(db.session.scalars(select(AuditLog.action).where(AuditLog.action.like("payment_duplicate%"))))
    assert sorted(actions) == ["payment_duplicate_asked", "payment_duplicate_confirmed"]


def test_a_duplicate_after_the_window_charges_straight_away(till):
    page, store, member, card = till
    read_card(page, card.number)
    type_amount(page, "1280")
    tap(page)
    page.wait_for_url("**/terminal/pay/done/**")
    db.session.commit()
    made = db.session.scalar(select(Payment.created_at).where(Payment.member_id == member.id))
    db.session.execute(update(Payment).where(Payment.member_id == member.id)
                       .values(created_at=made - dt.timedelta(seconds=181)))
    db.session.commit()
    read_card(page, card.number)
    type_amount(page, "1280")
    tap(page)
    page.wait_for_url("**/terminal/pay/done/**")
    assert page.get_by_role("heading", name="決済完了").is_visible()
    assert stored(member) == (2, START - 2 * 1280)


# ---------------------------------------------------------------------------
# Wallet: the resident pays a register by its QR address
# ---------------------------------------------------------------------------

WALLET_PAY = "**/wallet/pay/*"


@pytest.fixture
def phone(new_context):
    """A store, an app member with START points logged in on a phone (390 px)."""
    store = factories.make_store(name="カフェひまわり")
    member, account = factories.make_app_member(START)
    page = new_context(service_workers="block").new_page()
    log_in(page, "wallet", account.login)
    page.login = account.login
    return page, store, member


def wallet_amount(page, store, amount: str) -> str:
    """The register's QR opened, the amount typed, 確認へ; returns the key."""
    page.goto(f"/wallet/pay/{store.registers[0].qr_token}")
    page.get_by_label("お支払い金額（税込・円）").fill(amount)
    page.get_by_role("button", name="確認へ").click()
    page.wait_for_url("**/confirm**")
    return page.locator("input[name=key]").input_value()


def wallet_resolved(page, amount_text: str, balance: int, number: str):
    page.get_by_role("heading", name="決済は完了しています").wait_for()
    assert page.locator(".done-amount").inner_text() == amount_text
    assert page.locator(".payment-number").inner_text() == number
    assert page.locator(".remaining").inner_text().startswith(f"{balance:,}")


def test_wallet_request_lost_back_shows_not_charged_then_pays_once(phone):
    page, store, member = phone
    key = wallet_amount(page, store, "880")
    lose_request(page, WALLET_PAY)
    tap(page, "支払う")
    browser_error_page(page)
    assert stored(member) == (0, START)
    page.go_back()
    page.locator(".not-charged").wait_for()
    assert "決済されていません" in page.locator(".not-charged").inner_text()
    assert page.get_by_label("お支払い金額（税込・円）").input_value() == "880"
    assert page.locator("input[name=key]").input_value() == key
    both_widths(page, "wallet-not-charged")
    page.get_by_role("button", name="確認へ").click()
    tap(page, "支払う")
    page.get_by_role("heading", name="お支払い完了").wait_for()
    assert stored(member) == (1, START - 880)


def test_wallet_answer_lost_back_shows_the_completed_payment_not_a_second_deduction(phone):
    page, store, member = phone
    wallet_amount(page, store, "880")
    lose_answer(page, WALLET_PAY)
    tap(page, "支払う")
    browser_error_page(page)
    page.go_back()
    wallet_resolved(page, "880円", START - 880, payment_numbers(member)[0])
    both_widths(page, "wallet-payment-completed")
    assert stored(member) == (1, START - 880)


def test_wallet_double_tap_pays_once(phone):
    page, store, member = phone
    wallet_amount(page, store, "300")
    page.get_by_role("button", name="支払う").dblclick()
    page.get_by_role("heading", name="お支払い完了").wait_for()
    assert stored(member) == (1, START - 300)


def test_wallet_reload_of_the_error_page_pays_once(phone):
    page, store, member = phone
    wallet_amount(page, store, "300")
    lose_answer(page, WALLET_PAY)
    tap(page, "支払う")
    browser_error_page(page)
    page.reload()
    wallet_resolved(page, "300円", START - 300, payment_numbers(member)[0])
    assert stored(member) == (1, START - 300)


@pytest.mark.parametrize("reopen", ["app", "store_qr"])
def test_wallet_reopened_or_the_store_qr_read_again_shows_the_completed_payment(phone, reopen):
    page, store, member = phone
    wallet_amount(page, store, "450")
    lose_answer(page, WALLET_PAY)
    tap(page, "支払う")
    browser_error_page(page)
    context = page.context
    page.close()
    page = context.new_page()
    page.goto("/wallet/" if reopen == "app" else f"/wallet/pay/{store.registers[0].qr_token}")
    wallet_resolved(page, "450円", START - 450, payment_numbers(member)[0])
    assert stored(member) == (1, START - 450)


def test_wallet_duplicate_within_the_window_is_asked_after_it_is_not(phone):
    page, store, member = phone
    wallet_amount(page, store, "500")
    tap(page, "支払う")
    page.get_by_role("heading", name="お支払い完了").wait_for()
    answered(page)
    first_number = payment_numbers(member)[0]
    wallet_amount(page, store, "500")
    tap(page, "支払う")
    question = page.locator(".duplicate-question")
    question.wait_for()
    assert "このお店で同じ金額の決済が1分前に完了しています" in question.inner_text()
    assert first_number in question.inner_text()
    both_widths(page, "wallet-duplicate-question")
    assert stored(member) == (1, START - 500)
    tap(page, "もう一度決済する")
    page.get_by_role("heading", name="お支払い完了").wait_for()
    answered(page)
    assert stored(member) == (2, START - 1_000)
    # Past the window (the payments moved back in time): no question.
    db.session.execute(update(Payment).where(Payment.member_id == member.id)
                       .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=181)))
    db.session.commit()
    wallet_amount(page, store, "500")
    tap(page, "支払う")
    page.get_by_role("heading", name="お支払い完了").wait_for()
    assert stored(member) == (3, START - 1_500)


def test_wallet_two_phones_of_one_member_paying_at_once_pay_once_and_ask_the_other(phone, new_context):
    page, store, member = phone
    other = new_context(service_workers="block").new_page()
    log_in(other, "wallet", page.login)
    held = []
    for p in (page, other):
        wallet_amount(p, store, "640")
        p.route(WALLET_PAY, lambda route: held.append(route) if route.request.method == "POST" else route.fallback())
    for p in (page, other):
        p.evaluate("document.querySelector('form[data-till-charge]').requestSubmit()")
    while len(held) < 2:
        page.wait_for_timeout(50)
    for route in held:
        route.continue_()
    answers = []
    for p in (page, other):
        p.locator(".done-amount, .duplicate-question").first.wait_for()
        answers.append("asked" if p.locator(".duplicate-question").count() else "paid")
    assert sorted(answers) == ["asked", "paid"]
    assert stored(member) == (1, START - 640)


def test_the_network_back_resolves_a_lost_answer_on_a_page_already_open(till):
    page, store, member, card = till
    home = page.context.new_page()  # HOME left open in another tab of the till
    home.goto("/terminal/")
    read_card(page, card.number)
    type_amount(page, "390")
    lose_answer(page)
    tap(page)
    browser_error_page(page)
    page.context.set_offline(True)
    assert home.url.endswith("/terminal/")
    page.context.set_offline(False)  # the Wi-Fi is back: the open tab asks by itself
    resolved_done(home, "390円", START - 390, payment_numbers(member)[0])
    assert stored(member) == (1, START - 390)
