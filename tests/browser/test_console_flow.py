"""The counter console in a real browser: staff read a chart's numbers on
窓口TOP, open a merchant, correct its phone number, suspend and reactivate
it, publish a maintenance notice that the terminal shows; the business
opens 操作履歴 and finds who cancelled a payment."""
from __future__ import annotations

import re

from iseca.extensions import db
from iseca.models import AccountKind, utcnow
from iseca.money import cancellation
from iseca.timeutil import today_jst
from tests import factories
from tests.browser.test_accessibility import axe_violations
from tests.support.browser import log_in, screenshot


def test_staff_console_path_and_the_business_finds_who_cancelled(new_context):
    business = factories.make_business(name="いせさき商店", email="owner@example.jp", representative="伊勢崎 花子",
                                       postal_code="372-8501", phone="0270-24-5111", bank_code="0001",
                                       branch_code="001", account_number="1234567", account_holder_kana="ｲｾｻｷ ﾊﾅｺ")
    store = factories.make_store(business, name="境の食堂", category="飲食", area="境地区")
    member, _ = factories.make_card_member(5_000)
    payment = factories.make_payment_at(store.registers[0], member, 1_234, utcnow())
    kept = factories.make_payment_at(store.registers[0], member, 600, utcnow())
    cancellation.cancel_payment(payment, actor=factories.account_of(AccountKind.STORE, store.code))
    db.session.commit()
    factories.make_staff()

    staff = new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True).new_page()
    log_in(staff, "counter", "staff1")
    # 窓口TOP: the area chart, and its numbers in the table under it.
    chart = staff.locator("#chart-area")
    assert "地区別の利用" in chart.locator("title").text_content()
    staff.locator("#h-area").locator("xpath=..").get_by_text("数値の表").click()
    row = staff.locator("#h-area").locator("xpath=..").get_by_role("row", name=re.compile("境地区"))
    assert "600" in row.inner_text()
    screenshot(staff, "counter-home")

    # A merchant: correct its phone number.
    staff.get_by_role("navigation", name="メニュー").get_by_text("加盟店一覧").click()
    staff.get_by_role("link", name=re.compile("いせさき商店")).first.click()
    staff.get_by_role("link", name="事業者情報を修正する").click()
    staff.get_by_label("電話番号").fill("0270-27-2708")
    staff.get_by_role("button", name="保存する").click()
    staff.get_by_text("事業者情報を保存しました").wait_for()
    assert staff.get_by_text("0270-27-2708").first.is_visible()
    # Suspend it, with a reason, while its till is open: the till says why it was logged out.
    till = new_context(bypass_csp=True).new_page()  # axe: the test's script
    log_in(till, "terminal", store.code)
    staff.get_by_role("link", name="事業者を利用停止にする…").click()
    staff.get_by_role("button", name="利用停止にする").click()
    staff.get_by_text("利用停止の理由を入力してください。").first.wait_for()
    staff.get_by_label("利用停止の理由").fill("登録内容の確認のため")
    screenshot(staff, "counter-merchant-suspend-confirm")
    assert axe_violations(staff) == []
    staff.get_by_role("button", name="利用停止にする").click()
    staff.get_by_text("利用停止にしました").wait_for()
    screenshot(staff, "counter-merchant-suspended")
    till.reload()
    stopped = till.get_by_role("alert").filter(has_text="この店舗は利用停止中です")
    stopped.wait_for()
    assert "0270-27-2708" in stopped.inner_text()
    screenshot(till, "terminal-store-suspended")
    assert axe_violations(till) == []
    staff.get_by_role("button", name="事業者の利用を再開する").click()
    staff.get_by_text("利用を再開しました").wait_for()

    # A maintenance notice for merchants, shown on the terminal.
    staff.get_by_role("navigation", name="メニュー").get_by_text("お知らせ").click()
    staff.get_by_label("見出し").fill("システムメンテナンスのお知らせ")
    staff.get_by_label("表示先").select_option("merchants")
    staff.get_by_label("表示開始日").fill(today_jst().isoformat())
    staff.get_by_label("表示終了日").fill(today_jst().isoformat())
    staff.get_by_role("button", name="掲載する").click()
    staff.get_by_text("お知らせを掲載しました").wait_for()
    till = new_context().new_page()
    till.goto("/terminal/login")
    assert till.get_by_role("note").get_by_text("システムメンテナンスのお知らせ").is_visible()
    screenshot(till, "terminal-notice")

    # The business: 操作履歴 says who cancelled the payment.
    owner = new_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(owner, "cms", business.code, kind="business")
    owner.get_by_role("navigation", name="メニュー").get_by_text("操作履歴").click()
    owner.get_by_label("操作", exact=True).select_option("payment_cancelled")
    owner.get_by_role("button", name="検索").click()
    owner.wait_for_url("**action=payment_cancelled*")  # the filtered list, not the one before it
    row = owner.get_by_role("row", name=re.compile(payment.number))
    assert f"店舗:{store.code}" in row.inner_text() and kept.number not in owner.content()
    screenshot(owner, "cms-audit")
