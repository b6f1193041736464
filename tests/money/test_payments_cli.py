"""`flask payments …` commands."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from iseca.extensions import db
from iseca.models import IdempotencyKey, utcnow
from tests import factories


def test_prune_keeps_recent_keys_and_deletes_old_ones(app, runner):
    account = factories.make_staff()
    db.session.add_all([
        IdempotencyKey(account_id=account.id, key="old" * 8, request_hash="x", created_at=utcnow() - dt.timedelta(days=40)),
        IdempotencyKey(account_id=account.id, key="new" * 8, request_hash="x", created_at=utcnow() - dt.timedelta(hours=2)),
    ])
    db.session.commit()
    result = runner.invoke(args=["payments", "prune-keys", "--days", "30"])
    assert result.exit_code == 0 and "Deleted 1" in result.output
    assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1
    assert runner.invoke(args=["payments", "prune-keys", "--days", "0"]).exit_code != 0


def test_verify_books_says_when_they_balance_and_when_not(app, runner):
    member, card = factories.make_card_member(1_000)
    result = runner.invoke(args=["payments", "verify-books"])
    assert result.exit_code == 0 and "balance" in result.output
    from iseca.models import LedgerAccount
    db.session.execute(update(LedgerAccount).where(LedgerAccount.member_id == member.id).values(balance=999))
    db.session.commit()
    result = runner.invoke(args=["payments", "verify-books"])
    assert result.exit_code != 0 and "!= entries" in result.output
