"""The card balance page: the address printed on the card."""
from __future__ import annotations

from iseca.extensions import db
from iseca.models import CardStatus, PaymentMethod
from iseca.money import payments
from tests import factories


def test_card_address_shows_balance_and_recent_uses_without_login(client):
    member, card = factories.make_card_member(3_000)
    store = factories.make_store()
    payments.pay(member, store.registers[0], 480, PaymentMethod.STORE_SCAN, card=card)
    db.session.commit()
    resp = client.get(f"/card/{card.number}/{card.secret}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "2,520" in html and store.name in html and "480円" in html
    assert card.secret not in html.replace(f"/card/{card.number}/{card.secret}", "")
    assert resp.headers["Cache-Control"] == "no-store" and resp.headers["Referrer-Policy"] == "no-referrer"


def test_card_secret_is_long_enough_not_to_be_guessed(app):
    _, card = factories.make_card_member()
    assert len(card.secret) >= 32


def test_wrong_secret_is_not_found_and_throttled(client):
    member, card = factories.make_card_member(3_000)
    statuses = [client.get(f"/card/{card.number}/{'x' * 32}").status_code for _ in range(10)]
    assert statuses == [404] * 10
    assert client.get(f"/card/{card.number}/{'y' * 32}").status_code == 429
    # the throttle holds for the right secret too, from that address
    assert client.get(f"/card/{card.number}/{card.secret}").status_code == 429


def test_suspended_card_page_says_so_without_a_balance(client):
    member, card = factories.make_card_member(3_000)
    card.status = CardStatus.SUSPENDED
    db.session.commit()
    html = client.get(f"/card/{card.number}/{card.secret}").get_data(as_text=True)
    assert "利用停止中" in html and "3,000" not in html
