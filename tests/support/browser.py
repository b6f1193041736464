"""The browser of the browser tests: Debian's chromium (never a downloaded
one) and its settings, logging in as each kind of account, and screenshots
for a person to look at."""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests import factories

CHROMIUM = os.environ.get("ISECA_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def screenshot(page, name: str) -> Path:
    """Save a screenshot for a person to look at (screenshots/ is not committed)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# Each area's login form: the label of its code field, as the guide words it,
# and the page a login lands on.
LOGIN_CODE_LABELS = {
    "cms": "ユーザー名（店舗コード・事業者コード）",
    "terminal": "店舗コード",
    "counter": "職員ID",
    "wallet": "メールアドレス",
}
HOMES = {"cms": "/cms/", "terminal": "/terminal/", "counter": "/counter/", "wallet": "/wallet/"}
# The management site's ユーザー種別.
KINDS = {"store": "店舗", "business": "事業者"}


def log_in(page, area: str, code: str, password: str = factories.PASSWORD, *, kind: str | None = None,
           remember: bool = False, lands: str | None = None) -> None:
    """Log in through `area`'s login form in Japanese, as a person does, and
    wait until the page the login lands on has loaded.

    area: "cms" (管理サイト: `kind` "store" or "business" is its ユーザー種別),
    "terminal" (加盟店アプリ, a store's code), "counter" (ISECA窓口, a clerk's
    職員ID) or "wallet" (an app member's e-mail address). `remember` ticks
    「ログイン状態を保持する」. The login lands on the area's home page, or on
    `lands` (a path: "/cms/password" for an account that must change its
    initial password).
    The management site's BASIC gate is passed by the browser context
    (`new_context` gives it guest/guest)."""
    if area not in LOGIN_CODE_LABELS:
        raise ValueError(f"no login form in {area!r}")
    if (area == "cms") != (kind is not None):
        raise ValueError("the management site, and only it, asks for the ユーザー種別 (kind)")
    if remember and area == "counter":
        raise ValueError("ISECA窓口 offers no 「ログイン状態を保持する」")
    answer = page.goto(f"/{area}/login")
    assert answer.ok, f"/{area}/login answered {answer.status} (the BASIC gate wants the context's http_credentials)"
    if kind is not None:
        page.get_by_role("group", name="ユーザー種別").get_by_label(KINDS[kind], exact=True).check()
    page.get_by_label(LOGIN_CODE_LABELS[area]).fill(code)
    page.get_by_label("パスワード").fill(password)
    if remember:
        page.get_by_label("ログイン状態を保持する").check()
    page.get_by_role("button", name="ログイン").click()
    landing = lands or HOMES[area]
    try:
        page.wait_for_url(lambda url: urlsplit(url).path == landing)
    except PlaywrightTimeoutError:
        said = page.locator("[role=alert], [id$='-error']").all_inner_texts()
        raise AssertionError(f"the login did not land on {landing}; the page is {page.url}, saying {said}") from None
