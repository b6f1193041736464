"""Settlements where the counter looks first: the business's own on 加盟店詳細
(period, state, amount, 振込予定日 and 振込日, why a transfer failed) and the
next period to close with its 振込予定日 on 窓口TOP."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from iseca.extensions import db
from iseca.models import Settlement, SettlementPeriod
from iseca.money import settlement
from iseca.timeutil import JST
from tests import factories


def _text(resp) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)))


def test_the_merchant_page_lists_its_settlements_with_dates_and_a_failed_transfer(staff_client):
    business = factories.make_business(name="ひまわり商店", bank_code="0001", branch_code="001",
                                       account_number="1234567", account_holder_kana="ﾋﾏﾜﾘ")
    store = factories.make_store(business)
    member, _ = factories.make_card_member(100_000)
    factories.make_payment_at(store.registers[0], member, 4_000, dt.datetime(2025, 2, 20, 10, tzinfo=JST))
    factories.make_payment_at(store.registers[0], member, 1_500, dt.datetime(2025, 3, 3, 10, tzinfo=JST))
    february, march = db.session.scalars(select(SettlementPeriod).order_by(SettlementPeriod.starts_on)).all()
    february.transfer_date = dt.date(2025, 3, 19)
    settlement.close_period(february, at=dt.datetime(2025, 3, 1, 1, tzinfo=JST))
    settlement.close_period(march, at=dt.datetime(2025, 3, 16, 1, tzinfo=JST))
    db.session.flush()
    failed = db.session.scalar(select(Settlement).where(Settlement.period_id == march.id))
    settlement.mark_failed(failed, "口座解約済み")
    db.session.commit()

    page = _text(staff_client.get(f"/counter/merchants/{business.id}"))
    section = page[page.index("売上対象期間"):page.index("最近の決済")]
    assert "令和7年2月16日から28日まで" in section and "令和7年3月1日から15日まで" in section
    assert "4,000円" in section and "1,500円" in section
    assert "令和7年3月19日" in section  # 振込予定日 of February
    assert "未定" in section  # March's is not set
    assert "振込不能→次回繰越" in section and "口座解約済み" in section


def test_a_business_without_settlements_says_so(staff_client):
    business = factories.make_business()
    assert "まだ精算はありません。" in _text(staff_client.get(f"/counter/merchants/{business.id}"))


def test_the_console_home_shows_the_next_period_and_its_transfer_date(staff_client):
    store = factories.make_store()
    member, _ = factories.make_card_member(10_000)
    factories.make_payment_at(store.registers[0], member, 500, dt.datetime(2025, 2, 20, 10, tzinfo=JST))
    period = db.session.scalar(select(SettlementPeriod))
    db.session.commit()
    page = _text(staff_client.get("/counter/"))
    assert "次に締める売上対象期間： 2025/02/16〜2025/02/28" in page
    assert "その期間の振込予定日： 未定" in page
    period.transfer_date = dt.date(2025, 3, 19)
    db.session.commit()
    assert "その期間の振込予定日： 令和7年3月19日（2025/03/19）" in _text(staff_client.get("/counter/"))


def test_the_console_home_says_undecided_in_english(staff_client):
    store = factories.make_store()
    member, _ = factories.make_card_member(10_000)
    factories.make_payment_at(store.registers[0], member, 500, dt.datetime(2025, 2, 20, 10, tzinfo=JST))
    db.session.commit()
    staff_client.set_cookie("lang", "en")
    page = _text(staff_client.get("/counter/"))
    assert "Transfer date of that period: Undecided" in page
