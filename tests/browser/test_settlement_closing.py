"""Closing after importing a schedule of past periods, in a browser: the
periods with nothing in them are kept behind a toggle, 「締める」 is offered
only on the period that can be closed, and its confirmation says what will be
closed (the period's payments, and the empty periods before it, closed with
it) before anything is."""
from __future__ import annotations

import datetime as dt

from iseca.timeutil import JST
from tests import factories
from tests.browser.test_accessibility import axe_violations
from tests.support.browser import log_in, screenshot

SCHEDULE = "".join(f"2024-{m:02d}-01,2024-{m:02d}-15,\n2024-{m:02d}-16,2024-{m:02d}-{30 if m in (4, 6) else 31},\n"
                   for m in (4, 5, 6))


def test_the_clerk_closes_the_period_with_payments_and_the_empty_ones_go_with_it(new_context, tmp_path):
    store = factories.make_store(factories.make_business(name="ひまわり商店"), name="ひまわり本店")
    member, _ = factories.make_card_member(100_000)
    for minute, amount in enumerate((3_300, 8_000)):
        factories.make_payment_at(store.registers[0], member, amount, dt.datetime(2026, 11, 20, 10, minute, tzinfo=JST))
    factories.make_staff()
    csv_file = tmp_path / "schedule.csv"
    csv_file.write_text(SCHEDULE, encoding="utf-8")

    staff = new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True).new_page()  # axe: the test's script
    log_in(staff, "counter", "staff1")
    staff.get_by_role("navigation", name="メニュー").get_by_text("精算").click()
    staff.get_by_label("振込スケジュールのCSV").set_input_files(str(csv_file))
    staff.get_by_role("button", name="取り込む").click()
    staff.get_by_text("振込スケジュールを取り込みました（6期間").wait_for()

    periods = staff.locator("#periods")
    assert periods.get_by_role("row", name="令和8年11月16日から30日まで").is_visible()
    assert not staff.get_by_text("令和6年4月1日から15日まで").is_visible()
    assert staff.get_by_role("link", name="締める", exact=True).count() == 1
    staff.get_by_text("取引のない終了済みの期間（6期間）").click()
    assert staff.get_by_text("令和6年4月1日から15日まで").is_visible()
    screenshot(staff, "counter-settlements-empty-periods")
    assert axe_violations(staff) == []

    periods.get_by_role("row", name="令和8年11月16日から30日まで").get_by_role("link", name="締める").click()
    staff.get_by_role("heading", name="締める内容").wait_for()
    details = staff.locator(".details")
    assert "2件・11,300円" in details.inner_text()
    assert "取引のない前の6期間（令和6年4月1日から15日まで〜令和6年6月16日から30日まで）" in details.inner_text()
    screenshot(staff, "counter-settlement-close-confirm")
    assert axe_violations(staff) == []
    staff.get_by_role("button", name="7期間を締める").click()
    staff.get_by_text("令和8年11月16日から30日までを締めました（1事業者、振込合計11,300円）。取引のない前の6期間もあわせて締めました。").wait_for()
    staff.get_by_role("heading", name="令和8年11月16日から30日まで").wait_for()
    assert "確定" in staff.locator(".details").first.inner_text()
