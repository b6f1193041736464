"""申込内容の修正: staff correct an application before its review, with the
public form (messages beside the fields, what was typed kept); audited; an
application approved or rejected can no longer be changed."""
from __future__ import annotations

from sqlalchemy import select

from iseca.extensions import db
from iseca.models import ApplicationStatus, AuditLog, MerchantApplication
from tests.counter.test_merchant_detail import form_values
from tests.factories import application_form
from tests.support.client import post_form


def submit(client) -> MerchantApplication:
    assert post_form(client, "/apply", application_form()).status_code == 303
    return db.session.scalar(select(MerchantApplication).order_by(MerchantApplication.id.desc()))


def test_staff_correct_a_received_application_with_the_public_form(client, staff_client):
    application = submit(client)
    url = f"/counter/applications/{application.id}/edit"
    page = staff_client.get(url).get_data(as_text=True)
    values = form_values(page)
    assert values["name"] == "株式会社いせさきテスト" and values["stores-1-name"] == "あかぼり珈琲店"
    assert values["account_number"] == "1234567" and values["eligibility_3"] == "y" and values["agree"] == "y"
    resp = post_form(staff_client, url, {**values, "phone": "0270-27-2708", "stores-0-name": "駅前ベーカリー"})
    assert resp.status_code == 303
    db.session.expire_all()
    stored = db.session.get(MerchantApplication, application.id)
    assert stored.data["business"]["phone"] == "0270-27-2708" and stored.data["stores"][0]["name"] == "駅前ベーカリー"
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "application_updated"))
    assert row is not None and row.details["fields"] == ["business", "stores"] and row.actor_label.startswith("staff:")


def test_a_bad_value_is_refused_beside_its_field_and_everything_typed_stays(client, staff_client):
    application = submit(client)
    url = f"/counter/applications/{application.id}/edit"
    values = form_values(staff_client.get(url).get_data(as_text=True))
    resp = post_form(staff_client, url, {**values, "phone": "でんわ", "representative": "伊勢崎 太郎"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'id="phone-error"' in html
    assert form_values(html)["representative"] == "伊勢崎 太郎"
    db.session.expire_all()
    assert db.session.get(MerchantApplication, application.id).data["business"]["representative"] == "伊勢崎 花子"


def test_an_approved_application_cannot_be_edited(client, staff_client):
    application = submit(client)
    url = f"/counter/applications/{application.id}/edit"
    values = form_values(staff_client.get(url).get_data(as_text=True))
    assert post_form(staff_client, f"/counter/applications/{application.id}/approve", {},
                     page_url=f"/counter/applications/{application.id}").status_code == 303
    assert staff_client.get(url).status_code == 303
    resp = staff_client.post(url, data={**values, "phone": "0270-27-2708"})
    assert resp.status_code == 303
    db.session.expire_all()
    stored = db.session.get(MerchantApplication, application.id)
    assert stored.status == ApplicationStatus.APPROVED and stored.data["business"]["phone"] == "0270-24-5111"
    assert "申込内容を修正する" not in staff_client.get(f"/counter/applications/{application.id}").get_data(as_text=True)


def test_a_rejected_application_cannot_be_edited(client, staff_client):
    application = submit(client)
    url = f"/counter/applications/{application.id}/edit"
    values = form_values(staff_client.get(url).get_data(as_text=True))
    assert post_form(staff_client, f"/counter/applications/{application.id}/reject", {"reason": "市外の店舗のため"},
                     page_url=f"/counter/applications/{application.id}").status_code == 303
    resp = staff_client.post(url, data={**values, "phone": "0270-27-2708"})
    assert resp.status_code == 303
    db.session.expire_all()
    assert db.session.get(MerchantApplication, application.id).data["business"]["phone"] == "0270-24-5111"
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "application_updated")) is None
