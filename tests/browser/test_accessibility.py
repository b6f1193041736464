"""WCAG 2.1 AA checks with axe-core (vendored for the tests only) over one
page of each kind, and the behaviours axe cannot see: focus rings that
stand out, error messages that are announced, a live region that speaks only
when something changed."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests import factories
from tests.browser.test_walkthrough import _who, town  # noqa: F401  (fixture)
from tests.support.browser import log_in, screenshot

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

PAGES = {
    "public": ["/", "/stores", "/faq", "/terminal/offline", "/wallet/offline"],
    "apply": ["/apply"],
    "cms login": ["/cms/login", "/terminal/login"],
    "cms pages": ["/cms/", "/cms/usage", "/cms/registers", "/cms/stores"],
    "business": ["/cms/business"],
    "terminal": ["/terminal/", "/terminal/pay", "/terminal/history"],
    "wallet": ["/wallet/", "/wallet/scan", "/wallet/history"],
    "counter": ["/counter/", "/counter/members", "/counter/applications/new"],
}
WHO = {"public": "public", "apply": "public", "cms login": "public", "cms pages": "store", "business": "business",
       "terminal": "till", "wallet": "resident", "counter": "counter"}


def axe_violations(page, impacts=("serious", "critical")) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA)
    found = []
    for violation in result["violations"]:
        if violation["impact"] in impacts:
            targets = [json.dumps(node["target"], ensure_ascii=False) for node in violation["nodes"][:3]]
            found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} {' '.join(targets)}")
    return found


@pytest.mark.parametrize("kind", list(PAGES))
def test_no_serious_accessibility_violations(new_context, town, kind):  # noqa: F811
    area, code, account_kind = _who(town, WHO[kind])
    # axe is added to the page as a script: the test's own, so the CSP is bypassed for it.
    page = new_context(bypass_csp=True).new_page()
    if area:
        log_in(page, area, code, kind=account_kind)
    found = {}
    for path in PAGES[kind]:
        assert page.goto(path).status == 200, path
        violations = axe_violations(page)
        if violations:
            found[path] = violations
            screenshot(page, f"axe-{kind}-{path.strip('/').replace('/', '-') or 'top'}")
    assert found == {}


CONTRAST = """([a, b]) => {
    const rgb = s => s.match(/[\\d.]+/g).slice(0, 3).map(Number);
    const lum = c => { const [r, g, b] = c.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
                       return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
    const [x, y] = [lum(rgb(a)), lum(rgb(b))].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
}"""


def _ring_contrast(page, selector: str, background_of: str) -> float:
    """The best contrast of the focus ring's two colours (outline and halo)
    against the colour around the focused element."""
    page.locator(selector).first.focus()
    outline, halo = page.locator(selector).first.evaluate(
        "el => { const s = getComputedStyle(el); return [s.outlineColor, s.boxShadow]; }")
    around = page.locator(background_of).first.evaluate(
        "el => { let e = el; while (e) { const c = getComputedStyle(e).backgroundColor;"
        " if (c && !c.endsWith(', 0)') && c !== 'transparent') return c; e = e.parentElement; } return 'rgb(255, 255, 255)'; }")
    colours = [outline] + ([halo.split(")")[0] + ")"] if halo and halo != "none" else [])
    return max(page.evaluate(CONTRAST, [c, around]) for c in colours)


def test_focus_ring_stands_out_on_white_grey_and_green(new_context, town):  # noqa: F811
    page = new_context().new_page()
    log_in(page, "cms", town["store"].code, kind="store")
    page.goto("/cms/usage")
    assert _ring_contrast(page, "main .card .button", "main .card") >= 3  # white card
    assert _ring_contrast(page, "main h1 ~ * a, main a", "main") >= 3  # light grey page
    assert _ring_contrast(page, "nav[aria-label=メニュー] a", "nav[aria-label=メニュー]") >= 3  # dark green menu
    assert _ring_contrast(page, ".site-header a", ".site-header") >= 3  # green header


def test_a_failed_login_announces_the_error_and_focuses_the_field(page):
    store = factories.make_store()
    page.goto("/cms/login")
    page.get_by_label("ユーザー名（店舗コード・事業者コード）").fill(store.code)
    page.get_by_label("パスワード").fill("not the password")
    page.get_by_role("button", name="ログイン").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "ユーザー名またはパスワードが違います" in alert.inner_text()
    page.wait_for_function("document.activeElement && document.activeElement.id === 'password'")
    described = page.evaluate("document.activeElement.getAttribute('aria-describedby')")
    assert "ユーザー名またはパスワードが違います" in page.locator(f"#{described.split()[-1]}").inner_text()
    assert page.evaluate("document.activeElement.getAttribute('aria-invalid')") == "true"


def test_a_wrong_cancel_password_is_announced(new_context, town):  # noqa: F811
    """Payments before today ask for the password again; a wrong one is
    announced and the field gets the focus."""
    from iseca.models import utcnow

    store = town["store"]
    member, _ = factories.make_app_member(5_000)
    old = factories.make_payment_at(store.registers[0], member, 2_200, utcnow() - dt.timedelta(days=2))
    page = new_context().new_page()
    log_in(page, "cms", store.code, kind="store")
    page.goto(f"/cms/usage/{old.id}/cancel")
    page.get_by_label("パスワード").fill("not the password")
    page.get_by_role("button", name="取消する").click()
    alert = page.get_by_role("alert").filter(has_text="取消できませんでした")
    alert.wait_for()
    page.wait_for_function("document.activeElement && document.activeElement.getAttribute('aria-invalid') === 'true'")


def test_terminal_home_live_region_speaks_only_when_something_changed(new_context, town):  # noqa: F811
    page = new_context().new_page()
    log_in(page, "terminal", town["store"].code)
    page.locator("#incoming-list .incoming-item, #incoming-list .hint").first.wait_for()
    page.evaluate("""() => {
        window.__changes = 0;
        const region = document.querySelector('.incoming-panel [aria-live]');
        new MutationObserver(list => { window.__changes += list.length; })
            .observe(region, {childList: true, subtree: true, characterData: true});  // what a screen reader reads
    }""")
    page.wait_for_timeout(7_000)  # two polls at least
    assert page.evaluate("window.__changes") == 0

    phone = new_context().new_page()
    log_in(phone, "wallet", town["member_login"])
    phone.goto(f"/wallet/pay/{town['store'].registers[0].qr_token}")
    phone.get_by_label("お支払い金額（税込・円）").fill("777")
    phone.get_by_role("button", name="確認へ").click()
    phone.get_by_role("button", name="支払う").click()
    phone.wait_for_url("**/wallet/payments/**")
    page.locator(".incoming-amount", has_text="777円").wait_for(timeout=8_000)
    assert page.evaluate("window.__changes") > 0


@pytest.mark.parametrize("kind", ["cms pages", "counter", "terminal"])
def test_pages_have_unique_ids_and_valid_times_and_selects(new_context, town, kind):  # noqa: F811
    area, code, account_kind = _who(town, WHO[kind])
    page = new_context().new_page()
    log_in(page, area, code, kind=account_kind)
    extra = {"cms pages": ["/cms/usage/daily", f"/cms/stores/{town['store'].id}", "/cms/registers"],
             "counter": ["/counter/members", "/counter/merchants", f"/counter/merchants/{town['business'].id}"],
             "terminal": ["/terminal/history"]}[kind]
    problems = {}
    for path in PAGES[kind] + extra:
        page.goto(path)
        found = page.evaluate("""() => {
            const out = [];
            const seen = {};
            for (const el of document.querySelectorAll('[id]')) { seen[el.id] = (seen[el.id] || 0) + 1; }
            for (const [id, n] of Object.entries(seen)) if (n > 1) out.push('duplicate id ' + id);
            for (const t of document.querySelectorAll('time[datetime]'))
                if (/\\.\\d{4,}/.test(t.getAttribute('datetime'))) out.push('datetime ' + t.getAttribute('datetime'));
            for (const s of document.querySelectorAll('select[required]:not([multiple])'))
                if (!s.options.length || s.options[0].value !== '') out.push('required select ' + s.name);
            return out;
        }""")
        if found:
            problems[path] = found
    assert problems == {}
