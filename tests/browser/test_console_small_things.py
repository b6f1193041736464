"""Small things of the counter console, as a clerk sees them: a notice is
listed with the last day typed; 公開ページの文章 names only the languages
published, apart from the links to edit the others; 窓口TOP's 振込不能 line
leads to the failed transfers."""
from __future__ import annotations

import datetime as dt

from iseca.extensions import db
from iseca.models import Settlement
from iseca.money import settlement
from iseca.timeutil import JST, today_jst
from tests import factories
from tests.support.browser import log_in, screenshot


def test_notice_dates_published_languages_and_the_failed_transfers_link(new_context):
    business = factories.make_business(name="振込不能の店", bank_code="0001", branch_code="001",
                                       account_number="1234567", account_holder_kana="ﾌﾘｺﾐ")
    store = factories.make_store(business)
    member, _ = factories.make_card_member(10_000)
    factories.make_payment_at(store.registers[0], member, 2_500, dt.datetime(2025, 2, 20, 10, tzinfo=JST))
    settlement.close_ended_periods()
    row = db.session.query(Settlement).one()
    settlement.mark_failed(row, "口座名義の相違")
    db.session.commit()
    factories.make_staff()

    staff = new_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(staff, "counter", "staff1")

    # 窓口TOP: 振込不能 is a link, like the other lines, to where those transfers are handled.
    staff.get_by_role("link", name="振込不能").click()
    failed = staff.locator("#failed")
    failed.wait_for()
    assert staff.url.endswith("/counter/settlements#failed")
    row = staff.get_by_role("row", name="振込不能の店")
    assert "口座名義の相違" in row.inner_text() and "2,500円" in row.inner_text()
    row.get_by_role("link", name="振込不能の店（").click()
    staff.get_by_role("heading", name="振込不能の店（").wait_for()

    # お知らせ typed to end on a day is listed as ending on that day.
    starts, ends = today_jst(), today_jst() + dt.timedelta(days=15)
    staff.get_by_role("navigation", name="メニュー").get_by_text("お知らせ").click()
    staff.get_by_label("見出し").fill("年末年始の窓口")
    staff.get_by_label("表示先").select_option("merchants")
    staff.get_by_label("表示開始日").fill(starts.isoformat())
    staff.get_by_label("表示終了日").fill(ends.isoformat())
    staff.get_by_role("button", name="掲載する").click()
    staff.get_by_text("お知らせを掲載しました").wait_for()
    listed = staff.get_by_role("row", name="年末年始の窓口").inner_text()
    assert f"{starts:%Y/%m/%d}〜{ends:%Y/%m/%d}" in listed, listed
    assert "00:00" not in listed
    screenshot(staff, "counter-notices")

    # 公開ページの文章: English published; Japanese is not, and the other languages are links apart.
    staff.goto("/counter/texts/faq/en")
    staff.get_by_label("本文").fill("## Questions\n\nAsk the ISECA counter.")
    staff.get_by_role("button", name="公開する").click()
    staff.get_by_text("公開しました").wait_for()
    staff.goto("/counter/texts/faq/ja")
    assert staff.locator("#published-languages").inner_text().strip() == "編集版を公開中の言語：English"
    others = staff.get_by_role("navigation", name="ほかの言語を編集")
    assert others.get_by_role("link", name="English").is_visible()
    screenshot(staff, "counter-text-languages")
