"""利用状況一覧 and 店舗利用履歴 in a real browser: filter, search, page,
download the CSV, cancel with confirmation."""
from __future__ import annotations

import csv
import datetime as dt
import io
from urllib.parse import urlsplit

import pytest

from iseca.extensions import db
from iseca.models import PaymentStatus, utcnow
from iseca.money import ledger
from iseca.timeutil import jst_date, today_jst
from tests import factories
from tests.support.browser import log_in, screenshot


@pytest.fixture
def shop(app):
    business = factories.make_business(name="株式会社いせさき")
    store = factories.make_store(business, registers=2, name="いせさき青果店")
    members = [factories.make_card_member(200_000)[0] for _ in range(2)]
    now = utcnow()
    payments = []
    for i in range(64):
        member = members[i % 2]
        at = now - dt.timedelta(minutes=7 * i)
        payments.append(factories.make_payment_at(store.registers[i % 2], member, 100 + 10 * i, at))
    return store, members, payments


def test_usage_list_filter_search_page_download_and_cancel(new_context, shop):
    store, members, payments = shop
    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors = []
    page.on("console", lambda msg: errors.append(f"{msg.text} at {msg.location} on {page.url}") if msg.type == "error" else None)
    log_in(page, "cms", store.code, kind="store")
    page.get_by_role("navigation", name="メニュー").get_by_text("利用状況一覧").click()
    page.wait_for_url("**/cms/usage")
    assert page.get_by_role("heading", name="絞り込み").is_visible()

    page.get_by_role("link", name="今日", exact=True).click()
    page.wait_for_url("**date_from=*")
    page.get_by_role("textbox", name="会員コード").fill(members[0].code)
    page.get_by_role("button", name="検索").click()
    page.wait_for_url(f"**member_code={members[0].code}*")
    expected_count = len([p for p in payments if p.member_id == members[0].id and jst_date(p.created_at) == today_jst()])
    assert page.get_by_text(f"{expected_count}件", exact=True).first.is_visible()
    screenshot(page, "cms-usage-filtered")

    # Without a member code there are two pages; the second comes by htmx and the URL follows.
    page.get_by_role("textbox", name="会員コード").fill("")
    page.get_by_role("button", name="検索").click()
    # The list (and the CSV link read below) has followed once the address drops the code.
    page.wait_for_url(lambda url: f"member_code={members[0].code}" not in url)
    page.wait_for_load_state("networkidle")
    if page.get_by_role("navigation", name="ページ送り").count():
        page.get_by_role("navigation", name="ページ送り").get_by_role("link", name="2", exact=True).click()
        page.wait_for_url("**page=2*")
        # Focus moves to the new results, so a screen reader announces them.
        page.wait_for_function("document.activeElement && document.activeElement.id === 'results-heading'")
        assert "<html" not in page.evaluate("document.getElementById('results').outerHTML")

    with page.expect_download() as info:
        page.get_by_role("link", name="CSVダウンロード Shift_JIS（CP932・Excel向け）").click()
    download = info.value
    assert download.suggested_filename.startswith(f"iseca-usage-{store.code}-")
    text = open(download.path(), "rb").read().decode("cp932")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0][0] == "利用日時（日本時間 JST）"
    shown_total = page.locator(".totals dd").first.inner_text()
    assert f"{len(rows) - 1}件" == shown_total

    # 取消 from the first row: a confirmation repeating time, amount, member code.
    first_row = page.locator("table.usage-table tbody tr").first
    amount = first_row.locator("td.num").inner_text()
    first_row.get_by_role("link", name="取消").click()
    page.wait_for_url(lambda url: urlsplit(url).path.endswith("/cancel"))
    assert page.get_by_role("heading", name="決済の取消").is_visible()
    assert page.get_by_text(amount, exact=True).is_visible()
    screenshot(page, "cms-usage-cancel-confirm")
    page.get_by_role("button", name="取消する").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/cms/usage")
    assert page.get_by_text("を取消しました").is_visible()
    assert page.locator("table.usage-table tbody tr").first.get_by_text("取消済").is_visible()
    screenshot(page, "cms-usage-after-cancel")
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors


def test_terminal_history_filter_row_and_cancel(new_context, shop):
    store, members, payments = shop
    page = new_context().new_page()
    log_in(page, "terminal", store.code)
    page.get_by_role("link", name="店舗利用履歴", exact=True).click()
    page.wait_for_url("**/terminal/history")
    screenshot(page, "terminal-history")

    page.get_by_text("条件で絞込").click()
    page.get_by_label("会員コード").fill(members[1].code)
    page.get_by_role("button", name="絞込").click()
    page.wait_for_url(f"**member_code={members[1].code}*")
    target = next(p for p in payments if p.member_id == members[1].id)
    page.locator(".history-list a").first.click()
    page.wait_for_url(lambda url: urlsplit(url).path.startswith("/terminal/history/"))
    assert page.get_by_text(target.number).is_visible()
    screenshot(page, "terminal-history-detail")
    page.get_by_role("link", name="取消", exact=True).click()
    page.wait_for_url(lambda url: urlsplit(url).path.endswith("/cancel"))
    assert page.get_by_text(members[1].code).is_visible()
    page.get_by_role("button", name="取消する").click()
    page.wait_for_url(lambda url: urlsplit(url).path == f"/terminal/history/{target.id}")
    assert page.get_by_text("を取消しました").is_visible()
    screenshot(page, "terminal-history-cancelled")
    db.session.commit()  # end the test's own read snapshot
    db.session.refresh(target)
    assert target.status == PaymentStatus.CANCELLED
    assert ledger.member_balance(members[1].id) == 200_000 - sum(
        p.amount for p in payments if p.member_id == members[1].id and p.id != target.id)


def test_terminal_history_scrolls_for_more(new_context, shop):
    store, _, payments = shop
    page = new_context().new_page()
    log_in(page, "terminal", store.code)
    page.goto("/terminal/history")
    items = page.locator(".history-list > li:not(.more)")
    assert items.count() >= 30
    while items.count() < len(payments):
        shown = items.count()
        page.mouse.wheel(0, 20000)
        # Each scroll to the end brings the next rows (「もっと見る」 is revealed and loads).
        page.wait_for_function("shown => document.querySelectorAll('.history-list > li:not(.more)').length > shown",
                               arg=shown)
    assert items.count() == len(payments)


def test_daily_totals_page_for_the_till_check(new_context, shop):
    store, _, payments = shop
    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(page, "cms", store.code, kind="store")
    page.goto("/cms/usage")
    page.get_by_role("link", name="日計（日別・レジ別の集計）").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/cms/usage/daily")
    assert page.get_by_role("button", name="印刷する").is_visible()
    total = page.locator("tfoot tr.total")
    month = [p for p in payments if jst_date(p.created_at).replace(day=1) == today_jst().replace(day=1)]
    assert f"{len(month)}件" in total.inner_text()
    screenshot(page, "cms-usage-daily")
    page.emulate_media(media="print")
    assert not page.get_by_role("button", name="印刷する").is_visible()
    screenshot(page, "cms-usage-daily-print")
