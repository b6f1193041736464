"""Browser tests: the real app served on 127.0.0.1 and Debian's chromium
driven by Playwright for Python (never a downloaded browser). The browser's
settings, screenshots and logins are in tests/support/browser.py."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)


@pytest.fixture(params=["sqlite"])
def backend(request) -> str:
    """Browser tests run on SQLite only; storage is covered by the rest."""
    return request.param


@pytest.fixture(scope="session")
def playwright_instance():
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()):
        if os.environ.get("CI"):
            pytest.fail(f"chromium not found at {CHROMIUM}: .ci/run installs Debian's chromium")
        pytest.skip(f"browser tests skipped: Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance):
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def live_server(server):
    """The app served over real HTTP on a free port, for the browser (tests/conftest.py's `server`)."""
    return server


@pytest.fixture
def new_context(browser, live_server):
    """Make browser contexts (each is a fresh browser profile) that have
    passed the BASIC gate with guest/guest."""
    contexts = []

    def make(**kwargs):
        options = dict(
            base_url=live_server.url,
            locale="ja-JP",
            timezone_id="Asia/Tokyo",
            http_credentials={"username": "guest", "password": "guest"},
            viewport={"width": 390, "height": 844},
        )
        options.update(kwargs)
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context, request):
    context = new_context()
    page = context.new_page()
    yield page
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
