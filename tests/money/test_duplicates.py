"""The duplicate guard: the same member at the same store for the same amount
within ISECA_DUPLICATE_PAYMENT_WINDOW_SECONDS under a new key is asked about,
not charged, until confirmed; and what a till that lost an answer learns of
its key (idempotency.outcome)."""
from __future__ import annotations

import datetime as dt
import secrets
import threading

import pytest
from sqlalchemy import func, select, update

from iseca.extensions import db
from iseca.models import AccountKind, AuditLog, Payment, PaymentMethod
from iseca.money import cancellation, idempotency, ledger, payments
from tests import factories


def _till():
    store = factories.make_store()
    return store, factories.account_of(AccountKind.STORE, store.code)


def _pay(actor, member, register, amount, *, card=None, key=None, confirmed=None):
    result = payments.pay_once(actor, key or secrets.token_urlsafe(24), member, register, amount,
                               PaymentMethod.STORE_SCAN, card=card, confirmed=confirmed)
    db.session.commit()
    return result


def _count(model=Payment, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_new_key_for_the_same_card_store_and_amount_is_asked_about_not_charged(app):
    store, actor = _till()
    member, card = factories.make_card_member(5_000)
    first = _pay(actor, member, store.registers[0], 1_200, card=card)
    with pytest.raises(payments.DuplicateSuspected) as asked:
        _pay(actor, member, store.registers[0], 1_200, card=card)
    db.session.rollback()
    assert asked.value.earlier.id == first.payment_id and asked.value.minutes_ago == 1
    assert _count() == 1 and ledger.member_balance(member.id) == 3_800


def test_confirming_charges_once_with_the_key_of_the_question_and_both_are_audited(app):
    store, actor = _till()
    member, card = factories.make_card_member(5_000)
    register = store.registers[0]
    first = _pay(actor, member, register, 1_200, card=card)
    key = secrets.token_urlsafe(24)
    with pytest.raises(payments.DuplicateSuspected) as asked:
        _pay(actor, member, register, 1_200, card=card, key=key)
    db.session.rollback()
    payments.record_duplicate_question(actor, asked.value, register)
    db.session.commit()
    second = _pay(actor, member, register, 1_200, card=card, key=key, confirmed=first.payment_id)
    again = _pay(actor, member, register, 1_200, card=card, key=key, confirmed=first.payment_id)
    assert again.replayed and again.payment_id == second.payment_id != first.payment_id
    assert _count() == 2 and ledger.member_balance(member.id) == 2_600
    asked_row = db.session.scalar(select(AuditLog).where(AuditLog.action == "payment_duplicate_asked"))
    assert asked_row.target_id == first.payment_id and asked_row.details["number"] == first.number
    confirmed_row = db.session.scalar(select(AuditLog).where(AuditLog.action == "payment_duplicate_confirmed"))
    assert confirmed_row.target_id == second.payment_id and confirmed_row.details["earlier"] == first.number


def test_a_confirmation_of_an_older_payment_does_not_pass_a_newer_one(app):
    store, actor = _till()
    member, card = factories.make_card_member(5_000)
    register = store.registers[0]
    first = _pay(actor, member, register, 500, card=card)
    _pay(actor, member, register, 500, card=card, confirmed=first.payment_id)
    with pytest.raises(payments.DuplicateSuspected):
        _pay(actor, member, register, 500, card=card, confirmed=first.payment_id)
    db.session.rollback()
    assert _count() == 2


@pytest.mark.parametrize("change", ["amount", "store", "cancelled", "member"])
def test_other_amount_store_member_or_a_cancelled_payment_charges_straight_away(app, change):
    store, actor = _till()
    member, card = factories.make_card_member(5_000)
    first = _pay(actor, member, store.registers[0], 700, card=card)
    amount, register, payer, payer_card = 700, store.registers[0], member, card
    if change == "amount":
        amount = 701
    elif change == "store":
        other = factories.make_store()
        register, actor = other.registers[0], factories.account_of(AccountKind.STORE, other.code)
    elif change == "member":
        payer, payer_card = factories.make_card_member(5_000)
    else:
        cancellation.cancel_payment(db.session.get(Payment, first.payment_id), actor=actor)
        db.session.commit()
    _pay(actor, payer, register, amount, card=payer_card)
    assert _count() == 2


def test_after_the_window_or_with_the_guard_off_it_charges(app):
    store, actor = _till()
    member, card = factories.make_card_member(5_000)
    register = store.registers[0]
    first = _pay(actor, member, register, 300, card=card)
    # The earlier payment moved just past the window.
    made = db.session.get(Payment, first.payment_id).created_at
    db.session.execute(update(Payment).where(Payment.id == first.payment_id)
                       .values(created_at=made - dt.timedelta(seconds=181)))
    db.session.commit()
    _pay(actor, member, register, 300, card=card)
    app.config["DUPLICATE_PAYMENT_WINDOW_SECONDS"] = 0
    _pay(actor, member, register, 300, card=card)
    app.config["DUPLICATE_PAYMENT_WINDOW_SECONDS"] = 30
    with pytest.raises(payments.DuplicateSuspected):
        _pay(actor, member, register, 300, card=card)
    db.session.rollback()
    assert _count() == 3 and ledger.member_balance(member.id) == 4_100


def test_an_app_member_paying_from_the_wallet_is_guarded_too(app):
    store = factories.make_store()
    member, account = factories.make_app_member(3_000)
    register = store.registers[0]
    payments.pay_once(account, secrets.token_urlsafe(24), member, register, 880, PaymentMethod.CUSTOMER_SCAN)
    db.session.commit()
    with pytest.raises(payments.DuplicateSuspected):
        payments.pay_once(account, secrets.token_urlsafe(24), member, register, 880, PaymentMethod.CUSTOMER_SCAN)
    db.session.rollback()
    assert ledger.member_balance(member.id) == 2_120


def test_a_key_outcome_is_told_to_its_own_account_alone(app):
    store, actor = _till()
    other_store, other = _till()
    member, card = factories.make_card_member(5_000)
    key = secrets.token_urlsafe(24)
    result = _pay(actor, member, store.registers[0], 900, card=card, key=key)
    found = idempotency.outcome(actor.id, key)
    assert found.state == idempotency.Outcome.DONE and found.payment_id == result.payment_id
    assert found.result["number"] == result.number and found.result["balance_after"] == 4_100
    assert idempotency.outcome(other.id, key).state == idempotency.Outcome.NONE
    assert idempotency.outcome(actor.id, secrets.token_urlsafe(24)).state == idempotency.Outcome.NONE
    assert idempotency.outcome(actor.id, "<bad>").state == idempotency.Outcome.NONE


def test_two_tills_with_different_keys_at_once_charge_once_and_ask_once(app, backend):
    if backend != "postgresql":
        pytest.skip("SQLite runs writers one at a time; two payments at once matter on PostgreSQL")
    from iseca.models import Account, Card, Member, Register

    store = factories.make_store(registers=2)
    member, card = factories.make_card_member(10_000)
    actor = factories.account_of(AccountKind.STORE, store.code)
    ids = (member.id, card.id, actor.id, [r.id for r in store.registers])
    db.session.commit()
    rounds = 8
    outcomes: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(2)

    def till(index: int):
        try:
            with app.app_context():
                for n in range(rounds):
                    member_, card_ = db.session.get(Member, ids[0]), db.session.get(Card, ids[1])
                    actor_, register = db.session.get(Account, ids[2]), db.session.get(Register, ids[3][index])
                    barrier.wait()
                    try:
                        payments.pay_once(actor_, secrets.token_urlsafe(24), member_, register, 100 + n,
                                          PaymentMethod.STORE_SCAN, card=card_)
                        db.session.commit()
                        outcome = "charged"
                    except payments.DuplicateSuspected:
                        db.session.rollback()
                        outcome = "asked"
                    with lock:
                        outcomes.append(outcome)
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=till, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[0]
    assert sorted(outcomes) == ["asked"] * rounds + ["charged"] * rounds
    db.session.commit()
    assert _count() == rounds
    assert ledger.member_balance(member.id) == 10_000 - sum(100 + n for n in range(rounds))
    assert ledger.verify_books() == []
