"""The wallet: 決済方法① by a register's QR address, my QR, history."""
from __future__ import annotations

import base64
import io
import re
import secrets

import pytest
from PIL import Image
from pyzbar.pyzbar import decode
from sqlalchemy import func, select

from iseca import accounts
from iseca.extensions import db
from iseca.members import payers
from iseca.models import (
    AccountKind,
    MerchantStatus,
    Payment,
    PaymentMethod,
    RetiredQrToken,
    utcnow,
)
from iseca.money import ledger
from tests import factories
from tests.support.client import csrf_from, login


@pytest.fixture
def wallet(client):
    member, account = factories.make_app_member(5_000)
    assert login(client, account.login, factories.PASSWORD, area="wallet", kind=None).status_code == 303
    client.member = member
    client.account = account
    return client


def pay(client, token: str, amount: str, key: str | None = None):
    page = client.get(f"/wallet/pay/{token}").get_data(as_text=True)
    key = key or re.search(r'name="key" value="([^"]+)"', page).group(1)
    confirm = client.get(f"/wallet/pay/{token}/confirm", query_string={"amount": amount, "key": key})
    data = {"csrf_token": csrf_from(confirm.get_data(as_text=True)) if confirm.status_code == 200 else
            csrf_from(client.get("/wallet/history").get_data(as_text=True)), "amount": amount, "key": key}
    return client.post(f"/wallet/pay/{token}", data=data), data


def test_register_address_shows_store_and_register_then_pays(wallet):
    store = factories.make_store()
    register = store.registers[0]
    page = wallet.get(f"/wallet/pay/{register.qr_token}").get_data(as_text=True)
    assert store.name in page and register.name in page and "お支払い金額" in page
    confirm = wallet.get(f"/wallet/pay/{register.qr_token}/confirm", query_string={"amount": "１５００", "key": "k" * 24})
    assert "1,500円" in confirm.get_data(as_text=True) and "支払う" in confirm.get_data(as_text=True)
    resp, _ = pay(wallet, register.qr_token, "1500")
    assert resp.status_code == 303
    done = wallet.get(resp.headers["Location"]).get_data(as_text=True)
    payment = db.session.scalar(select(Payment))
    assert "お支払い完了" in done and "1,500円" in done and payment.number in done and store.name in done
    assert payment.method == PaymentMethod.CUSTOMER_SCAN and payment.member_id == wallet.member.id
    assert payment.created_by_account_id == wallet.account.id
    assert ledger.member_balance(wallet.member.id) == 3_500
    history = wallet.get("/wallet/history").get_data(as_text=True)
    assert store.name in history and "1,500円" in history


def test_wallet_double_submit_pays_once(wallet):
    register = factories.make_store().registers[0]
    first, data = pay(wallet, register.qr_token, "1000")
    again = wallet.post(f"/wallet/pay/{register.qr_token}", data=data)
    # The same completion screen, saying the payment was already made.
    assert again.headers["Location"] == first.headers["Location"] + "&resolved=1"
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
    changed = wallet.post(f"/wallet/pay/{register.qr_token}", data={**data, "amount": "2000"})
    assert changed.status_code == 422
    assert ledger.member_balance(wallet.member.id) == 4_000


def test_wallet_insufficient_balance_pays_nothing(wallet):
    register = factories.make_store().registers[0]
    resp, _ = pay(wallet, register.qr_token, "6000")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "残高が不足しています" in html and "5,000" in html
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


@pytest.mark.parametrize("typed", ["0", "-1", "1.5", "600000", "abc"])
def test_wallet_bad_amounts_are_refused(wallet, typed):
    register = factories.make_store().registers[0]
    resp, _ = pay(wallet, register.qr_token, typed)
    assert resp.status_code == 422 and 'id="amount-error"' in resp.get_data(as_text=True)
    assert ledger.member_balance(wallet.member.id) == 5_000


@pytest.mark.parametrize("typed", ["2,00", "1,0000"])
def test_wallet_commas_only_between_thousands(wallet, typed):
    """「2,00」 is not 200円: refused next to the field, what was typed kept, nothing paid."""
    register = factories.make_store().registers[0]
    resp, _ = pay(wallet, register.qr_token, typed)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'id="amount-error"' in html
    assert "カンマ（,）は3桁ごとの区切りにだけ使えます（例: 1,000）" in html
    assert f'value="{typed}"' in html
    assert ledger.member_balance(wallet.member.id) == 5_000
    resp, _ = pay(wallet, register.qr_token, "1,000")
    assert ledger.member_balance(wallet.member.id) == 4_000


def test_unknown_register_address_is_404_and_reissued_is_410(wallet):
    assert wallet.get("/wallet/pay/no-such-token").status_code == 404
    register = factories.make_store().registers[0]
    old = register.qr_token
    db.session.add(RetiredQrToken(register_id=register.id, token=old, retired_at=utcnow()))
    register.qr_token = "new-" + secrets.token_hex(8)
    db.session.commit()
    resp = wallet.get(f"/wallet/pay/{old}")
    assert resp.status_code == 410 and "再発行" in resp.get_data(as_text=True)
    resp = wallet.post(f"/wallet/pay/{old}", data={"csrf_token": csrf_from(wallet.get("/wallet/history").get_data(as_text=True)),
                                                  "amount": "100", "key": "k" * 24})
    assert resp.status_code == 410
    assert ledger.member_balance(wallet.member.id) == 5_000


def test_my_qr_decodes_to_a_code_the_terminal_accepts(wallet, app):
    html = wallet.get("/wallet/qr").get_data(as_text=True)
    assert 'data-hx-trigger="every' in html
    data = re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1)
    text = decode(Image.open(io.BytesIO(base64.b64decode(data))))[0].data.decode()
    assert text.startswith("ISECA1." + wallet.member.code + ".")
    assert payers.identify(text).member.id == wallet.member.id
    fragment = wallet.get("/wallet/qr", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "data:image/png" in fragment


def test_a_member_cannot_see_another_members_payment(wallet):
    other, _ = factories.make_app_member(1_000)
    from iseca.money import payments
    payment = payments.pay(other, factories.make_store().registers[0], 100, PaymentMethod.CUSTOMER_SCAN)
    db.session.commit()
    assert wallet.get(f"/wallet/payments/{payment.id}").status_code == 404


def test_a_store_session_cannot_pay_from_the_wallet(client):
    store = factories.make_store()
    other = factories.make_store()
    assert login(client, store.code, factories.PASSWORD, area="terminal", kind=None).status_code == 303
    token = other.registers[0].qr_token
    page = client.get(f"/wallet/pay/{token}")
    # The code's store is shown, but paying needs an app member's login.
    assert page.status_code == 200 and "ログインして支払う" in page.get_data(as_text=True)
    assert "お支払い金額" not in page.get_data(as_text=True)
    token_page = client.get("/terminal/pay").get_data(as_text=True)
    resp = client.post(f"/wallet/pay/{token}", data={"csrf_token": csrf_from(token_page),
                                                    "amount": "100", "key": "k" * 24})
    assert resp.status_code == 303 and "/wallet/login" in resp.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


def test_code_read_before_login_leads_to_login_and_back(client):
    store = factories.make_store(name="カフェひまわり")
    token = store.registers[0].qr_token
    page = client.get(f"/wallet/pay/{token}").get_data(as_text=True)
    assert "カフェひまわり" in page and "ログインして支払う" in page
    member, _ = factories.make_app_member(balance=1_000)
    resp = client.get(f"/wallet/login?next=/wallet/pay/{token}")
    resp = client.post(f"/wallet/login?next=/wallet/pay/{token}", data={
        "csrf_token": csrf_from(resp.get_data(as_text=True)), "code": member.email, "password": factories.PASSWORD})
    assert resp.headers["Location"].endswith(f"/wallet/pay/{token}")
    assert "お支払い金額" in client.get(f"/wallet/pay/{token}").get_data(as_text=True)


WALLET_ROUTES = ["/wallet/qr", "/wallet/scan", "/wallet/pay/x/confirm", "/wallet/payments/1", "/wallet/history"]


@pytest.mark.parametrize("url", WALLET_ROUTES)
def test_wallet_routes_need_a_member_login(client, url):
    resp = client.get(url)
    assert resp.status_code == 302 and "/wallet/login" in resp.headers["Location"]


def _suspend(store, how: str) -> None:
    """利用停止 as the counter does it (a login), or in the store's or business's own record."""
    staff = factories.make_staff("staff-suspends")
    if how in ("store_login", "business_login"):
        kind, login_name = (AccountKind.STORE, store.code) if how == "store_login" else (AccountKind.BUSINESS, store.business.code)
        accounts.suspend_account(factories.account_of(kind, login_name), staff)
    else:
        (store if how == "store" else store.business).status = MerchantStatus.SUSPENDED
    db.session.commit()


@pytest.mark.parametrize("how", ["store_login", "business_login", "store", "business"])
def test_a_suspended_store_cannot_be_paid_and_nothing_is_charged(wallet, how):
    store = factories.make_store()
    register = store.registers[0]
    _suspend(store, how)
    page = wallet.get(f"/wallet/pay/{register.qr_token}")
    assert page.status_code == 422 and "決済を停止しています" in page.get_data(as_text=True)
    assert 'name="amount"' not in page.get_data(as_text=True)
    # A form kept open from before the suspension is refused too.
    data = {"csrf_token": csrf_from(wallet.get("/wallet/history").get_data(as_text=True)), "amount": "1000",
            "key": secrets.token_urlsafe(24)}
    resp = wallet.post(f"/wallet/pay/{register.qr_token}", data=data)
    assert resp.status_code == 422 and "決済を停止しています" in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    assert ledger.member_balance(wallet.member.id) == 5_000
