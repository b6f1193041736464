"""加盟店詳細: one page with everything about a business, and the counter's
corrections of its details (audited, the business mailed)."""
from __future__ import annotations

import re
from html import unescape

from sqlalchemy import select

from iseca.extensions import db
from iseca.merchants.profiles import SUBJECT_DETAILS_CHANGED
from iseca.models import AuditLog, Business, MerchantApplication, OutboxMessage, PaymentMethod, utcnow
from iseca.money import payments
from tests import factories
from tests.factories import application_form
from tests.support.client import csrf_from, post_form


def form_values(html: str) -> dict[str, str]:
    """What the browser would send for the page's form as it stands."""
    values = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        unticked = ('type="checkbox"' in tag or 'type="radio"' in tag) and "checked" not in tag
        if not name or 'type="submit"' in tag or unticked:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        values[name.group(1)] = unescape(value.group(1)) if value else ("y" if 'type="checkbox"' in tag else "")
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = [tag for tag in re.findall(r"<option[^>]*>", body) if " selected" in tag]
        values[name] = unescape(re.search(r'value="([^"]*)"', chosen[0]).group(1)) if chosen else ""
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        values[name] = unescape(body.strip("\n"))
    return values


def _business_with_bank():
    business = factories.make_business(email="owner@example.jp", representative="伊勢崎 花子", postal_code="372-8501",
                                       phone="0270-24-5111", bank_code="0001", branch_code="001",
                                       account_number="1234567", account_holder_kana="ｲｾｻｷ ﾊﾅｺ")
    return business


def test_the_merchant_page_shows_stores_registers_logins_payments_mails_and_audit(app, staff_client):
    business = _business_with_bank()
    store = factories.make_store(business, name="本町店")
    member, _ = factories.make_app_member(2_000)
    payment = payments.pay(member, store.registers[0], 700, PaymentMethod.CUSTOMER_SCAN, at=utcnow())
    db.session.commit()
    html = staff_client.get(f"/counter/merchants/{business.id}").get_data(as_text=True)
    for expected in ("本町店", "レジ：レジ1", "最終ログイン", payment.number, "700", "操作の記録", "メール"):
        assert expected in html, expected


def test_staff_correct_the_phone_number_and_the_business_is_told(app, staff_client):
    business = _business_with_bank()
    page = f"/counter/merchants/{business.id}/edit"
    values = form_values(staff_client.get(page).get_data(as_text=True))
    assert values["phone"] == "0270-24-5111" and values["account_number"] == "1234567"
    resp = staff_client.post(page, data={**values, "phone": "0270-27-2708"})
    assert resp.status_code == 303, resp.get_data(as_text=True)
    db.session.refresh(business)
    assert business.phone == "0270-27-2708" and business.account_number == "1234567"
    [mail] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.subject == SUBJECT_DETAILS_CHANGED))
    assert mail.recipient == "owner@example.jp" and "電話番号" in mail.body and "振込先口座" not in mail.body
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "business_profile_updated"))
    assert entry.actor_label == "staff:staff1" and entry.details["fields"] == ["phone"]
    assert "0270-27-2708" in staff_client.get(f"/counter/merchants/{business.id}").get_data(as_text=True)


def test_a_bad_phone_number_is_refused_next_to_the_field_and_nothing_changes(app, staff_client):
    business = _business_with_bank()
    page = f"/counter/merchants/{business.id}/edit"
    values = form_values(staff_client.get(page).get_data(as_text=True))
    resp = staff_client.post(page, data={**values, "phone": "abc", "name": "新しい名前"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "電話番号" in html and 'value="abc"' in html and 'value="新しい名前"' in html
    db.session.refresh(business)
    assert business.phone == "0270-24-5111" and business.name != "新しい名前"
    assert db.session.scalar(select(OutboxMessage).where(OutboxMessage.subject == SUBJECT_DETAILS_CHANGED)) is None


def test_staff_rename_a_store_and_the_business_is_told(app, staff_client):
    business = _business_with_bank()
    store = factories.make_store(business, name="旧店名", category="飲食", area="伊勢崎地区", postal_code="372-0001",
                                 phone="0270-00-0000", hours="10:00〜18:00")
    page = f"/counter/stores/{store.id}/edit"
    values = form_values(staff_client.get(page).get_data(as_text=True))
    resp = staff_client.post(page, data={**values, "name": "新店名"})
    assert resp.status_code == 303, resp.get_data(as_text=True)
    db.session.refresh(store)
    assert store.name == "新店名"
    [mail] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.subject == SUBJECT_DETAILS_CHANGED))
    assert "名称" in mail.body and "新店名" in mail.body


def test_approving_asks_for_confirmation_before_anything_is_opened(app, staff_client):
    page = staff_client.get("/apply")
    staff_client.post("/apply", data={"csrf_token": csrf_from(page.get_data(as_text=True)), **application_form(stores=1)})
    application = db.session.scalar(select(MerchantApplication))
    confirm = staff_client.get(f"/counter/applications/{application.id}/approve")
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "この申込を承認しますか" in html
    assert db.session.scalar(select(Business)) is None  # nothing opened by looking
    resp = post_form(staff_client, f"/counter/applications/{application.id}/approve", {},
                     page_url=f"/counter/applications/{application.id}/approve")
    assert resp.status_code == 303 and db.session.scalar(select(Business)) is not None


def test_the_mail_of_what_changed_names_the_fields_in_the_business_language_not_the_clerks(app, staff_client):
    business = _business_with_bank()
    page = f"/counter/merchants/{business.id}/edit"
    staff_client.set_cookie("lang", "en")
    values = form_values(staff_client.get(page).get_data(as_text=True))
    assert staff_client.post(page, data={**values, "phone": "0270-27-2708"}).status_code == 303
    [mail] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.subject == SUBJECT_DETAILS_CHANGED))
    assert "電話番号" in mail.body and "Phone" not in mail.body
