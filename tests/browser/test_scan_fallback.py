"""A customer who scans a store QR keeps the payment through a forced
password change, and the scan pages work without a camera."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import update

from iseca.extensions import db
from iseca.models import Account
from tests import factories
from tests.support.browser import log_in, screenshot


def test_initial_password_change_returns_to_the_stores_amount_page(page):
    store = factories.make_store(name="カフェひまわり")
    member, account = factories.make_app_member(3_000)
    db.session.execute(update(Account).where(Account.id == account.id).values(must_change_password=True))
    db.session.commit()
    token = store.registers[0].qr_token

    page.goto(f"/wallet/pay/{token}")  # what the phone's camera opened
    page.get_by_role("link", name="ログインして支払う").click()
    page.get_by_label("メールアドレス").fill(account.login)
    page.get_by_label("パスワード").fill(factories.PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(lambda url: "/wallet/password" in url)
    page.get_by_label("現在のパスワード").fill(factories.PASSWORD)
    page.get_by_label("新しいパスワード", exact=True).fill("ひまわり畑の朝のコーヒー")
    page.get_by_label("新しいパスワード（確認）").fill("ひまわり畑の朝のコーヒー")
    page.get_by_role("button", name="パスワードを変更する").click()

    page.wait_for_url(lambda url: urlsplit(url).path == f"/wallet/pay/{token}")
    assert page.get_by_text("カフェひまわり").first.is_visible()
    assert page.get_by_label("お支払い金額（税込・円）").is_visible()
    screenshot(page, "wallet-amount-after-password-change")


def test_password_change_never_follows_a_next_off_the_site(new_context):
    member, account = factories.make_app_member()
    db.session.execute(update(Account).where(Account.id == account.id).values(must_change_password=True))
    db.session.commit()
    page = new_context().new_page()
    page.goto("/wallet/login?next=//evil.example/wallet/")
    page.get_by_label("メールアドレス").fill(account.login)
    page.get_by_label("パスワード").fill(factories.PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(lambda url: "/wallet/password" in url)
    page.get_by_label("現在のパスワード").fill(factories.PASSWORD)
    page.get_by_label("新しいパスワード", exact=True).fill("ひまわり畑の朝のコーヒー")
    page.get_by_label("新しいパスワード（確認）").fill("ひまわり畑の朝のコーヒー")
    page.get_by_role("button", name="パスワードを変更する").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/wallet/")
    assert urlsplit(page.url).netloc.startswith("127.0.0.1") and "evil" not in page.url


CAMERAS = {
    "refused": {},  # the browser asks, the person (here: Playwright) says no
    "none": {"permissions": ["camera"]},  # allowed, but the device has no camera
}


@pytest.mark.parametrize("camera", list(CAMERAS))
def test_wallet_scan_without_a_camera_offers_the_address_field(new_context, camera):
    store = factories.make_store(name="いせさき精肉店")
    member, account = factories.make_app_member(3_000)
    page = new_context(**CAMERAS[camera]).new_page()
    log_in(page, "wallet", account.login)
    page.goto("/wallet/scan")
    page.locator("[data-scanner-state=unavailable]").wait_for(state="attached")
    box = page.locator(".scanner-video")
    assert not box.is_visible()
    assert "カメラ" in page.locator(".scanner-status").inner_text()
    field = page.get_by_label("店舗QRコードのアドレス")
    assert field.is_visible()
    page.wait_for_function("document.activeElement && document.activeElement.id === 'address'")
    screenshot(page, f"wallet-scan-no-camera-{camera}")

    field.fill("https://example.com/not-ours")
    page.get_by_role("button", name="お支払い画面を開く").click()
    page.locator("#address-error").wait_for()
    assert "店舗QRコードのアドレスではありません" in page.locator("#address-error").inner_text()

    page.get_by_label("店舗QRコードのアドレス").fill(f"https://iseca.example.jp/wallet/pay/{store.registers[0].qr_token}")
    page.get_by_role("button", name="お支払い画面を開く").click()
    page.wait_for_url(f"**/wallet/pay/{store.registers[0].qr_token}")
    assert page.get_by_text("いせさき精肉店").first.is_visible()


@pytest.mark.parametrize("camera", list(CAMERAS))
def test_terminal_scan_without_a_camera_shows_the_number_field(new_context, camera):
    store = factories.make_store()
    page = new_context(**CAMERAS[camera]).new_page()
    log_in(page, "terminal", store.code, remember=True)
    page.goto("/terminal/pay")
    page.locator("[data-scanner-state=unavailable]").wait_for(state="attached")
    assert not page.locator(".scanner-video").is_visible()
    assert "16桁の番号" in page.locator(".scanner-status").inner_text()
    assert page.get_by_label("カード番号（またはバーコードリーダーで読み取り）").is_visible()
    page.wait_for_function("document.activeElement && document.activeElement.id === 'code'")
    screenshot(page, f"terminal-scan-no-camera-{camera}")
