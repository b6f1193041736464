"""A business owner ticks 店舗 out of habit and types the business code."""
from __future__ import annotations

from tests import factories
from tests.support.browser import screenshot


def test_the_wrong_kind_is_said_beside_the_choice_and_the_code_stays_typed(page):
    business = factories.make_business(name="株式会社ひまわり")
    page.goto("/cms/login")
    page.get_by_label("店舗", exact=True).check()
    code_field = page.get_by_label("ユーザー名（店舗コード・事業者コード）")
    code_field.fill(business.code)
    page.get_by_label("パスワード").fill(factories.PASSWORD)
    page.get_by_role("button", name="ログイン").click()

    kinds = page.get_by_role("group", name="ユーザー種別")
    message = kinds.get_by_text("「B」で始まるコードは事業者コードです。ユーザー種別で「事業者」を選んでからログインしてください。")
    message.wait_for()
    assert message.is_visible()
    assert code_field.input_value() == business.code
    assert "/cms/login" in page.url
    screenshot(page, "cms-login-wrong-kind")

    kinds.get_by_label("事業者", exact=True).check()
    page.get_by_label("パスワード").fill(factories.PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url("**/cms/")
    assert page.get_by_role("navigation", name="メニュー").get_by_text("事業者情報").is_visible()
