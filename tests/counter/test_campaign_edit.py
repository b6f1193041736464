"""キャンペーン変更: staff extend or shorten a campaign after seeing what it
does to the points already granted (who holds how many, what expires when),
confirm, and the change applies to spending and cancelling; audited."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from iseca.extensions import db
from iseca.models import AuditLog, Campaign, PaymentMethod
from iseca.money import cancellation, ledger, payments
from iseca.timeutil import JST, today_jst
from tests import factories
from tests.support.client import post_form


def _text(resp) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)))


def _noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=JST)


@pytest.fixture
def held():
    """A campaign ending in 10 days: two members hold 800 + 500 of its points
    (one paid 200 from it), a third holds points of another campaign."""
    today = today_jst()
    campaign = factories.make_campaign(name="春のキャンペーン", starts_on=dt.date(2020, 1, 1),
                                       ends_on=today + dt.timedelta(days=10))
    other = factories.make_campaign(name="別のキャンペーン")
    store = factories.make_store()
    first, _ = factories.make_card_member(1_000, campaign)
    factories.make_card_member(500, campaign)
    factories.make_card_member(300, other)
    payment = payments.pay(first, store.registers[0], 200, PaymentMethod.CUSTOMER_SCAN, at=_noon(today))
    db.session.commit()
    return campaign, store, first, payment


def test_the_effect_is_shown_before_and_after_and_nothing_changes_until_confirmed(staff_client, held):
    campaign, *_ = held
    today = today_jst()
    url = f"/counter/campaigns/{campaign.id}/edit"
    new_end = today + dt.timedelta(days=40)
    resp = post_form(staff_client, url, {"name": "春のキャンペーン", "starts_on": "2020-01-01", "cancellable_until_end": "y",
                                         "ends_on": new_end.isoformat(), "action": "preview"})
    page = _text(resp)
    assert resp.status_code == 200 and "キャンペーン変更の確認" in page
    assert "2人" in page and "1,300ポイント" in page
    old_end = today + dt.timedelta(days=10)
    assert f"{old_end:%Y/%m/%d}の終わりに1,300ポイント" in page and f"{new_end:%Y/%m/%d}の終わりに1,300ポイント" in page
    assert f"1件（200円）：{new_end:%Y/%m/%d}まで" in page
    assert "有効期間が短くなります" not in page
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).ends_on == old_end  # only shown, not saved


def test_an_extended_campaign_is_spendable_and_cancellable_until_its_new_end(staff_client, held):
    campaign, store, member, payment = held
    today = today_jst()
    later = today + dt.timedelta(days=20)
    with pytest.raises(ledger.InsufficientBalance):  # after the old last day the points cannot be spent
        payments.pay(member, store.registers[0], 100, PaymentMethod.CUSTOMER_SCAN, at=_noon(later))
    db.session.rollback()
    new_end = today + dt.timedelta(days=40)
    url = f"/counter/campaigns/{campaign.id}/edit"
    resp = post_form(staff_client, url, {"name": "春のキャンペーン（延長）", "starts_on": "2020-01-01", "cancellable_until_end": "y",
                                         "ends_on": new_end.isoformat(), "action": "confirm"})
    assert resp.status_code == 303
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).ends_on == new_end
    paid = payments.pay(member, store.registers[0], 100, PaymentMethod.CUSTOMER_SCAN, at=_noon(later))
    assert paid.amount == 100
    assert cancellation.cancellation_deadline(payment) == new_end
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "campaign_updated"))
    assert row.details["members"] == 2 and row.details["points"] == 1_300
    assert "キャンペーン変更" in _text(staff_client.get("/counter/audit"))


def test_shortening_is_clearly_warned(staff_client, held):
    campaign, *_ = held
    today = today_jst()
    new_end = today + dt.timedelta(days=3)
    resp = post_form(staff_client, f"/counter/campaigns/{campaign.id}/edit",
                     {"name": "春のキャンペーン", "starts_on": "2020-01-01", "cancellable_until_end": "y", "ends_on": new_end.isoformat(),
                      "action": "preview"})
    page = _text(resp)
    assert "有効期間が短くなります。ポイントが早く失効します。" in page
    assert "2人の会員が持つ1,300ポイントが" in page and "7日早まります" in page
    assert 'role="alert"' in resp.get_data(as_text=True)


def test_a_campaign_cannot_be_ended_in_the_past(staff_client, held):
    campaign, *_ = held
    yesterday = today_jst() - dt.timedelta(days=1)
    resp = post_form(staff_client, f"/counter/campaigns/{campaign.id}/edit",
                     {"name": "春のキャンペーン", "starts_on": "2020-01-01", "cancellable_until_end": "y", "ends_on": yesterday.isoformat(),
                      "action": "confirm"})
    assert resp.status_code == 422 and "終了日は今日以降の日付にしてください" in _text(resp)
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).ends_on == today_jst() + dt.timedelta(days=10)
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "campaign_updated")) is None


@pytest.mark.parametrize("action", ["preview", "confirm"])
@pytest.mark.parametrize("starts_on,ends_on,field,message", [
    ("\t", "2099-12-31", "starts_on", "開始日を入力してください"),
    ("2020-01-01", "\u3000", "ends_on", "終了日を入力してください"),
    (" \t\u3000 ", "\t", "starts_on", "開始日を入力してください"),
])
def test_a_date_of_only_blanks_is_asked_for_next_to_its_field(staff_client, held, action, starts_on, ends_on, field,
                                                              message):
    """A tab or an ideographic space is no date: the field says so, the rest of what was typed stays, nothing changes."""
    campaign, *_ = held
    resp = post_form(staff_client, f"/counter/campaigns/{campaign.id}/edit",
                     {"name": "夏のキャンペーン", "starts_on": starts_on, "cancellable_until_end": "y", "ends_on": ends_on,
                      "action": action})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    errors = dict(re.findall(r'<ul class="errors" id="([^"]+)-error">(.*?)</ul>', html, re.S))
    assert message in errors[field]
    assert 'value="夏のキャンペーン"' in html
    db.session.expire_all()
    kept = db.session.get(Campaign, campaign.id)
    assert (kept.name, kept.ends_on) == ("春のキャンペーン", today_jst() + dt.timedelta(days=10))
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "campaign_updated")) is None


def test_the_confirmation_speaks_english(staff_client, held):
    campaign, *_ = held
    staff_client.set_cookie("lang", "en")
    resp = post_form(staff_client, f"/counter/campaigns/{campaign.id}/edit",
                     {"name": "春のキャンペーン", "starts_on": "2020-01-01", "cancellable_until_end": "y",
                      "ends_on": (today_jst() + dt.timedelta(days=3)).isoformat(), "action": "preview"})
    page = _text(resp)
    assert "The validity period becomes shorter" in page and "1,300 points" in page


def test_limiting_cancellation_to_the_payments_period_is_warned_then_applies(staff_client, held):
    """「キャンペーン終了日まで決済の取消を受け付ける」 unticked: the confirmation
    says what changes; once confirmed, a payment is cancellable only until
    the end of its own 精算 period."""
    from iseca.money.periods import period_bounds

    campaign, _store, _member, payment = held
    url = f"/counter/campaigns/{campaign.id}/edit"
    form = {"name": "春のキャンペーン", "starts_on": "2020-01-01",
            "ends_on": (today_jst() + dt.timedelta(days=10)).isoformat()}
    page = _text(post_form(staff_client, url, {**form, "action": "preview"}))
    assert "決済した精算期間のうちに限り取消できるようになります" in page
    assert "キャンペーン終了日まで 決済した精算期間のうち" in page  # before, after
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).cancellable_until_end  # only shown
    assert post_form(staff_client, url, {**form, "action": "confirm"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).cancellable_until_end is False
    period_end = period_bounds(today_jst())[1]
    assert cancellation.cancellation_deadline(payment) == min(period_end, today_jst() + dt.timedelta(days=10))
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "campaign_updated"))
    assert row.details["fields"] == ["cancellable_until_end"]
    assert "決済した精算期間のうち" in _text(staff_client.get("/counter/campaigns"))


def test_a_new_campaign_takes_the_guides_rule_unless_the_clerk_unticks_it(staff_client):
    page = staff_client.get("/counter/campaigns").get_data(as_text=True)
    assert re.search(r'<input[^>]*checked[^>]*name="cancellable_until_end"|name="cancellable_until_end"[^>]*checked', page)
    post_form(staff_client, "/counter/campaigns", {"name": "秋", "starts_on": "2026-10-01", "ends_on": "2026-12-31"})
    post_form(staff_client, "/counter/campaigns", {"name": "冬", "starts_on": "2026-12-01", "ends_on": "2027-02-28",
                                                   "cancellable_until_end": "y"})
    by_name = {c.name: c.cancellable_until_end for c in db.session.scalars(select(Campaign))}
    assert by_name == {"秋": False, "冬": True}
