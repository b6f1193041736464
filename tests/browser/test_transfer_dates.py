"""振込日 is written one way in each language on every page that shows it:
the business's 精算 list and its 利用額明細 page, and the counter's 加盟店詳細
(令和7年3月19日 in Japanese, as the guide writes it; one English date in English)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from iseca.dates import wareki
from iseca.extensions import db
from iseca.models import Settlement, SettlementPeriod
from iseca.money import settlement, zengin
from iseca.timeutil import JST
from tests import factories
from tests.support.browser import log_in, screenshot

PAID_ON = dt.date(2025, 3, 19)


@pytest.fixture
def transferred(app):
    business = factories.make_business(name="ひまわり商店", bank_code="0001", branch_code="001",
                                       account_number="1234567", account_holder_kana="ﾋﾏﾜﾘｼﾖｳﾃﾝ")
    store = factories.make_store(business, name="ひまわり本店")
    member, _ = factories.make_card_member(100_000)
    factories.make_payment_at(store.registers[0], member, 3_300, dt.datetime(2025, 2, 20, 10, tzinfo=JST))
    factories.make_staff()
    period = db.session.scalar(select(SettlementPeriod).where(SettlementPeriod.starts_on == dt.date(2025, 2, 16)))
    settlement.close_period(period, at=dt.datetime(2025, 3, 1, 1, tzinfo=JST))
    period.transfer_date = PAID_ON
    zengin.prepare_transfers(period, at=dt.datetime(2025, 3, 17, 10, tzinfo=JST))  # the file made before the day paid
    settlement.mark_transferred(period, on=PAID_ON)
    db.session.commit()
    row = db.session.scalar(select(Settlement).where(Settlement.business_id == business.id))
    return business, row


def _cell_after(page, heading: str) -> str:
    """The text of the <dd> after the <dt> `heading`."""
    dt_ = page.locator("dt").filter(has_text=re.compile(rf"^\s*{re.escape(heading)}\s*$"))
    return dt_.locator("xpath=following-sibling::dd[1]").first.inner_text().strip()


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_transfer_day_reads_the_same_on_the_list_the_statement_and_the_merchant_page(
        app, new_context, live_server, transferred, lang):
    business, row = transferred
    with app.app_context():
        expected = wareki(PAID_ON, lang)
    assert expected == ("令和7年3月19日" if lang == "ja" else expected)
    other_forms = ["2025-03-19", "2025/03/19", "2025年3月19日"] + (["令和7年3月19日"] if lang != "ja" else [])

    owner_context = new_context(viewport={"width": 1280, "height": 900})
    owner = owner_context.new_page()
    log_in(owner, "cms", business.code, kind="business")
    staff_context = new_context(viewport={"width": 1280, "height": 900})
    staff = staff_context.new_page()
    log_in(staff, "counter", "staff1")
    for context in (owner_context, staff_context):
        context.add_cookies([{"name": "lang", "value": lang, "url": live_server.url}])

    seen = {}
    owner.goto("/cms/settlements")
    owner.locator(f'html[lang="{lang}"]').wait_for(state="attached")
    listed = owner.locator("#main tr", has=owner.locator(f'a[href$="/settlements/{row.id}"]')).first
    seen["精算"] = listed.inner_text()
    screenshot(owner, f"transfer-date-list-{lang}")

    owner.goto(f"/cms/settlements/{row.id}")
    owner.locator(f'html[lang="{lang}"]').wait_for(state="attached")
    seen["利用額明細"] = _cell_after(owner, "振込日" if lang == "ja" else "Transfer date")
    assert seen["利用額明細"] == expected

    staff.goto(f"/counter/merchants/{business.id}")
    staff.locator(f'html[lang="{lang}"]').wait_for(state="attached")
    cell = staff.locator("td[data-label]", has_text=expected)
    seen["加盟店詳細"] = cell.first.inner_text().strip() if cell.count() else staff.locator("#main").inner_text()
    assert seen["加盟店詳細"] == expected, seen
    screenshot(staff, f"transfer-date-merchant-{lang}")

    assert all(expected in text for text in seen.values()), seen
    for page, path in ((owner, "/cms/settlements"), (owner, f"/cms/settlements/{row.id}"),
                       (staff, f"/counter/merchants/{business.id}")):
        page.goto(path)
        page.locator(f'html[lang="{lang}"]').wait_for(state="attached")
        text = page.locator("#main").inner_text()
        assert expected in text, path
        for form in other_forms:
            assert form not in text, (path, form)
