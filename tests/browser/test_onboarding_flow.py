"""Onboarding in a real browser: apply with two stores → staff approve → the
mails arrive over SMTP → the store logs in with them, changes its password,
edits 店舗情報 and uploads an image → the business changes its bank account →
staff publish → 「使えるお店」 finds it → unpublish → gone."""
from __future__ import annotations

import re

from PIL import Image

from iseca.merchants.onboarding import (
    ELIGIBILITY,
    SUBJECT_BUSINESS_ACCOUNT,
    SUBJECT_STORE_ACCOUNT,
)
from tests import factories
from tests.support.browser import log_in, screenshot
from tests.support.mail import credentials


def fill_store(page, index: int, name: str, kana: str, category: str, area: str, address: str):
    prefix = f"stores-{index}-"
    page.locator(f"[name={prefix}name]").fill(name)
    page.locator(f"[name={prefix}name_kana]").fill(kana)
    page.locator(f"[name={prefix}category]").select_option(category)
    page.locator(f"[name={prefix}area]").select_option(area)
    page.locator(f"[name={prefix}postal_code]").fill("372-0042")
    page.locator(f"[name={prefix}address]").fill(address)
    page.locator(f"[name={prefix}phone]").fill("0270-11-0001")
    page.locator(f"[name={prefix}hours]").fill("9:00〜18:00")


def loaded_width(img) -> int:
    """The width the browser decoded, once the image has arrived: the page is
    ready before its images are, and a lazy image loads only when in view."""
    img.scroll_into_view_if_needed()
    return img.evaluate(
        "img => img.complete && img.naturalWidth ? img.naturalWidth : new Promise((done, fail) => {"
        " img.addEventListener('load', () => done(img.naturalWidth));"
        " img.addEventListener('error', () => fail(new Error('image failed: ' + img.src))); })"
    )


def login_cms(page, kind: str, code: str, password: str, new_password: str):
    """The first login with the mailed password, which must then be changed."""
    log_in(page, "cms", code, password, kind=kind, lands="/cms/password")
    page.get_by_label("現在のパスワード").fill(password)
    page.get_by_label("新しいパスワード", exact=True).fill(new_password)
    page.get_by_label("新しいパスワード（確認）").fill(new_password)
    page.get_by_role("button", name="パスワードを変更する").click()
    page.wait_for_url("**/cms/")


def test_business_applies_is_approved_logs_in_and_is_published(new_context, smtp, tmp_path):  # noqa: F811
    errors: list[str] = []

    # --- 1. The application, on a phone -------------------------------------
    applicant = new_context().new_page()
    applicant.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    applicant.goto("/apply")
    applicant.get_by_label("事業者名（法人名・屋号）").fill("株式会社いせさきテスト")
    applicant.get_by_label("事業者名（フリガナ）").fill("かぶしきがいしゃいせさきてすと")
    applicant.get_by_label("代表者名").fill("伊勢崎 花子")
    applicant.locator("[name=postal_code]").fill("372-8501")
    applicant.locator("[name=address]").fill("群馬県伊勢崎市今泉町2-410")
    applicant.locator("[name=phone]").fill("0270-24-5111")
    applicant.get_by_label("メールアドレス").fill("owner@isesaki-test.example.jp")
    applicant.get_by_label("金融機関コード（4桁）").press_sequentially("0001", delay=30)
    applicant.locator("#bank-name").get_by_text("みずほ").wait_for()  # htmx: the name as it is typed
    applicant.get_by_label("支店コード（3桁）").press_sequentially("001", delay=30)
    applicant.locator("#branch-name").get_by_text("東京営業部").wait_for()
    applicant.get_by_label("口座番号（7桁）").fill("1234567")
    applicant.get_by_label("口座名義（カナ）").fill("カブシキガイシャ　イセサキテスト")
    applicant.locator("#holder-name").get_by_text("ｶ)ｲｾｻｷﾃｽﾄ").wait_for()  # as the bank will get it
    fill_store(applicant, 0, "いせさき駅前ベーカリー", "イセサキエキマエベーカリー", "食料品", "伊勢崎地区", "群馬県伊勢崎市中央町1-1")
    applicant.get_by_role("button", name="店舗を追加").click()
    applicant.locator("[name=stores-1-name]").wait_for()
    # What was typed before adding the store is still there.
    assert applicant.locator("[name=stores-0-name]").input_value() == "いせさき駅前ベーカリー"
    assert applicant.get_by_label("口座名義（カナ）").input_value() == "カブシキガイシャ　イセサキテスト"
    fill_store(applicant, 1, "あかぼり珈琲店", "アカボリコーヒーテン", "飲食", "赤堀地区", "伊勢崎市西久保町1-1")
    for requirement in ELIGIBILITY[:4]:
        applicant.get_by_label(requirement).check()
    applicant.get_by_label(re.compile("同意します")).check()
    applicant.get_by_role("button", name="この内容で申し込む").click()
    # The fifth requirement was not ticked: a message next to it, nothing lost.
    applicant.get_by_text("この要件に該当することを確認し、チェックを入れてください。").wait_for()
    assert applicant.locator("[name=stores-1-name]").input_value() == "あかぼり珈琲店"
    screenshot(applicant, "apply-missing-tick")
    applicant.get_by_label(ELIGIBILITY[4]).check()
    applicant.get_by_role("button", name="この内容で申し込む").click()
    applicant.wait_for_url("**/apply/done")
    assert applicant.get_by_role("heading", name="お申込みを受け付けました").is_visible()

    # --- 2. Staff approve ----------------------------------------------------
    factories.make_staff()
    staff = new_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(staff, "counter", "staff1")
    staff.get_by_role("navigation", name="メニュー").get_by_text("申込一覧").click()
    staff.get_by_role("link", name="株式会社いせさきテスト").click()
    staff.get_by_role("heading", name=re.compile("株式会社いせさきテスト")).wait_for()
    assert staff.get_by_text("ｶ)ｲｾｻｷﾃｽﾄ", exact=True).is_visible()
    screenshot(staff, "counter-application")
    staff.get_by_role("link", name="承認する…").click()
    staff.get_by_role("heading", name="この申込を承認しますか").wait_for()  # 「承認する」 asks once more
    staff.get_by_role("button", name="承認する").click()
    staff.get_by_text("承認しました").wait_for()
    screenshot(staff, "counter-merchant")

    # --- 3. The mails arrived -----------------------------------------------
    store_mail = next(m for m in smtp.with_subject(SUBJECT_STORE_ACCOUNT) if "いせさき駅前ベーカリー" in smtp.body(m))
    store_code, store_password = credentials(smtp.body(store_mail), "store")
    business_code, business_password = credentials(smtp.body(smtp.with_subject(SUBJECT_BUSINESS_ACCOUNT)[0]), "business")

    # --- 4. The store logs in through the BASIC gate, edits, uploads --------
    shop = new_context().new_page()
    shop.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login_cms(shop, "store", store_code, store_password, "駅前のパン屋は朝七時から")
    shop.get_by_role("navigation", name="メニュー").get_by_text("店舗情報").click()
    shop.get_by_label("営業時間").fill("7:00〜19:00")
    shop.get_by_label("お店の紹介").fill("焼きたてのパンとコーヒーのお店です。")
    shop.get_by_role("button", name="店舗情報を保存する").click()
    shop.get_by_text("店舗情報を保存しました").wait_for()
    photo = tmp_path / "shop.jpg"
    Image.new("RGB", (900, 600), (190, 120, 60)).save(photo, format="JPEG")
    shop.get_by_label(re.compile("画像ファイル")).set_input_files(str(photo))
    shop.get_by_role("button", name="画像を追加する").click()
    shop.get_by_text("画像を追加しました").wait_for()
    assert loaded_width(shop.locator(".image-list img")) == 900
    screenshot(shop, "cms-store")

    # --- 5. The business changes its bank account ----------------------------
    owner = new_context().new_page()
    login_cms(owner, "business", business_code, business_password, "いせさきの事業者が使う長い合言葉")
    owner.get_by_role("navigation", name="メニュー").get_by_text("事業者情報").click()
    owner.get_by_label("金融機関コード（4桁）").fill("")
    owner.get_by_label("金融機関コード（4桁）").press_sequentially("0009", delay=30)
    owner.locator("#bank-name").get_by_text("三井住友").wait_for()
    owner.get_by_label("口座番号（7桁）").fill("7654321")
    owner.get_by_role("button", name="事業者情報を保存する").click()
    owner.get_by_text("振込先口座の変更をメールでお知らせしました").wait_for()
    screenshot(owner, "cms-business")
    assert smtp.with_subject("【ISECA】振込先口座が変更されました")

    # --- 6. Staff publish; the public list finds it ---------------------------
    staff.reload()
    staff.get_by_role("row", name=re.compile("いせさき駅前ベーカリー")).get_by_role("button", name="「使えるお店」に公開する").click()
    staff.get_by_text("を「使えるお店」に公開しました").wait_for()
    customer = new_context().new_page()
    customer.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    customer.goto("/stores")
    customer.get_by_label("店名").fill("ベーカリー")
    customer.locator("#results").get_by_text("1件").wait_for()
    customer.get_by_role("link", name=re.compile("いせさき駅前ベーカリー")).click()
    customer.get_by_role("heading", name="いせさき駅前ベーカリー").wait_for()
    assert customer.get_by_text("7:00〜19:00").is_visible()
    assert loaded_width(customer.locator(".store-images img")) == 900
    screenshot(customer, "public-store")

    # --- 7. Unpublish: gone ----------------------------------------------------
    staff.get_by_role("row", name=re.compile("いせさき駅前ベーカリー")).get_by_role("button", name="非公開にする").click()
    staff.get_by_text("から外しました").wait_for()
    customer.goto("/stores?q=ベーカリー")
    assert customer.get_by_text("条件に合うお店が見つかりませんでした").is_visible()
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors

    # The console's outbox lists every mail of the path as sent.
    staff.get_by_role("navigation", name="メニュー").get_by_text("メール送信状況").click()
    staff.get_by_role("heading", name="メール送信状況").wait_for()
    assert staff.get_by_text("送信済（5）").is_visible()  # receipt, business, two stores, bank change
    screenshot(staff, "counter-outbox")


def test_store_list_is_usable_on_a_phone(new_context):
    from iseca.extensions import db
    from iseca.models import utcnow

    for name, category, area in [("カフェひまわり", "飲食", "赤堀地区"), ("いせさき青果店", "食料品", "伊勢崎地区"),
                                 ("ひまわり書店", "小売", "境地区")]:
        store = factories.make_store(name=name, category=category, area=area, hours="10:00〜19:00")
        store.published_at = utcnow()
    db.session.commit()
    page = new_context().new_page()
    page.goto("/stores")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_label("業種").select_option("飲食")
    page.locator("#results").get_by_text("1件").wait_for()
    assert "category=" in page.url  # the search is in the address, so it can be shared and reloaded
    screenshot(page, "public-stores-phone")
    page.reload()
    assert page.get_by_text("カフェひまわり").is_visible() and not page.get_by_text("ひまわり書店").is_visible()
