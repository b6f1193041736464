"""The points ledger: balanced entries, no negative member balances."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from iseca.extensions import db
from iseca.models import LedgerEntry, LedgerTransaction, LedgerTransactionKind, PaymentMethod
from iseca.money import ledger, payments
from iseca.money.periods import period_bounds
from tests import factories


def test_grant_then_payment_moves_points_and_books_balance(app):
    store = factories.make_store()
    member, card = factories.make_card_member(balance=5_000)
    payment = payments.pay(member, store.registers[0], 1_200, PaymentMethod.STORE_SCAN, card=card)
    db.session.commit()
    assert ledger.member_balance(member.id) == 3_800
    assert ledger.store_account(store.id).balance == 1_200
    assert payment.number and payment.amount == 1_200
    entries = db.session.scalars(select(LedgerEntry).where(LedgerEntry.transaction_id == payment.ledger_transaction_id)).all()
    assert sum(e.amount for e in entries) == 0
    assert ledger.verify_books() == []


def test_payment_over_balance_is_refused_and_changes_nothing(app):
    store = factories.make_store()
    member, card = factories.make_card_member(balance=1_000)
    with pytest.raises(ledger.InsufficientBalance) as info:
        payments.pay(member, store.registers[0], 1_001, PaymentMethod.STORE_SCAN, card=card)
    db.session.rollback()
    assert info.value.available == 1_000
    assert ledger.member_balance(member.id) == 1_000
    assert ledger.verify_books() == []


def test_ledger_refuses_unbalanced_or_float_movements(app):
    issuer = ledger.issuer_account()
    member, _ = factories.make_card_member()
    account = ledger.member_account(member.id, factories.make_campaign().id)
    with pytest.raises(ledger.LedgerError):
        ledger.post(LedgerTransactionKind.GRANT, [(issuer, -100), (account, 99)])
    with pytest.raises(ledger.LedgerError):
        ledger.post(LedgerTransactionKind.GRANT, [(issuer, -1.5), (account, 1.5)])


def test_member_balance_cannot_go_negative_even_directly(app):
    member, _ = factories.make_card_member(balance=100)
    account = ledger.spendable_accounts(member.id)[0]
    with pytest.raises(ledger.InsufficientBalance):
        ledger.post(LedgerTransactionKind.PAYMENT, [(account, -101), (ledger.issuer_account(), 101)])
    db.session.rollback()
    assert ledger.member_balance(member.id) == 100


def test_expired_campaign_points_cannot_be_spent(app):
    old = factories.make_campaign(name="旧", starts_on=dt.date(2020, 4, 1), ends_on=dt.date(2021, 3, 31))
    member, card = factories.make_card_member(balance=3_000, campaign=old)
    assert ledger.member_balance(member.id) == 0
    store = factories.make_store()
    with pytest.raises(ledger.InsufficientBalance):
        payments.pay(member, store.registers[0], 100, PaymentMethod.STORE_SCAN, card=card)


def test_reverse_returns_points(app):
    store = factories.make_store()
    member, card = factories.make_card_member(balance=2_000)
    payment = payments.pay(member, store.registers[0], 500, PaymentMethod.STORE_SCAN, card=card)
    txn = db.session.get(LedgerTransaction, payment.ledger_transaction_id)
    ledger.reverse(txn, LedgerTransactionKind.CANCELLATION)
    db.session.commit()
    assert ledger.member_balance(member.id) == 2_000
    assert ledger.store_account(store.id).balance == 0
    assert ledger.verify_books() == []
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 6


@pytest.mark.parametrize("day,start,end", [
    (dt.date(2025, 2, 10), dt.date(2025, 2, 1), dt.date(2025, 2, 15)),
    (dt.date(2025, 2, 16), dt.date(2025, 2, 16), dt.date(2025, 2, 28)),
    (dt.date(2024, 2, 29), dt.date(2024, 2, 16), dt.date(2024, 2, 29)),
    (dt.date(2024, 4, 30), dt.date(2024, 4, 16), dt.date(2024, 4, 30)),
    (dt.date(2024, 3, 31), dt.date(2024, 3, 16), dt.date(2024, 3, 31)),
    (dt.date(2024, 3, 15), dt.date(2024, 3, 1), dt.date(2024, 3, 15)),
])
def test_settlement_periods_are_first_half_and_second_half(day, start, end):
    assert period_bounds(day) == (start, end)


def test_spend_chooses_locks_and_splits_the_members_accounts_itself(app):
    store = factories.make_store()
    later = factories.make_campaign(name="後", ends_on=dt.date(2099, 12, 31))
    sooner = factories.make_campaign(name="先", ends_on=dt.date(2098, 3, 31))
    expired = factories.make_campaign(name="済", starts_on=dt.date(2020, 4, 1), ends_on=dt.date(2021, 3, 31))
    member, _ = factories.make_card_member(1_000, later)
    for campaign, amount in ((sooner, 300), (expired, 5_000)):
        ledger.grant(member.id, campaign, amount)
    db.session.commit()
    spent = ledger.spend(member.id, store.id, 500)
    db.session.commit()
    assert spent.balance_after == 800 and spent.campaign_id is None  # 300 from 先, 200 from 後
    moved = {e.account_id: e.amount for e in spent.transaction.entries}
    assert moved[ledger.member_account(member.id, sooner.id).id] == -300
    assert moved[ledger.member_account(member.id, later.id).id] == -200
    assert moved[ledger.store_account(store.id).id] == 500
    assert ledger.member_account(member.id, expired.id).balance == 5_000  # never drawn from
    with pytest.raises(ledger.InsufficientBalance) as short:
        ledger.spend(member.id, store.id, 801)
    assert short.value.available == 800
    db.session.rollback()
    for amount in (0, -5, 1.5, True):
        with pytest.raises(ledger.LedgerError):
            ledger.spend(member.id, store.id, amount)
    assert ledger.verify_books() == []
