"""ISECA窓口 in English beyond the page walk: a form sent back with errors
says what is wrong in English beside each field, and the console home's
charts read in English with amounts as an English reader writes them."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from iseca.models import utcnow
from iseca.timeutil import today_jst
from tests import factories
from tests.i18n.test_pages_in_language import JAPANESE
from tests.support.client import post_form


@pytest.fixture
def english_staff(staff_client):
    staff_client.set_cookie("lang", "en")
    return staff_client


def errors_of(html: str, field_id: str) -> list[str]:
    """The messages shown beside one field (its aria-describedby list)."""
    block = re.search(rf'<ul class="errors" id="{field_id}-error">(.*?)</ul>', html, re.S)
    assert block, f"no messages beside {field_id}"
    return [re.sub(r"\s+", " ", m).strip() for m in re.findall(r"<li>(.*?)</li>", block.group(1), re.S)]


def test_a_grant_without_points_or_reason_is_refused_in_english_beside_each_field(app, english_staff):
    member, _ = factories.make_card_member()
    campaign = factories.make_campaign(name="Spring 2026")
    page = f"/counter/members/{member.id}"
    key = re.search(r'name="key" type="hidden" value="([^"]*)"', english_staff.get(page).get_data(as_text=True))
    resp = post_form(english_staff, page, {"kind": "grant", "campaign_id": campaign.id, "amount": "", "memo": "",
                                           "key": key.group(1)})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert errors_of(html, "amount") == ["Enter the points."]
    assert errors_of(html, "memo") == ["Enter a reason."]
    assert 'aria-invalid="true"' in html
    assert '<label for="amount">Points</label>' in html


def test_a_notice_period_ending_before_it_starts_is_refused_in_english(app, english_staff):
    today = today_jst()
    resp = post_form(english_staff, "/counter/notices", {
        "title": "Maintenance", "audience": "everyone",
        "starts_on": (today + dt.timedelta(days=2)).isoformat(), "ends_on": today.isoformat()})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert errors_of(html, "ends_on") == ["The last day must be the same as or after the first day."]
    missing = post_form(english_staff, "/counter/notices", {"title": "", "audience": "everyone", "starts_on": "",
                                                            "ends_on": today.isoformat()}).get_data(as_text=True)
    assert errors_of(missing, "title") == ["Enter a title."]
    assert errors_of(missing, "starts_on") == ["Enter the first day to show it."]


def test_a_kit_quantity_out_of_range_is_refused_in_english(app, english_staff):
    store = factories.make_store()
    page = f"/counter/merchants/{store.business_id}"
    resp = post_form(english_staff, f"/counter/merchants/{store.business_id}/kit",
                     {"store_id": "", "handed_on": today_jst().isoformat(), "flag": "51"}, page_url=page)
    html = resp.get_data(as_text=True)
    assert "Enter a number from 0 to 50." in errors_of(html, "flag")
    nothing = post_form(english_staff, f"/counter/merchants/{store.business_id}/kit",
                        {"store_id": "", "handed_on": today_jst().isoformat()}, page_url=page)
    assert errors_of(nothing.get_data(as_text=True), "flag") == ["Enter the quantity of the items handed over."]


def test_a_reversed_range_on_the_console_home_is_refused_in_english(app, english_staff):
    html = english_staff.get("/counter/", query_string={"date_from": "2026-03-10", "date_to": "2026-03-01"}) \
        .get_data(as_text=True)
    assert errors_of(html, "date_to") == ["The last day must be the same as or after the first day."]


def test_the_console_home_charts_read_in_english_with_yen_amounts(app, english_staff):
    store = factories.make_store(name="Sakai Diner")
    member, _ = factories.make_card_member(5_000, factories.make_campaign(name="Spring"))
    factories.make_payment_at(store.registers[0], member, 1_234, utcnow())
    html = english_staff.get("/counter/").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert '<title id="chart-daily-title">Payments by day (yen)</title>' in html
    assert '<title id="chart-stores-title">Most used stores (yen)</title>' in html
    assert '<title id="chart-outstanding-title">Unused balance by campaign (points)</title>' in html
    # The description read aloud, and the value beside the bar, in yen as an English reader writes it.
    stores_desc = re.search(r'<desc id="chart-stores-desc">(.*?)</desc>', html, re.S).group(1)
    assert stores_desc.strip() == "Sakai Diner: ¥1,234."
    assert '<text x="516.0" y="21" class="chart-value">¥1,234</text>' in html
    daily_desc = re.search(r'<desc id="chart-daily-desc">(.*?)</desc>', html, re.S).group(1)
    today = today_jst()
    assert f"{today:%b} {today.day}: ¥1,234." in daily_desc
    assert "Max ¥1,234" in html
    assert "3,766 pt" in re.search(r'<svg class="chart" id="chart-outstanding".*?</svg>', html, re.S).group(0)
    charts = "".join(re.findall(r'<svg class="chart".*?</svg>', html, re.S))
    assert JAPANESE.findall(charts) == []
    assert "Points available" not in charts  # labels, not stray words
    assert "Issued (grants + charges)" in html and "Payments and active members by day" in html


def test_the_console_home_charts_stay_japanese_in_japanese(app, staff_client):
    store = factories.make_store(name="境の食堂")
    member, _ = factories.make_card_member(5_000)
    factories.make_payment_at(store.registers[0], member, 1_234, utcnow())
    html = staff_client.get("/counter/").get_data(as_text=True)
    assert '<title id="chart-daily-title">日別の決済金額（円）</title>' in html
    assert "境の食堂: 1,234円。" in html and "最大 1,234円" in html and "3,766pt" in html


def test_the_figures_csv_has_english_headers_in_utf8_for_an_english_reader(app, english_staff):
    store = factories.make_store(name="Sakai Diner")
    member, _ = factories.make_card_member(5_000)
    factories.make_payment_at(store.registers[0], member, 1_234, utcnow())
    resp = english_staff.get("/counter/figures.csv", query_string={"chart": "stores"})
    assert resp.headers["Content-Type"] == "text/csv; charset=UTF-8"
    text = resp.get_data().decode("utf-8-sig")
    header, first = text.splitlines()[:2]
    assert header == 'Store code,Store name,Payments (cancellations excluded),"Amount (yen, cancellations excluded)"'
    assert first.endswith("Sakai Diner,1,1234")
    # Asked for the Excel (CP932) file, an English reader still gets UTF-8: CP932 is for Japanese Excel.
    excel = english_staff.get("/counter/figures.csv", query_string={"chart": "stores", "encoding": "cp932"})
    assert excel.headers["Content-Type"] == "text/csv; charset=UTF-8"
    assert excel.get_data().decode("utf-8-sig").startswith("Store code,")
    english_staff.set_cookie("lang", "ja")
    japanese = english_staff.get("/counter/figures.csv", query_string={"chart": "stores"})
    assert japanese.headers["Content-Type"] == "text/csv; charset=Windows-31J"
    assert japanese.get_data().decode("cp932").startswith("店舗コード,店舗名,")


@pytest.fixture
def ended_period(app):
    """A period of February 2025 with one business's payments, ended long ago."""
    from sqlalchemy import select

    from iseca.extensions import db
    from iseca.models import SettlementPeriod
    from iseca.timeutil import JST

    business = factories.make_business(name="Himawari", email="himawari@example.jp", bank_code="0001",
                                       branch_code="001", account_number="1234567", account_holder_kana="ﾋﾏﾜﾘ")
    member, _ = factories.make_card_member(10_000)
    factories.make_payment_at(factories.make_store(business).registers[0], member, 4_000,
                              dt.datetime(2025, 2, 20, 10, tzinfo=JST))
    return db.session.scalar(select(SettlementPeriod).where(SettlementPeriod.starts_on == dt.date(2025, 2, 16)))


def _text(resp) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)))


def test_the_settlement_schedule_reads_in_english_dates_and_stays_wareki_in_japanese(app, english_staff, ended_period):
    url = f"/counter/settlements/{ended_period.id}"
    assert post_form(english_staff, url, {"transfer_date": "2025-03-19"}).status_code == 303
    page = _text(english_staff.get(url))
    assert "The scheduled transfer date is now Mar 19, 2025." in page
    assert "Feb 16 – 28, 2025" in page and "令和" not in page
    overview = _text(english_staff.get("/counter/settlements"))
    assert "Mar 19, 2025" in overview and "令和" not in overview
    closed = post_form(english_staff, url + "/close", {})
    assert closed.status_code == 303
    assert "Feb 16 – 28, 2025 is closed (businesses: 1, total to transfer: ¥4,000)." in \
        _text(english_staff.get(url))
    english_staff.set_cookie("lang", "ja")
    japanese = _text(english_staff.get("/counter/settlements"))
    assert "令和7年3月19日" in japanese and "令和7年2月16日から28日まで" in japanese


def test_a_failed_transfer_without_a_reason_is_refused_in_english(app, english_staff, ended_period):
    from sqlalchemy import select

    from iseca.extensions import db
    from iseca.models import Settlement
    from iseca.money import settlement
    from iseca.timeutil import JST

    settlement.close_period(ended_period, at=dt.datetime(2025, 3, 1, 1, tzinfo=JST))
    db.session.commit()
    row = db.session.scalar(select(Settlement))
    resp = post_form(english_staff, f"/counter/settlements/transfers/{row.id}/failed", {"reason": ""})
    assert resp.status_code == 422
    assert errors_of(resp.get_data(as_text=True), "reason") == [
        "Enter the reason the transfer failed (e.g. account closed)."]
    assert "Transfer failed: Himawari" in _text(resp)
