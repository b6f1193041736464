"""A lost answer asked about over the app's routes: the outcome of a key for
the login that sent it (and for nobody else), the pending-charge pages, and
the duplicate question with its confirmation, at the terminal and the wallet."""
from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from iseca.extensions import db
from iseca.models import AuditLog, Payment
from iseca.money import ledger
from tests import factories
from tests.support.client import IsolatedClient, basic_auth_header, login
from tests.terminal.test_pay import charge, read_card
from tests.wallet.test_wallet_pay import pay


@pytest.fixture
def till(client):
    store = factories.make_store()
    assert login(client, store.code, factories.PASSWORD, area="terminal", kind=None).status_code == 303
    client.store = store
    return client


def other_client(app, code: str, area="terminal"):
    other = app.test_client()
    assert isinstance(other, IsolatedClient)
    other.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
    kind = None
    assert login(other, code, factories.PASSWORD, area=area, kind=kind).status_code == 303
    return other


def test_the_outcome_of_a_key_is_told_to_its_store_alone(app, till):
    member, card = factories.make_card_member(3_000)
    params = read_card(till, card.number)
    resp, sent = charge(till, params, "1280")
    assert resp.status_code == 303
    answer = till.get("/terminal/pay/outcome", query_string={"key": sent["key"], "run": ""})
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    body = answer.get_json()
    number = db.session.scalar(select(Payment.number))
    assert body["state"] == "done" and body["number"] == number
    assert body["amount"] == 1280 and body["balance_after"] == 1_720
    done = till.get(body["url"]).get_data(as_text=True)
    assert "決済は完了しています" in done and number in done and "1,720" in done
    other = other_client(app, factories.make_store().code)
    refused = other.get("/terminal/pay/outcome", query_string={"key": sent["key"]})
    assert refused.status_code == 404 and refused.get_json() == {"state": "none"}
    unknown = till.get("/terminal/pay/outcome", query_string={"key": secrets.token_urlsafe(24)})
    assert unknown.status_code == 404 and unknown.get_json() == {"state": "none"}


def test_the_pending_page_shows_the_charge_done_or_the_amount_again_with_the_same_key(till):
    member, card = factories.make_card_member(3_000)
    params = read_card(till, card.number)
    key = secrets.token_urlsafe(24)
    lost = till.get("/terminal/pay/amount", query_string={**params, "key": key, "amount": "800", "pending": "1"})
    html = lost.get_data(as_text=True)
    assert lost.status_code == 200 and "決済されていません" in html
    assert f'name="key" value="{key}"' in html and 'value="800"' in html and f'data-answer="{key}"' in html
    resp, _ = charge(till, params, "800", key=key)
    assert resp.status_code == 303
    again = till.get("/terminal/pay/amount", query_string={**params, "key": key, "amount": "800", "pending": "1"})
    assert again.status_code == 303 and "resolved=1" in again.headers["Location"]
    assert ledger.member_balance(member.id) == 2_200


def test_the_duplicate_question_then_the_confirmation_charges_once_more(till):
    member, card = factories.make_card_member(3_000)
    params = read_card(till, card.number)
    first, _ = charge(till, params, "500")
    asked, sent = charge(till, params, "500")
    html = asked.get_data(as_text=True)
    number = db.session.scalar(select(Payment.number))
    assert asked.status_code == 409
    assert f"同じカードで同じ金額の決済が1分前に完了しています（取引番号{number}）。もう一度決済しますか？" in html
    assert "もう一度決済する" in html and "決済しない" in html
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
    earlier_id = db.session.scalar(select(Payment.id))
    confirmed = till.post("/terminal/pay/charge", data={**sent, "duplicate_of": earlier_id})
    assert confirmed.status_code == 303
    repeated = till.post("/terminal/pay/charge", data={**sent, "duplicate_of": earlier_id})
    assert parse_qs(urlsplit(repeated.headers["Location"]).query)["resolved"] == ["1"]
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 2
    assert ledger.member_balance(member.id) == 2_000
    actions = sorted(db.session.scalars(select(AuditLog.action).where(AuditLog.action.like("payment_duplicate%"))))
    assert actions == ["payment_duplicate_asked", "payment_duplicate_confirmed"]


def test_the_wallet_outcome_and_question(app, client):
    store = factories.make_store()
    member, account = factories.make_app_member(5_000)
    assert login(client, account.login, factories.PASSWORD, area="wallet", kind=None).status_code == 303
    token = store.registers[0].qr_token
    resp, sent = pay(client, token, "880")
    assert resp.status_code == 303
    body = client.get("/wallet/payments/outcome", query_string={"key": sent["key"]}).get_json()
    assert body["state"] == "done" and body["balance_after"] == 4_120
    _, other_account = factories.make_app_member(100)
    other = other_client(app, other_account.login, area="wallet")
    assert other.get("/wallet/payments/outcome", query_string={"key": sent["key"]}).status_code == 404
    asked, second = pay(client, token, "880")
    assert asked.status_code == 409 and "このお店で同じ金額の決済が1分前に完了しています" in asked.get_data(as_text=True)
    key = secrets.token_urlsafe(24)
    lost = client.get(f"/wallet/pay/{token}", query_string={"key": key, "amount": "880", "pending": "1"})
    assert "決済されていません" in lost.get_data(as_text=True)
    assert ledger.member_balance(member.id) == 4_120
