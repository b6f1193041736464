"""Pages on a 360 px phone: a page reached by a link or a form starts at its
top (its message in view), nothing scrolls sideways, and every scroll box
can be scrolled with the keyboard."""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest

from iseca.models import utcnow
from tests import factories
from tests.browser.test_accessibility import AXE
from tests.browser.test_walkthrough import town  # noqa: F401  (fixture)
from tests.support.browser import log_in, screenshot

PHONE = {"width": 360, "height": 640}

IN_VIEW = """el => { const r = el.getBoundingClientRect();
    return r.top >= 0 && r.bottom <= window.innerHeight; }"""


@pytest.fixture
def store_with_payments(app):
    business = factories.make_business(name="株式会社いせさき")
    store = factories.make_store(business, registers=2, name="いせさき青果店")
    member, _ = factories.make_card_member(200_000)
    now = utcnow()
    for i in range(12):
        factories.make_payment_at(store.registers[i % 2], member, 100 + 10 * i, now - dt.timedelta(minutes=7 * i))
    return store


def _in_view(locator) -> bool:
    return locator.evaluate(IN_VIEW)


@pytest.mark.parametrize("how", ["keyboard", "touch"])
def test_a_cancel_opens_at_its_heading_and_its_result_is_in_view(new_context, store_with_payments, how):
    """利用状況一覧 → 取消 (of the last row, scrolled down to) opens the
    confirmation at its top; 「取消する」 brings the list back with
    「取消しました」 in view, not at the bottom where the button was."""
    page = new_context(viewport=PHONE, has_touch=how == "touch", is_mobile=how == "touch").new_page()
    log_in(page, "cms", store_with_payments.code, kind="store")
    page.goto("/cms/usage")
    link = page.locator("table.usage-table tbody tr").last.get_by_role("link", name="取消")
    link.scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 400
    if how == "keyboard":
        link.focus()
        page.keyboard.press("Enter")
    else:
        link.tap()
    page.wait_for_url(lambda url: urlsplit(url).path.endswith("/cancel"))
    heading = page.get_by_role("heading", name="決済の取消", level=1)
    heading.wait_for()
    page.wait_for_function("() => !document.body.classList.contains('htmx-swapping')"
                           " && !document.querySelector('.htmx-settling')")
    assert _in_view(heading), f"the heading is {heading.evaluate('el => el.getBoundingClientRect().top')} px from the top"

    button = page.get_by_role("button", name="取消する")
    button.scroll_into_view_if_needed()
    assert not _in_view(heading)
    if how == "keyboard":
        button.focus()
        page.keyboard.press("Enter")
    else:
        button.tap()
    page.wait_for_url(lambda url: urlsplit(url).path == "/cms/usage")
    message = page.get_by_text("を取消しました")
    message.wait_for()
    page.wait_for_function("() => !document.querySelector('.htmx-settling')")
    screenshot(page, f"phone-after-cancel-{how}")
    assert _in_view(message), f"the message is {message.evaluate('el => el.getBoundingClientRect().top')} px from the top"


def test_the_next_page_of_the_usage_list_shows_its_results_from_the_top(new_context, monkeypatch, store_with_payments):
    """Paging 利用状況一覧 (an htmx swap of the results alone, at the
    foot of the list) brings the new results' heading into view."""
    from iseca.money import usage

    monkeypatch.setattr(usage.page_of, "__defaults__", (1, 5))
    page = new_context(viewport=PHONE).new_page()
    log_in(page, "cms", store_with_payments.code, kind="store")
    page.goto("/cms/usage")
    pager = page.get_by_role("navigation", name="ページ送り")
    pager.get_by_role("link", name="2", exact=True).click()
    page.wait_for_url("**page=2*")
    heading = page.locator("#results-heading")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'results-heading'")
    assert _in_view(heading)
    assert page.evaluate("window.scrollY") > 0  # the filter above stays scrolled away: only the list changed

def _scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.parametrize("locale", ["ja-JP", "en-US", "vi-VN", "pt-BR"])
def test_the_application_form_does_not_scroll_sideways(new_context, locale):
    """/apply in each language (Vietnamese and Portuguese readers get the
    English form): the bank-name list's labels wrap within 360 px."""
    page = new_context(viewport=PHONE, locale=locale).new_page()
    assert page.goto("/apply").ok
    page.locator("#bank-names dl").wait_for()
    assert _scroll_width(page) <= PHONE["width"], screenshot(page, f"phone-apply-{locale}")


def test_business_information_in_english_does_not_scroll_sideways(new_context):
    business = factories.make_business(name="株式会社いせさき")
    factories.make_store(business, name="いせさき青果店")
    context = new_context(viewport=PHONE)
    page = context.new_page()
    log_in(page, "cms", business.code, kind="business")
    context.add_cookies([{"name": "lang", "value": "en", "url": page.url}])
    page.goto("/cms/business")
    assert page.locator("html").get_attribute("lang") == "en"
    page.locator("#bank-names dl").wait_for()
    assert _scroll_width(page) <= PHONE["width"], screenshot(page, "phone-business-en")


SCROLL_BOXES = """() => [...document.querySelectorAll('.table-scroll')]
    .filter(box => box.scrollWidth > box.clientWidth)
    .map(box => ({heading: (box.closest('section') || box.parentElement).querySelector('h2, h1')?.textContent.trim(),
                  tabindex: box.getAttribute('tabindex'), role: box.getAttribute('role'),
                  named: !!(box.getAttribute('aria-label') || box.getAttribute('aria-labelledby'))}))"""


@pytest.mark.parametrize("who", ["business", "counter"])
def test_audit_tables_scroll_with_the_keyboard(new_context, town, who):  # noqa: F811
    """操作履歴, 監査ログ and the tables of 加盟店詳細 are wider than a phone:
    each scroll box takes the focus (Tab, then the arrow keys scroll it) and is
    a named region, as axe's scrollable-region-focusable asks."""
    page = new_context(viewport=PHONE, bypass_csp=True).new_page()
    if who == "business":
        log_in(page, "cms", town["business"].code, kind="business")
        paths = ["/cms/audit"]
    else:
        log_in(page, "counter", "clerk1")
        paths = ["/counter/audit", f"/counter/merchants/{town['business'].id}"]
    for path in paths:
        assert page.goto(path).ok
        boxes = page.evaluate(SCROLL_BOXES)
        assert boxes, f"{path}: no table wider than the phone (the test would prove nothing)"
        assert [b for b in boxes if (b["tabindex"], b["role"], b["named"]) != ("0", "region", True)] == [], path
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("axe.run(document, {runOnly: {type: 'rule', values: ['scrollable-region-focusable']}})")
        assert [node["target"] for v in result["violations"] for node in v["nodes"]] == [], path
        box = page.locator(".table-scroll[tabindex='0']").first
        box.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function("box => box.scrollLeft > 0", arg=box.element_handle())
