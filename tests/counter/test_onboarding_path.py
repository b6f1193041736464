"""The whole onboarding path at request level: apply → approve → mails →
first login through the BASIC gate → 店舗情報 and an image → 事業者情報 bank
change → publish → 「使えるお店」 → unpublish."""
from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from iseca.extensions import db
from iseca.merchants.onboarding import SUBJECT_BUSINESS_ACCOUNT, SUBJECT_STORE_ACCOUNT
from iseca.models import ApplicationStatus, AuditLog, Business, MerchantApplication, OutboxMessage, OutboxStatus, Store
from tests.factories import application_form
from tests.support.client import basic_auth_header, csrf_from, login, post_form
from tests.support.mail import credentials


def png_bytes(size=(640, 480), color=(200, 80, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def test_business_with_two_stores_goes_from_application_to_the_public_list(app, smtp, staff_client, gate_client):
    # 1. A business applies online with two stores.
    resp = post_form(gate_client, "/apply", application_form(stores=2))
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/apply/done")
    assert "お申込みを受け付けました" in gate_client.get("/apply/done").get_data(as_text=True)
    application = db.session.scalar(select(MerchantApplication))
    assert application.status == ApplicationStatus.RECEIVED and application.source == "online"
    assert application.data["bank"]["account_holder_kana"] == "ｶ)ｲｾｻｷﾃｽﾄ"
    assert smtp.with_subject("【ISECA】加盟店登録のお申込みを受け付けました")

    # 2. Staff see it in the queue and approve it.
    queue = staff_client.get("/counter/applications").get_data(as_text=True)
    assert "株式会社いせさきテスト" in queue and "受付" in queue
    resp = post_form(staff_client, f"/counter/applications/{application.id}/approve", {},
                     page_url=f"/counter/applications/{application.id}")
    assert resp.status_code == 303
    business = db.session.scalar(select(Business))
    stores = list(db.session.scalars(select(Store).order_by(Store.id)))
    assert [s.name for s in stores] == ["いせさき駅前ベーカリー", "あかぼり珈琲店"]
    assert all(len(s.registers) == 1 for s in stores)

    # 3. The mails arrive at the SMTP server: one for the business, one per store.
    business_mails = smtp.with_subject(SUBJECT_BUSINESS_ACCOUNT)
    store_mails = smtp.with_subject(SUBJECT_STORE_ACCOUNT)
    assert len(business_mails) == 1 and len(store_mails) == 2
    assert all(m["To"] == "owner@isesaki-test.example.jp" for m in business_mails + store_mails)
    body = smtp.body(store_mails[0])
    assert "https://iseca.example.jp/cms/" in body and "https://iseca.example.jp/terminal/" in body
    assert "ID : guest" in body and "パスワード : guest" in body
    store_code, store_password = credentials(body, "store")
    business_code, business_password = credentials(smtp.body(business_mails[0]), "business")
    assert store_code == stores[0].code and business_code == business.code
    assert all(m.status == OutboxStatus.SENT for m in db.session.scalars(select(OutboxMessage)))

    # 4. The store logs in through the BASIC gate with the mailed ID and password
    #    and must change the password first.
    store_client = app.test_client()
    assert store_client.get("/cms/login").status_code == 401  # no gate credentials yet
    store_client.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header("guest", "guest")
    resp = login(store_client, store_code, store_password)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/cms/password")
    assert store_client.get(f"/cms/stores/{stores[0].id}").status_code == 302  # forced change first
    new_password = "駅前のパン屋は朝七時から"
    resp = post_form(store_client, "/cms/password", {
        "current_password": store_password, "new_password": new_password, "new_password_confirm": new_password,
    })
    assert resp.status_code == 303

    # 5. It edits 店舗情報 and uploads an image.
    store_url = f"/cms/stores/{stores[0].id}"
    resp = post_form(store_client, store_url, {
        "category": "食料品", "area": "伊勢崎地区", "postal_code": "372-0042", "address": "群馬県伊勢崎市中央町1-1",
        "phone": "0270-11-0000", "hours": "7:00〜19:00", "holidays_text": "水曜日", "website": "",
        "description": "焼きたてのパンとコーヒーのお店です。",
    })
    assert resp.status_code == 303
    page = store_client.get(store_url)
    resp = store_client.post(f"{store_url}/images", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "caption": "店内",
        "image": (io.BytesIO(png_bytes()), "shop.png", "image/png"),
    }, content_type="multipart/form-data")
    assert resp.status_code == 303
    html = store_client.get(store_url).get_data(as_text=True)
    assert "7:00〜19:00" in html and "焼きたてのパン" in html and "画像を追加しました" in html

    # 6. The business logs in and changes its bank account.
    business_client = app.test_client()
    business_client.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
    assert login(business_client, business_code, business_password, kind="business").status_code == 303
    new_password = "いせさきの事業者が使う長い合言葉"
    post_form(business_client, "/cms/password", {
        "current_password": business_password, "new_password": new_password, "new_password_confirm": new_password,
    })
    resp = post_form(business_client, "/cms/business", {
        "representative": "伊勢崎 花子", "postal_code": "372-8501", "address": "群馬県伊勢崎市今泉町2-410",
        "phone": "0270-24-5111", "email": "owner@isesaki-test.example.jp",
        "bank_code": "0009", "branch_code": "001", "account_type": "2", "account_number": "7654321",
        "account_holder_kana": "カ）イセサキテスト",
    })
    assert resp.status_code == 303
    db.session.refresh(business)
    assert (business.bank_code, business.branch_code, business.account_number) == ("0009", "001", "7654321")
    assert smtp.with_subject("【ISECA】振込先口座が変更されました")
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "bank_account_changed"))
    assert entry.details["old"]["account_number"] == "****567" and entry.details["new"]["account_number"] == "****321"

    # 7. Staff publish the store; it appears in 「使えるお店」 search.
    public = app.test_client()
    assert "いせさき駅前ベーカリー" not in public.get("/stores?q=ベーカリー").get_data(as_text=True)
    resp = post_form(staff_client, f"/counter/stores/{stores[0].id}/publish", {},
                     page_url=f"/counter/merchants/{business.id}")
    assert resp.status_code == 303
    found = public.get("/stores?q=ベーカリー&category=食料品&area=伊勢崎地区").get_data(as_text=True)
    assert "いせさき駅前ベーカリー" in found and "1件" in found
    detail = public.get(f"/stores/{stores[0].id}").get_data(as_text=True)
    assert "焼きたてのパンとコーヒーのお店です。" in detail and "7:00〜19:00" in detail
    image = stores[0].images[0]
    served = public.get(f"/stores/{stores[0].id}/images/{image.id}")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(served.data)).size == (640, 480)

    # 8. Unpublished: gone from the list, its page and its images.
    post_form(staff_client, f"/counter/stores/{stores[0].id}/unpublish", {}, page_url=f"/counter/merchants/{business.id}")
    assert "いせさき駅前ベーカリー" not in public.get("/stores?q=ベーカリー").get_data(as_text=True)
    assert public.get(f"/stores/{stores[0].id}").status_code == 404
    assert public.get(f"/stores/{stores[0].id}/images/{image.id}").status_code == 404
