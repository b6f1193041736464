"""振込状況: marking a period's transfers done mails each business its
「振込完了通知」 once; a failed transfer is carried over and the business is
told what to correct; 事業者情報 says from which transfer an account counts."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from iseca.extensions import db
from iseca.models import OutboxMessage, Settlement, SettlementPeriod, SettlementStatus
from iseca.money import settlement, zengin
from iseca.timeutil import JST
from tests import factories
from tests.support.client import login


@pytest.fixture
def exported(app):
    business = factories.make_business(name="ひまわり商店", email="himawari@example.jp", bank_code="0001",
                                       branch_code="001", account_number="1234567", account_holder_kana="ﾋﾏﾜﾘ")
    other = factories.make_business(name="あさひ", email="asahi@example.jp", bank_code="0001", branch_code="001",
                                    account_number="7654321", account_holder_kana="ｱｻﾋ")
    member, _ = factories.make_card_member(100_000)
    for b, amount in ((business, 4_321), (other, 1_000)):
        store = factories.make_store(b)
        factories.make_payment_at(store.registers[0], member, amount, dt.datetime(2025, 2, 20, 10, tzinfo=JST))
    period = db.session.scalar(select(SettlementPeriod).where(SettlementPeriod.starts_on == dt.date(2025, 2, 16)))
    settlement.close_period(period, at=dt.datetime(2025, 3, 1, 1, tzinfo=JST))
    period.transfer_date = dt.date(2025, 3, 19)
    zengin.prepare_transfers(period, at=dt.datetime(2025, 3, 17, 10, tzinfo=JST))  # the file made on 17 March
    db.session.commit()
    return period, business, other


def _mails(to: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == to).order_by(OutboxMessage.id)))


def test_marking_done_mails_each_business_once(exported):
    period, business, other = exported
    failed = db.session.scalar(select(Settlement).where(Settlement.business_id == other.id))
    assert settlement.mark_failed(failed, "口座解約済み")
    done = settlement.mark_transferred(period, on=dt.date(2025, 3, 19))
    db.session.commit()
    assert [r.business_id for r in done] == [business.id]
    assert settlement.mark_transferred(period, on=dt.date(2025, 3, 19)) == []  # twice: nothing more
    db.session.commit()
    [mail] = _mails("himawari@example.jp")
    assert mail.subject == "【ISECA】振込完了通知"
    for text in ("4,321円", "令和7年3月19日", "令和7年2月16日から28日まで", "他)ジムカンカ",
                 "https://iseca.example.jp/cms/settlements"):
        assert text in mail.body
    row = db.session.scalar(select(Settlement).where(Settlement.business_id == business.id))
    assert row.status == SettlementStatus.TRANSFERRED and row.transferred_at.astimezone(JST).date() == dt.date(2025, 3, 19)


def test_the_transfer_day_is_the_one_stated_never_future_nor_before_the_file(exported):
    period, business, _ = exported
    at = dt.datetime(2025, 3, 18, 15, tzinfo=JST)  # marked on 18 March, the 振込予定日 (19th) still ahead
    with pytest.raises(settlement.SettlementError, match="振込日に未来の日付"):
        settlement.mark_transferred(period, at=at, on=dt.date(2025, 3, 19))
    with pytest.raises(settlement.SettlementError, match="振込データを作成した日（令和7年3月17日）より前にはできません"):
        settlement.mark_transferred(period, at=at, on=dt.date(2025, 3, 16))
    db.session.rollback()
    assert _mails("himawari@example.jp") == []
    assert db.session.scalar(select(Settlement.status).where(Settlement.business_id == business.id)) == "scheduled"

    done = settlement.mark_transferred(period, at=at)  # by default: the day it is marked
    db.session.commit()
    assert {r.transferred_at.astimezone(JST).date() for r in done} == {dt.date(2025, 3, 18)}
    [mail] = _mails("himawari@example.jp")
    assert "振込日　　　：令和7年3月18日（2025-03-18）" in mail.body and "令和7年3月19日" not in mail.body


def test_a_failed_transfer_is_carried_and_the_business_told_what_to_correct(exported):
    period, _, other = exported
    row = db.session.scalar(select(Settlement).where(Settlement.business_id == other.id))
    with pytest.raises(settlement.SettlementError):
        settlement.mark_failed(row, "  ")
    assert settlement.mark_failed(row, "口座解約済み")
    assert not settlement.mark_failed(row, "口座解約済み")  # twice: carried once
    db.session.commit()
    [mail] = _mails("asahi@example.jp")
    assert "1,000円" in mail.body and "口座解約済み" in mail.body and "事業者情報" in mail.body
    assert "https://iseca.example.jp/cms/business" in mail.body
    assert settlement.mark_transferred(period, on=dt.date(2025, 3, 19)) and row.status == SettlementStatus.FAILED


def test_the_business_page_says_from_which_transfer_the_account_counts(client, app):
    business = factories.make_business(bank_code="0001", branch_code="001", account_number="1234567",
                                       account_holder_kana="ﾃｽﾄ")
    member, _ = factories.make_card_member(100_000)
    store = factories.make_store(business)
    factories.make_payment_at(store.registers[0], member, 500, dt.datetime(2025, 2, 20, 10, tzinfo=JST))
    period = db.session.scalar(select(SettlementPeriod).where(SettlementPeriod.starts_on == dt.date(2025, 2, 16)))
    settlement.close_period(period, at=dt.datetime(2025, 3, 1, 1, tzinfo=JST))
    period.transfer_date = dt.date(2025, 3, 19)
    db.session.commit()
    login(client, business.code, factories.PASSWORD, kind="business")
    page = client.get("/cms/business").get_data(as_text=True)
    assert "この口座は令和7年2月16日から28日まで分（振込予定日 令和7年3月19日）のお振込みから使われます" in page
    zengin.prepare_transfers(period)
    db.session.commit()
    page = client.get("/cms/business").get_data(as_text=True)
    assert "令和7年2月16日から28日まで分" not in page and "分のお振込みから使われます" in page
