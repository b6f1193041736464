"""Grants, grant batches and campaigns as domain functions: once per key,
with the grant's own messages, each with its audit row."""
from __future__ import annotations

import datetime as dt
import secrets

import pytest
from sqlalchemy import func, select

from iseca.extensions import db
from iseca.members import cards
from iseca.models import AuditLog, LedgerTransaction, LedgerTransactionKind, MemberStatus
from iseca.money import grants, idempotency, ledger
from tests import factories


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_same_key_grants_once_and_says_it_was_a_repeat(app):
    staff = factories.make_staff()
    campaign = factories.make_campaign()
    member, _ = factories.make_card_member()
    key = secrets.token_urlsafe(24)
    first = grants.grant_once(staff, key, member, campaign, 1_000, kind=LedgerTransactionKind.CHARGE, memo="入金")
    db.session.commit()
    again = grants.grant_once(staff, key, member, campaign, 1_000, kind=LedgerTransactionKind.CHARGE, memo="入金")
    db.session.commit()
    assert not first.replayed and again.replayed
    assert again.amount == 1_000 and again.kind == LedgerTransactionKind.CHARGE
    assert ledger.member_balance(member.id) == 1_000
    assert _count(AuditLog, AuditLog.action == "points_granted") == 1


def test_same_key_with_another_amount_is_refused_in_the_counters_words(app):
    staff = factories.make_staff()
    campaign = factories.make_campaign()
    member, _ = factories.make_card_member()
    key = secrets.token_urlsafe(24)
    grants.grant_once(staff, key, member, campaign, 1_000, kind=LedgerTransactionKind.GRANT, memo="x")
    db.session.commit()
    with pytest.raises(idempotency.KeyReused) as refused:
        grants.grant_once(staff, key, member, campaign, 2_000, kind=LedgerTransactionKind.GRANT, memo="x")
    assert "登録" in str(refused.value) and "決済" not in str(refused.value)
    db.session.rollback()
    with pytest.raises(idempotency.KeyInvalid) as stale:
        grants.grant_once(staff, "", member, campaign, 500, kind=LedgerTransactionKind.GRANT, memo="x")
    assert "付与はされていません" in str(stale.value)
    db.session.rollback()
    assert ledger.member_balance(member.id) == 1_000


def test_a_suspended_member_gets_no_grant(app):
    campaign = factories.make_campaign()
    member, _ = factories.make_card_member()
    member.status = MemberStatus.SUSPENDED
    db.session.commit()
    with pytest.raises(grants.GrantRefused, match="利用停止中"):
        grants.grant(member, campaign, 100)
    db.session.rollback()
    assert _count(LedgerTransaction) == 0


@pytest.mark.parametrize("amount", [0, -1, cards.GRANT_MAX_AMOUNT + 1, 1.5, True])
def test_grant_amount_must_be_whole_points_within_the_limit(app, amount):
    member, _ = factories.make_card_member()
    with pytest.raises(grants.GrantRefused):
        grants.grant(member, factories.make_campaign(), amount)
    db.session.rollback()
    assert _count(LedgerTransaction) == 0


def test_batch_is_granted_once_per_preview_with_one_audit_row(app):
    staff = factories.make_staff()
    campaign = factories.make_campaign()
    a, _ = factories.make_card_member()
    b, _ = factories.make_card_member()
    text = f"{a.code},1000\n{b.code},2500\n"
    key = secrets.token_urlsafe(24)
    for _ in range(2):
        result = grants.grant_batch_once(staff, key, cards.parse_grant_csv(text), campaign, memo="一括", csv_text=text)
        db.session.commit()
    assert result.replayed and (result.lines, result.total) == (2, 3_500)
    assert ledger.member_balance(a.id) == 1_000 and ledger.member_balance(b.id) == 2_500
    assert _count(AuditLog, AuditLog.action == "points_granted_batch") == 1


def test_campaign_is_created_with_its_audit_row_and_dates_checked(app):
    campaign = grants.create_campaign("令和8年度", dt.date(2026, 4, 1), dt.date(2027, 3, 31))
    db.session.commit()
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "campaign_created")).target_id == campaign.id
    with pytest.raises(grants.CampaignInvalid) as invalid:
        grants.create_campaign("逆", dt.date(2026, 4, 1), dt.date(2026, 3, 31))
    assert invalid.value.field == "ends_on" and "終了日は開始日以降" in str(invalid.value)
