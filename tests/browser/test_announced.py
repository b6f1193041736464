"""What a screen reader is told when a page arrives by a full load: the
terminal's 決済完了 puts its result in focus, so the amount and 取引番号 are
read, not the page's title alone."""
from __future__ import annotations

from tests import factories
from tests.browser.test_payments import pay_amount, read_typed_card
from tests.support.browser import log_in


def test_the_payment_result_is_in_focus_when_the_done_page_loads(page):
    store = factories.make_store()
    _, card = factories.make_card_member(5_000)
    log_in(page, "terminal", store.code)
    read_typed_card(page, card.number)
    pay_amount(page, "1200")
    page.wait_for_url("**/terminal/pay/done/**")
    page.wait_for_function("document.activeElement && document.activeElement.closest('main') !== null")
    focused = page.evaluate("""() => { const el = document.activeElement;
        const label = el.getAttribute('aria-labelledby');
        return {name: label ? document.getElementById(label).textContent.trim() : '', text: el.innerText}; }""")
    assert focused["name"] == "決済完了"
    assert "1,200円" in focused["text"] and "取引番号" in focused["text"]
