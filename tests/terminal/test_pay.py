"""The terminal's 決済する flow over the app's real routes."""
from __future__ import annotations

import re
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from iseca import accounts
from iseca.extensions import db
from iseca.members import payers
from iseca.models import AccountKind, CardStatus, Payment, PaymentMethod
from iseca.money import ledger
from tests import factories
from tests.support.client import basic_auth_header, csrf_from, login


@pytest.fixture
def till(client):
    """A terminal logged in as a store (ログイン状態を保持する)."""
    store = factories.make_store(registers=2)
    assert login(client, store.code, factories.PASSWORD, area="terminal", kind=None, remember=True).status_code == 303
    client.store = store
    return client


def scan(client, code: str, **extra):
    page = client.get("/terminal/pay")
    return client.post("/terminal/pay", data={"csrf_token": csrf_from(page.get_data(as_text=True)), "code": code, **extra})


def read_card(client, number: str) -> dict:
    resp = scan(client, number)
    assert resp.status_code == 303, resp.get_data(as_text=True)
    return {k: v[0] for k, v in parse_qs(urlsplit(resp.headers["Location"]).query).items()}


def charge(client, params: dict, amount, key: str | None = None):
    page = client.get("/terminal/pay/amount", query_string=params)
    html = page.get_data(as_text=True)
    found = re.search(r'name="key" value="([^"]+)"', html)
    key = key or (found.group(1) if found else secrets.token_urlsafe(24))
    data = {"csrf_token": csrf_from(client.get("/terminal/pay").get_data(as_text=True)), "payer": params["payer"],
            "register": params["register"], "run": params.get("run", ""), "amount": amount, "key": key}
    return client.post("/terminal/pay/charge", data=data), data


def test_home_decide_button_opens_the_reader(till):
    html = till.get("/terminal/").get_data(as_text=True)
    for label in ("決済する", "店舗利用履歴", "管理サイト", "ログアウト"):
        assert label in html
    assert 'href="/terminal/pay"' in html
    page = till.get("/terminal/pay").get_data(as_text=True)
    assert "QRコードの提示をお願いします" in page and "jsQR.js" in page and "カード番号" in page


FORM_RE = re.compile(r'<form method="(get|post)" action="([^"]+)"[^>]*>(.*?)</form>', re.S)
HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def submit_page_form(client, html: str, **typed):
    """Submit the page's payment form (the one carrying the key) as a browser does: its method, action and
    hidden fields, plus what is typed."""
    method, action, body = next(m.groups() for m in FORM_RE.finditer(html) if 'name="key"' in m.group(3))
    data = {**dict(HIDDEN_RE.findall(body)), **typed}
    action = action.replace("&amp;", "&")
    if method == "get":
        return client.get(action, query_string=data)
    return client.post(action, data=data)


def test_typed_card_shows_member_code_and_available_points_then_charges_at_kessai_suru(till):
    """The guide's steps: read, type the tax-included amount, 「決済する」 → 決済完了 (no page between)."""
    member, card = factories.make_card_member(5_000)
    params = read_card(till, card.number)
    amount_page = till.get("/terminal/pay/amount", query_string=params).get_data(as_text=True)
    assert member.code in amount_page and "利用可能ポイント" in amount_page and "5,000" in amount_page
    assert ">決済する</button>" in amount_page and "確認へ" not in amount_page
    resp = submit_page_form(till, amount_page, amount="１，２８０")
    assert resp.status_code == 303 and "/terminal/pay/done/" in resp.headers["Location"]
    done = till.get(resp.headers["Location"]).get_data(as_text=True)
    payment = db.session.scalar(select(Payment))
    assert "決済完了" in done and "1,280円" in done and payment.number in done and "3,720" in done
    assert payment.method == PaymentMethod.STORE_SCAN and payment.card_id == card.id
    assert payment.register_id == int(params["register"])
    assert ledger.member_balance(member.id) == 3_720


def test_double_tap_on_kessai_suru_charges_once(till):
    member, card = factories.make_card_member(5_000)
    amount_page = till.get("/terminal/pay/amount", query_string=read_card(till, card.number)).get_data(as_text=True)
    first = submit_page_form(till, amount_page, amount="1000")
    second = submit_page_form(till, amount_page, amount="1000")
    assert first.status_code == second.status_code == 303
    assert urlsplit(first.headers["Location"]).path == urlsplit(second.headers["Location"]).path
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
    assert ledger.member_balance(member.id) == 4_000


def test_short_balance_at_kessai_suru_keeps_the_amount_page_and_its_key(till):
    member, card = factories.make_card_member(800)
    amount_page = till.get("/terminal/pay/amount", query_string=read_card(till, card.number)).get_data(as_text=True)
    resp = submit_page_form(till, amount_page, amount="1000")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "残高が不足しています" in html and "決済はされていません" in html
    assert 'value="1000"' in html and ">決済する</button>" in html
    assert dict(HIDDEN_RE.findall(html))["key"] == dict(HIDDEN_RE.findall(amount_page))["key"]
    # Corrected to what the card holds, from the same page: charged once.
    assert submit_page_form(till, html, amount="800").status_code == 303
    assert ledger.member_balance(member.id) == 0


def _ask_for_confirmation(client, store) -> None:
    """The store switches on 「決済する前に確認画面を表示する」 in 店舗情報 (管理サイト)."""
    cms = client.application.test_client()
    cms.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
    assert login(cms, store.code, factories.PASSWORD).status_code == 303
    page = cms.get(f"/cms/stores/{store.id}").get_data(as_text=True)
    assert "決済する前に確認画面を表示する" in page
    fields = {"csrf_token": csrf_from(page), "category": "飲食", "area": "伊勢崎地区", "postal_code": "372-0014",
              "address": "群馬県伊勢崎市今泉町2-410", "phone": "0270-24-5111", "hours": "9:00〜18:00",
              "confirm_before_charge": "y"}
    resp = cms.post(f"/cms/stores/{store.id}", data=fields)
    assert resp.status_code == 303, resp.get_data(as_text=True)
    db.session.refresh(store)
    assert store.confirm_before_charge is True


def test_a_store_that_asked_for_it_confirms_before_charging(till):
    _ask_for_confirmation(till, till.store)
    member, card = factories.make_card_member(5_000)
    amount_page = till.get("/terminal/pay/amount", query_string=read_card(till, card.number)).get_data(as_text=True)
    assert ">確認へ</button>" in amount_page
    confirm = submit_page_form(till, amount_page, amount="１，２８０")
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "決済内容の確認" in html and "1,280円" in html
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0  # nothing charged yet
    resp = submit_page_form(till, html)
    assert resp.status_code == 303
    assert ledger.member_balance(member.id) == 3_720


def test_insufficient_balance_on_the_confirmation_page_says_how_much_is_available_and_charges_nothing(till):
    till.store.confirm_before_charge = True  # a store that asked for the confirmation page
    db.session.commit()
    member, card = factories.make_card_member(800)
    params = read_card(till, card.number)
    confirm = till.get("/terminal/pay/confirm", query_string={**params, "amount": "1000", "key": "k" * 24})
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 422 and "残高が不足しています" in html and "800" in html and "現金" in html
    resp, _ = charge(till, params, "1000")
    assert resp.status_code == 422 and "残高が不足しています" in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    assert ledger.member_balance(member.id) == 800


def test_resubmitted_charge_shows_the_first_result_and_charges_once(till):
    member, card = factories.make_card_member(5_000)
    params = read_card(till, card.number)
    first, data = charge(till, params, "1000")
    again = till.post("/terminal/pay/charge", data=data)
    assert first.status_code == again.status_code == 303
    assert urlsplit(first.headers["Location"]).path == urlsplit(again.headers["Location"]).path
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
    assert ledger.member_balance(member.id) == 4_000


def test_same_key_with_another_amount_is_refused_with_422(till):
    member, card = factories.make_card_member(5_000)
    params = read_card(till, card.number)
    _, data = charge(till, params, "1000")
    resp = till.post("/terminal/pay/charge", data={**data, "amount": "2000"})
    assert resp.status_code == 422 and "別の内容で決済" in resp.get_data(as_text=True)
    assert ledger.member_balance(member.id) == 4_000


@pytest.mark.parametrize("typed,message", [
    ("0", "1円以上"), ("-500", "1円以上"), ("100.5", "小数"), ("500001", "500,000円まで"), ("", "金額を入力"),
    ("2,00", "3桁ごとの区切り"), ("1,0000", "3桁ごとの区切り"),  # 2,00 is not 200円
])
def test_bad_amounts_get_a_message_next_to_the_field_and_charge_nothing(till, typed, message):
    member, card = factories.make_card_member(5_000)
    params = read_card(till, card.number)
    resp, _ = charge(till, params, typed)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'id="amount-error"' in html and message in html
    assert f'value="{typed}"' in html  # what was typed is kept
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


def test_full_width_amount_is_charged(till):
    member, card = factories.make_card_member(5_000)
    resp, _ = charge(till, read_card(till, card.number), "２５００")
    assert resp.status_code == 303
    assert ledger.member_balance(member.id) == 2_500


@pytest.mark.parametrize("status,message", [(CardStatus.SUSPENDED, "利用停止中"), (CardStatus.REPLACED, "再発行")])
def test_suspended_or_replaced_card_is_refused_at_reading(till, status, message):
    member, card = factories.make_card_member(5_000)
    card.status = status
    db.session.commit()
    resp = scan(till, card.number)
    assert resp.status_code == 422 and message in resp.get_data(as_text=True)


def test_card_suspended_after_reading_cannot_be_charged(till):
    member, card = factories.make_card_member(5_000)
    params = read_card(till, card.number)
    card.status = CardStatus.SUSPENDED
    db.session.commit()
    resp, _ = charge(till, params, "100")
    assert resp.status_code == 422 and "利用停止中" in resp.get_data(as_text=True)
    assert ledger.member_balance(member.id) == 5_000


def test_unknown_card_number_is_refused_next_to_the_field(till):
    resp = scan(till, "1234 5678")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'id="code-error"' in html and "1234 5678" in html


def test_wallet_qr_read_by_the_terminal_charges_the_app_member(till):
    member, _ = factories.make_app_member(2_000)
    params = read_card(till, payers.wallet_qr_text(member))
    resp, _ = charge(till, params, "500")
    assert resp.status_code == 303
    payment = db.session.scalar(select(Payment))
    assert payment.member_id == member.id and payment.card_id is None
    assert ledger.member_balance(member.id) == 1_500


def test_expired_campaign_points_show_zero_and_are_refused(till):
    expired = factories.make_campaign(ends_on=__import__("datetime").date(2021, 3, 31))
    member, card = factories.make_card_member(3_000, expired)
    params = read_card(till, card.number)
    resp, _ = charge(till, params, "100")
    assert resp.status_code == 422 and "残高が不足しています" in resp.get_data(as_text=True)


def test_a_store_cannot_charge_on_another_stores_register(till):
    other = factories.make_store()
    member, card = factories.make_card_member(5_000)
    params = read_card(till, card.number)
    resp, _ = charge(till, {**params, "register": str(other.registers[0].id)}, "100")
    assert resp.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


def test_a_payer_read_by_another_store_cannot_be_used(till, app):
    member, card = factories.make_card_member(5_000)
    other = factories.make_store()
    reference = payers.payer_reference(payers.identify(card.number), other.id)
    resp, _ = charge(till, {"payer": reference, "register": str(till.store.registers[0].id)}, "100")
    assert resp.status_code == 422
    assert ledger.member_balance(member.id) == 5_000


def test_another_stores_payment_completion_is_not_found(till):
    other = factories.make_store()
    member, card = factories.make_card_member(5_000)
    from iseca.money import payments
    payment = payments.pay(member, other.registers[0], 100, PaymentMethod.STORE_SCAN, card=card)
    db.session.commit()
    assert till.get(f"/terminal/pay/done/{payment.id}").status_code == 404


def test_several_cards_one_after_another_show_the_running_total(till):
    cards = [factories.make_card_member(b)[1] for b in (1_000, 700, 5_000)]
    run = ""
    numbers = []
    for card, amount in zip(cards, ("1000", "700", "300"), strict=True):
        params = read_card(till, card.number) if not run else None
        if run:
            page = till.get("/terminal/pay", query_string={"run": run})
            resp = till.post("/terminal/pay", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                                    "code": card.number, "run": run})
            params = {k: v[0] for k, v in parse_qs(urlsplit(resp.headers["Location"]).query).items()}
        resp, _ = charge(till, params, amount)
        assert resp.status_code == 303
        run = parse_qs(urlsplit(resp.headers["Location"]).query)["run"][0]
        numbers.append(resp.headers["Location"])
    done = till.get(numbers[-1]).get_data(as_text=True)
    assert "合算" in done and "2,000円" in done and "続けて別のカードで決済" in done
    assert done.count('<tr><td data-label="取引番号">') == 3


def test_wallet_payments_appear_in_the_incoming_list(till):
    member, _ = factories.make_app_member(3_000)
    from iseca.money import payments
    payments.pay(member, till.store.registers[0], 1_100, PaymentMethod.CUSTOMER_SCAN)
    db.session.commit()
    fragment = till.get("/terminal/pay/incoming", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "1,100円" in fragment and member.code in fragment and "<html" not in fragment
    home = till.get("/terminal/").get_data(as_text=True)
    assert 'data-hx-get="/terminal/pay/incoming?today=1"' in home and "金額を確認" in home


def test_incoming_poll_answers_204_until_the_list_changes(till):
    member, _ = factories.make_app_member(3_000)
    from iseca.money import payments
    payments.pay(member, till.store.registers[0], 1_100, PaymentMethod.CUSTOMER_SCAN)
    db.session.commit()
    htmx = {"HX-Request": "true"}
    fragment = till.get("/terminal/pay/incoming", headers=htmx).get_data(as_text=True)
    version = re.search(r'data-hx-get="/terminal/pay/incoming\?v=([0-9a-f]+)"', fragment).group(1)
    assert till.get(f"/terminal/pay/incoming?v={version}", headers=htmx).status_code == 204
    page = till.get(f"/terminal/pay/incoming?v={version}")
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    payments.pay(member, till.store.registers[0], 700, PaymentMethod.CUSTOMER_SCAN)
    db.session.commit()
    changed = till.get(f"/terminal/pay/incoming?v={version}", headers=htmx)
    assert changed.status_code == 200 and "700円" in changed.get_data(as_text=True)


def test_incoming_list_shows_only_this_stores_payments(till):
    other = factories.make_store()
    member, _ = factories.make_app_member(3_000)
    from iseca.money import payments
    payments.pay(member, other.registers[0], 1_234, PaymentMethod.CUSTOMER_SCAN)
    db.session.commit()
    assert "1,234円" not in till.get("/terminal/pay/incoming").get_data(as_text=True)


TERMINAL_ROUTES = [
    ("GET", "/terminal/pay"), ("POST", "/terminal/pay"), ("GET", "/terminal/pay/amount"),
    ("GET", "/terminal/pay/confirm"), ("POST", "/terminal/pay/charge"), ("GET", "/terminal/pay/done/1"),
    ("GET", "/terminal/pay/incoming"),
]


@pytest.mark.parametrize("method,url", TERMINAL_ROUTES)
def test_terminal_payment_routes_need_a_store_login(client, method, url):
    resp = client.open(url, method=method, data={} if method == "POST" else None)
    assert resp.status_code in (302, 303, 400)
    if resp.status_code != 400:  # a POST without a token stops at CSRF before anything else
        assert "/terminal/login" in resp.headers["Location"]


@pytest.mark.parametrize("method,url", TERMINAL_ROUTES)
def test_terminal_payment_routes_refuse_member_and_business_accounts(client, method, url):
    member, account = factories.make_app_member(1_000)
    assert login(client, account.login, factories.PASSWORD, area="wallet", kind=None).status_code == 303
    resp = client.open(url, method=method)
    assert resp.status_code in (302, 400)
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


def test_a_store_cannot_sweep_card_numbers(till, app):
    app.config["TERMINAL_SCAN_FAILURES_PER_ACCOUNT"] = "3 per 15 minutes"
    from iseca.members.cards import luhn_check_digit
    numbers = [f"93920000000000{i}" for i in range(10, 14)]
    statuses = [scan(till, n + luhn_check_digit(n)).status_code for n in numbers]
    assert statuses == [422, 422, 422, 429]


def test_the_till_keeps_its_register_in_the_address_by_name(till):
    """`register=` names the register a till books on; a till bookmarked
    with the old `r=` still opens on its register."""
    second = till.store.registers[1]
    for name in ("register", "r"):
        html = till.get(f"/terminal/pay?{name}={second.id}").get_data(as_text=True)
        assert f'<option value="{second.id}" selected>' in html, name


def test_a_till_of_a_suspended_business_cannot_charge(till):
    """The business is suspended while its store's till is logged in: 「決済する」 is refused, nothing charged."""
    member, card = factories.make_card_member(5_000)
    params = read_card(till, card.number)
    staff = factories.make_staff("staff-suspends")
    accounts.suspend_account(factories.account_of(AccountKind.BUSINESS, till.store.business.code), staff)
    db.session.commit()
    resp, _ = charge(till, params, "1000")
    assert resp.status_code == 422 and "決済を停止しています" in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    assert ledger.member_balance(member.id) == 5_000


def test_a_suspended_store_login_ends_the_till_and_charges_nothing(till):
    member, card = factories.make_card_member(5_000)
    params = read_card(till, card.number)
    form = {"csrf_token": csrf_from(till.get("/terminal/pay").get_data(as_text=True)), "payer": params["payer"],
            "register": params["register"], "amount": "1000", "key": secrets.token_urlsafe(24)}
    accounts.suspend_account(factories.account_of(AccountKind.STORE, till.store.code), factories.make_staff("s2"))
    db.session.commit()
    resp = till.post("/terminal/pay/charge", data=form)
    assert resp.status_code in (302, 303) and "/terminal/login" in resp.headers["Location"]
    assert ledger.member_balance(member.id) == 5_000
