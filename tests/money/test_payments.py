"""The payment rules as plain functions: amounts, payers, campaigns,
idempotency keys, register QR tokens."""
from __future__ import annotations

import datetime as dt
import secrets
import time

import pytest
from sqlalchemy import func, select

from iseca.extensions import db
from iseca.members import payers
from iseca.members.cards import luhn_check_digit
from iseca.models import (
    CardStatus,
    LedgerTransaction,
    MerchantStatus,
    Payment,
    PaymentMethod,
    utcnow,
)
from iseca.money import idempotency, ledger, payment_statement, payments
from tests import factories


@pytest.mark.parametrize("typed,amount", [
    ("1000", 1000), ("１０００", 1000), ("１,２８０", 1280), ("2,160円", 2160), (" 550 ", 550), ("500000", 500_000),
])
def test_amount_accepts_whole_yen_also_in_full_width_digits(app, typed, amount):
    assert payments.parse_amount(typed) == amount


@pytest.mark.parametrize("typed,message", [
    ("", "金額を入力してください"),
    ("0", "1円以上"),
    ("０", "1円以上"),
    ("-100", "1円以上"),
    ("－１００", "1円以上"),
    ("10.5", "小数は使えません"),
    ("１０．５", "小数は使えません"),
    ("500001", "500,000円まで"),
    ("9" * 30, "500,000円まで"),
    ("abc", "数字で入力"),
    ("1e3", "数字で入力"),
])
def test_amount_refuses_zero_negative_decimal_and_over_limit(app, typed, message):
    with pytest.raises(payments.AmountInvalid) as refused:
        payments.parse_amount(typed)
    assert message in str(refused.value)


def test_amount_limit_is_configurable(app):
    app.config["PAYMENT_MAX_AMOUNT"] = 10_000
    assert payments.parse_amount("10000") == 10_000
    with pytest.raises(payments.AmountInvalid, match="10,000円まで"):
        payments.parse_amount("10001")


def test_payment_draws_soonest_expiring_campaign_first(app):
    store = factories.make_store()
    later = factories.make_campaign(name="後", ends_on=dt.date(2099, 12, 31))
    sooner = factories.make_campaign(name="先", ends_on=dt.date(2098, 3, 31))
    member, card = factories.make_card_member(1_000, later)
    ledger.grant(member.id, sooner, 500)
    db.session.commit()
    payment = payments.pay(member, store.registers[0], 700, PaymentMethod.STORE_SCAN, card=card)
    db.session.commit()
    assert ledger.member_account(member.id, sooner.id).balance == 0
    assert ledger.member_account(member.id, later.id).balance == 800
    assert payment.campaign_id is None  # drawn from two campaigns
    assert ledger.verify_books() == []


def test_points_of_an_expired_campaign_cannot_be_spent(app):
    store = factories.make_store()
    expired = factories.make_campaign(starts_on=dt.date(2020, 4, 1), ends_on=dt.date(2021, 3, 31))
    member, card = factories.make_card_member(5_000, expired)
    assert ledger.member_balance(member.id) == 0
    with pytest.raises(ledger.InsufficientBalance) as short:
        payments.pay(member, store.registers[0], 100, PaymentMethod.STORE_SCAN, card=card)
    assert short.value.available == 0
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


def test_payment_numbers_are_unique_and_carry_the_japan_date(app):
    at = dt.datetime(2026, 4, 1, 15, 30, tzinfo=dt.UTC)  # 00:30 on 4/2 in Japan
    numbers = {payments.new_payment_number(at, i) for i in range(1, 20_001)}
    assert len(numbers) == 20_000
    assert all(n.startswith("260402") and len(n) == 16 for n in numbers)


def _actor():
    store = factories.make_store()
    return store, factories.account_of(factories.AccountKind.STORE, store.code)


def test_same_key_returns_first_payment_and_charges_once(app):
    store, actor = _actor()
    member, card = factories.make_card_member(3_000)
    key = secrets.token_urlsafe(24)
    first = payments.pay_once(actor, key, member, store.registers[0], 1_000, PaymentMethod.STORE_SCAN, card=card)
    db.session.commit()
    again = payments.pay_once(actor, key, member, store.registers[0], 1_000, PaymentMethod.STORE_SCAN, card=card)
    db.session.commit()
    assert again.replayed and again.payment.id == first.payment.id
    assert again.balance_after == first.balance_after == 2_000
    assert ledger.member_balance(member.id) == 2_000
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1


def test_same_key_with_a_different_amount_is_refused(app):
    store, actor = _actor()
    member, card = factories.make_card_member(3_000)
    key = secrets.token_urlsafe(24)
    payments.pay_once(actor, key, member, store.registers[0], 1_000, PaymentMethod.STORE_SCAN, card=card)
    db.session.commit()
    with pytest.raises(idempotency.KeyReused, match="別の内容で決済"):
        payments.pay_once(actor, key, member, store.registers[0], 1_500, PaymentMethod.STORE_SCAN, card=card)
    db.session.rollback()
    assert ledger.member_balance(member.id) == 2_000


def test_refused_payment_leaves_the_key_free_for_a_corrected_amount(app):
    store, actor = _actor()
    member, card = factories.make_card_member(800)
    key = secrets.token_urlsafe(24)
    with pytest.raises(ledger.InsufficientBalance):
        payments.pay_once(actor, key, member, store.registers[0], 1_000, PaymentMethod.STORE_SCAN, card=card)
    db.session.rollback()
    result = payments.pay_once(actor, key, member, store.registers[0], 800, PaymentMethod.STORE_SCAN, card=card)
    db.session.commit()
    assert result.balance_after == 0 and not result.replayed


def test_payment_without_a_valid_key_is_refused(app):
    store, actor = _actor()
    member, card = factories.make_card_member(800)
    for key in ("", "short", "x" * 65, "bad key with spaces!!"):
        with pytest.raises(idempotency.KeyInvalid, match="画面の有効期限"):
            payments.pay_once(actor, key, member, store.registers[0], 100, PaymentMethod.STORE_SCAN, card=card)
        db.session.rollback()


def test_every_payment_has_one_balanced_ledger_transaction_and_audit_entry(app):
    store, actor = _actor()
    member, card = factories.make_card_member(3_000)
    result = payments.pay_once(actor, secrets.token_urlsafe(24), member, store.registers[0], 1_234,
                               PaymentMethod.STORE_SCAN, card=card)
    db.session.commit()
    payment = result.payment
    txn = db.session.get(LedgerTransaction, payment.ledger_transaction_id)
    assert sum(e.amount for e in txn.entries) == 0
    assert txn.actor_account_id == actor.id and payment.created_by_account_id == actor.id
    assert payment.store_id == store.id and payment.register_id == store.registers[0].id
    assert payment.member_id == member.id and payment.card_id == card.id
    assert payment.method == PaymentMethod.STORE_SCAN and payment.period_id is not None
    from iseca.models import AuditLog
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "payment_created")).target_id == payment.id


@pytest.mark.parametrize("campaigns", [1, 2])
def test_a_payment_writes_the_same_rows_on_every_database(app, campaigns):
    """PostgreSQL writes a payment in one statement, SQLite in several: the
    rows are the same (from one campaign or two: two or three entries)."""
    from iseca.models import AuditLog, IdempotencyKey, LedgerAccount, LedgerEntry, RegisterDayTotal

    store, actor = _actor()
    member, card = factories.make_card_member(1_000, factories.make_campaign(name="後", ends_on=dt.date(2099, 12, 31)))
    if campaigns == 2:
        ledger.grant(member.id, factories.make_campaign(name="先", ends_on=dt.date(2098, 3, 31)), 500)
    db.session.commit()
    accounts_before = {a.id: (a.kind, a.member_id, a.store_id, a.campaign_id, a.balance)
                       for a in db.session.scalars(select(LedgerAccount))}
    key = secrets.token_urlsafe(24)
    result = payments.pay_once(actor, key, member, store.registers[0], 700, PaymentMethod.STORE_SCAN, card=card)
    db.session.commit()
    db.session.expire_all()

    payment = db.session.get(Payment, result.payment_id)
    assert result.number == payment.number == payments.new_payment_number(payment.created_at, payment.ledger_transaction_id)
    assert result.balance_after == ledger.member_balance(member.id) == 1_000 + 500 * (campaigns - 1) - 700
    assert payment.campaign_id is (None if campaigns == 2 else payment.campaign_id)
    entries = {e.account_id: e.amount for e in db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.transaction_id == payment.ledger_transaction_id))}
    assert len(entries) == campaigns + 1 and sum(entries.values()) == 0
    for account in db.session.scalars(select(LedgerAccount)):
        kind, member_id, store_id, campaign_id, balance = accounts_before.get(account.id, (account.kind, None, store.id, None, 0))
        # Only the balances moved, each by its entry.
        assert (account.kind, account.member_id, account.store_id, account.campaign_id) == (kind, member_id, store_id, campaign_id)
        assert account.balance == balance + entries.get(account.id, 0)
    row = db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.key == key))
    assert row.payment_id == payment.id
    assert row.result == {"payment_id": payment.id, "number": payment.number, "amount": 700,
                          "balance_after": result.balance_after}
    assert abs((row.created_at - payment.created_at).total_seconds()) < 60
    audit_row = db.session.scalar(select(AuditLog).where(AuditLog.action == "payment_created"))
    assert (audit_row.target_type, audit_row.target_id, audit_row.actor_account_id) == ("payment", payment.id, actor.id)
    assert audit_row.actor_label == f"store:{store.code}" and audit_row.business_id == store.business_id
    assert audit_row.details == {"number": payment.number, "amount": 700, "method": "store_scan",
                                 "register_id": store.registers[0].id, "member_code": member.code}
    total = db.session.scalar(select(RegisterDayTotal))
    assert (total.register_id, total.store_id, total.method, total.payment_count, total.payment_sum) == \
        (store.registers[0].id, store.id, PaymentMethod.STORE_SCAN, 1, 700)
    assert (total.cancelled_count, total.cancelled_sum, total.cancel_count, total.cancel_sum) == (0, 0, 0, 0)
    assert ledger.verify_books() == []


@pytest.mark.parametrize("entries", [2, 3, 5])
def test_the_one_statement_payment_sets_nothing_but_balances_and_the_keys_result(entries):
    """SQLAlchemy adds a parameter named as a column of an UPDATE's table to
    what the UPDATE sets, CTEs included: none of the statement's parameters
    may be so named, or a payment would rewrite the accounts it moves."""
    import re

    from sqlalchemy.dialects import postgresql

    row = payment_statement.payment_row(business_id=1, store_id=1, register_id=1, member_id=1, card_id=None,
                                        campaign_id=None, method=PaymentMethod.STORE_SCAN, amount=1, at=utcnow(),
                                        actor_id=1, period_id=1)
    statement = payment_statement.recorded_payment_statement(entries, tuple(row))
    dialect = postgresql.psycopg.dialect()
    parameters = list(statement.compile(dialect=dialect).params)
    sql = str(statement.compile(dialect=dialect, column_keys=parameters))
    sets = {table: re.findall(r"(\w+)=", clause)
            for table, clause in re.findall(r"UPDATE (\w+) SET (.*?) (?:WHERE|FROM)", sql, flags=re.S)}
    assert sets == {"ledger_accounts": ["balance"], "idempotency_keys": ["payment_id", "result"]}


# --- who pays ---------------------------------------------------------------

def test_card_number_typed_with_full_width_digits_and_hyphens_is_read(app):
    member, card = factories.make_card_member(100)
    wide = "－".join(card.number[i:i + 4] for i in range(0, 16, 4)).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    payer = payers.identify(wide)
    assert payer.member.id == member.id and payer.card.id == card.id


def test_card_qr_is_the_balance_page_address_and_identifies_the_card(app):
    member, card = factories.make_card_member(100)
    text = payers.card_qr_text(card)
    assert text == f"https://iseca.example.jp/card/{card.number}/{card.secret}"
    assert payers.identify(text).card.id == card.id
    with pytest.raises(payers.PayerUnknown):
        payers.identify(f"https://iseca.example.jp/card/{card.number}/{'A' * 32}")


@pytest.mark.parametrize("typed", ["1234", "9392000000000001", "abcdef", "https://example.com/"])
def test_unknown_or_mistyped_card_is_refused(app, typed):
    with pytest.raises(payers.PayerUnknown):
        payers.identify(typed)


def test_unknown_card_with_a_valid_check_digit_is_refused(app):
    body = "939200000000000"
    with pytest.raises(payers.PayerUnknown, match="登録されていません"):
        payers.identify(body + luhn_check_digit(body))


def test_suspended_and_replaced_cards_cannot_pay(app):
    member, card = factories.make_card_member(1_000)
    card.status = CardStatus.SUSPENDED
    db.session.commit()
    with pytest.raises(payments.PaymentRefused, match="利用停止中"):
        payers.identify(card.number)
    card.status = CardStatus.REPLACED
    db.session.commit()
    with pytest.raises(payments.PaymentRefused, match="再発行"):
        payers.identify(card.number)


def test_wallet_qr_works_while_fresh_and_not_later(app):
    member, _ = factories.make_app_member(1_000)
    now = time.time()
    text = payers.wallet_qr_text(member, now)
    assert payers.identify(text, now=now + 10).member.id == member.id
    with pytest.raises(payments.PaymentRefused, match="有効期限"):
        payers.identify(text, now=now + app.config["WALLET_QR_TTL_SECONDS"] + 1)
    forged = text[:-4] + ("0000" if not text.endswith("0000") else "1111")
    with pytest.raises(payers.PayerUnknown):
        payers.identify(forged, now=now)


def test_payer_reference_is_bound_to_the_store_that_read_it(app):
    member, card = factories.make_card_member(100)
    reference = payers.payer_reference(payers.identify(card.number), store_id=1)
    assert payers.payer_from_reference(reference, 1).card.id == card.id
    with pytest.raises(payers.PayerUnknown):
        payers.payer_from_reference(reference, 2)
    with pytest.raises(payers.PayerUnknown):
        payers.payer_from_reference(reference + "x", 1)


def test_a_suspended_store_or_member_cannot_be_paid(app):
    from iseca.models import MemberStatus, MerchantStatus
    store, actor = _actor()
    member, card = factories.make_card_member(3_000)
    store.status = MerchantStatus.SUSPENDED
    db.session.commit()
    with pytest.raises(payments.PaymentRefused, match="停止"):
        payments.pay_once(actor, secrets.token_urlsafe(24), member, store.registers[0], 100, PaymentMethod.STORE_SCAN, card=card)
    db.session.rollback()
    store.status = MerchantStatus.ACTIVE
    member.status = MemberStatus.SUSPENDED
    db.session.commit()
    with pytest.raises(payments.PaymentRefused, match="利用停止中"):
        payments.pay_once(actor, secrets.token_urlsafe(24), member, store.registers[0], 100, PaymentMethod.STORE_SCAN, card=card)
    db.session.rollback()
    assert ledger.member_balance(member.id) == 3_000


def test_a_suspended_store_takes_no_payment(app):
    store = factories.make_store()
    member, card = factories.make_card_member(3_000)
    store.business.status = MerchantStatus.SUSPENDED
    db.session.commit()
    with pytest.raises(payments.StoreSuspended, match="決済を停止しています"):
        payments.pay(member, store.registers[0], 100, PaymentMethod.STORE_SCAN, card=card)
    db.session.rollback()
    assert ledger.member_balance(member.id) == 3_000


def test_a_payment_dated_in_a_closed_settlement_period_is_refused_and_charges_nothing(app):
    from iseca import i18n
    from iseca.models import SettlementPeriod
    from iseca.money import settlement
    from iseca.timeutil import JST

    store = factories.make_store()
    member, card = factories.make_card_member(5_000)
    factories.make_payment_at(store.registers[0], member, 1_000, dt.datetime(2025, 2, 20, 10, tzinfo=JST), card=card)
    period = db.session.scalar(select(SettlementPeriod).where(SettlementPeriod.starts_on == dt.date(2025, 2, 16)))
    settlement.close_period(period, at=dt.datetime(2025, 3, 1, 1, tzinfo=JST))
    db.session.commit()

    late = dt.datetime(2025, 2, 27, 15, tzinfo=JST)  # inside 16–28 February, closed on 1 March
    with pytest.raises(payments.PeriodClosed, match="2025-02-27の精算期間は締められているため"):
        payments.pay(member, store.registers[0], 300, PaymentMethod.STORE_SCAN, card=card, at=late)
    db.session.rollback()
    assert ledger.member_balance(member.id) == 4_000
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
    with app.test_request_context(), i18n.force_locale("en"), pytest.raises(payments.PaymentRefused) as refused:
        payments.pay(member, store.registers[0], 300, PaymentMethod.STORE_SCAN, card=card, at=late)
    db.session.rollback()
    assert "2025-02-27" in str(refused.value) and "締め" not in str(refused.value)

    # The next period is open: a payment dated in it is taken and settled with it.
    payment = payments.pay(member, store.registers[0], 300, PaymentMethod.STORE_SCAN, card=card,
                           at=dt.datetime(2025, 3, 2, 10, tzinfo=JST))
    db.session.commit()
    assert db.session.get(SettlementPeriod, payment.period_id).starts_on == dt.date(2025, 3, 1)
    assert ledger.member_balance(member.id) == 3_700
