"""Counter review: the queue, 承認 creating accounts in one transaction, 却下 with its reason."""
from __future__ import annotations

from sqlalchemy import func, select

from iseca.extensions import db
from iseca.merchants import onboarding
from iseca.models import (
    Account,
    AccountKind,
    ApplicationStatus,
    AuditLog,
    Business,
    KitHandover,
    MerchantApplication,
    OutboxMessage,
    Register,
    Store,
)
from tests import factories
from tests.factories import application_form
from tests.i18n.test_pages_in_language import JAPANESE as JAPANESE_TEXT
from tests.support.client import post_form
from tests.support.mail import credentials


def submit(client, **overrides) -> MerchantApplication:
    resp = post_form(client, "/apply", application_form(**overrides))
    assert resp.status_code == 303
    return db.session.scalar(select(MerchantApplication).order_by(MerchantApplication.id.desc()))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def approve(staff_client, application):
    return post_form(staff_client, f"/counter/applications/{application.id}/approve", {},
                     page_url=f"/counter/applications/{application.id}")


def test_queue_shows_received_applications_with_status(client, staff_client):
    submit(client)
    html = staff_client.get("/counter/applications").get_data(as_text=True)
    assert "株式会社いせさきテスト" in html and "受付（1）" in html and "オンライン" in html


def test_detail_shows_everything_applied_for(client, staff_client):
    application = submit(client)
    html = staff_client.get(f"/counter/applications/{application.id}").get_data(as_text=True)
    for text in ("伊勢崎 花子", "みずほ（0001）", "東京営業部（001）", "1234567", "ｶ)ｲｾｻｷﾃｽﾄ",
                 "いせさき駅前ベーカリー", "あかぼり珈琲店", "赤堀地区", onboarding.ELIGIBILITY[3]):
        assert text in html


def test_approval_creates_business_stores_registers_and_accounts(client, staff_client, smtp):
    application = submit(client, stores=2)
    resp = approve(staff_client, application)
    assert resp.status_code == 303
    business = db.session.scalar(select(Business))
    assert resp.headers["Location"].endswith(f"/counter/merchants/{business.id}")
    assert business.bank_code == "0001" and business.account_holder_kana == "ｶ)ｲｾｻｷﾃｽﾄ"
    stores = list(db.session.scalars(select(Store).order_by(Store.id)))
    assert len(stores) == 2 and count(Register) == 2
    accounts = {(a.kind, a.login) for a in db.session.scalars(select(Account).where(Account.kind != AccountKind.STAFF))}
    assert accounts == {(AccountKind.BUSINESS, business.code)} | {(AccountKind.STORE, s.code) for s in stores}
    assert all(a.must_change_password for a in db.session.scalars(select(Account).where(Account.kind != AccountKind.STAFF)))
    db.session.refresh(application)
    assert application.status == ApplicationStatus.APPROVED and application.business_id == business.id
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "application_approved")).actor_label == "staff:staff1"
    page = staff_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "承認しました" in page and stores[0].code in page


def test_mailed_passwords_work_for_cms_and_terminal(app, client, staff_client, smtp):
    from tests.support.client import basic_auth_header, login

    approve(staff_client, submit(client, stores=1))
    [store_mail] = smtp.with_subject(onboarding.SUBJECT_STORE_ACCOUNT)
    code, password = credentials(smtp.body(store_mail), "store")
    terminal = app.test_client()
    resp = login(terminal, code, password, area="terminal", kind=None)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/terminal/password")
    [business_mail] = smtp.with_subject(onboarding.SUBJECT_BUSINESS_ACCOUNT)
    code, password = credentials(smtp.body(business_mail), "business")
    cms = app.test_client()
    cms.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
    assert login(cms, code, password, kind="business").headers["Location"].endswith("/cms/password")


def test_business_mail_lists_its_stores_and_the_gate_credentials_from_config(app, client, staff_client, smtp):
    app.config.update(BASIC_AUTH_USERNAME="isesaki", BASIC_AUTH_PASSWORD="gate-pass-2026")
    approve(staff_client, submit(client, stores=2))
    body = smtp.body(smtp.with_subject(onboarding.SUBJECT_BUSINESS_ACCOUNT)[0])
    assert "ID : isesaki" in body and "パスワード : gate-pass-2026" in body
    assert "いせさき駅前ベーカリー（店舗ID：S" in body and "あかぼり珈琲店（店舗ID：S" in body
    assert "ユーザー種別 : 事業者" in body


def test_approving_twice_does_nothing_the_second_time(client, staff_client, smtp):
    application = submit(client, stores=2)
    approve(staff_client, application)
    before = (count(Business), count(Store), count(Account), count(OutboxMessage))
    resp = approve(staff_client, application)
    assert resp.status_code == 303
    assert (count(Business), count(Store), count(Account), count(OutboxMessage)) == before
    assert "すでに審査済み" in staff_client.get(resp.headers["Location"]).get_data(as_text=True)


def test_approve_in_domain_refuses_an_already_reviewed_application(app, client):
    application = submit(client, stores=1)
    staff = factories.make_staff("staff9")
    onboarding.approve_application(application, staff)
    db.session.commit()
    try:
        onboarding.approve_application(application, staff)
        raise AssertionError("second approval went through")
    except onboarding.AlreadyReviewed:
        db.session.rollback()
    assert count(Business) == 1


def test_rejection_needs_a_reason_and_mails_it(client, staff_client, smtp):
    application = submit(client)
    url = f"/counter/applications/{application.id}"
    html = post_form(staff_client, f"{url}/reject", {"reason": ""}, page_url=url).get_data(as_text=True)
    assert "却下の理由を入力してください" in html
    db.session.refresh(application)
    assert application.status == ApplicationStatus.RECEIVED
    resp = post_form(staff_client, f"{url}/reject", {"reason": "市外の店舗のみのお申込みのため。"}, page_url=url)
    assert resp.status_code == 303
    db.session.refresh(application)
    assert application.status == ApplicationStatus.REJECTED and application.reject_reason == "市外の店舗のみのお申込みのため。"
    [mail] = smtp.with_subject(onboarding.SUBJECT_REJECTED)
    assert "市外の店舗のみのお申込みのため。" in smtp.body(mail)
    assert count(Business) == 0
    # A rejected application cannot be approved afterwards.
    approve(staff_client, application)
    assert count(Business) == 0
    assert "却下（1）" in staff_client.get("/counter/applications").get_data(as_text=True)


def test_kit_hand_over_is_recorded_with_date_and_items(client, staff_client):
    application = submit(client, stores=1)
    approve(staff_client, application)
    business = db.session.scalar(select(Business))
    url = f"/counter/merchants/{business.id}"
    resp = post_form(staff_client, f"{url}/kit", {
        "store_id": str(business.stores[0].id), "handed_on": "2026-04-01",
        "flag": "1", "qr_sheet": "2", "sticker_round": "1", "sticker_square": "0",
    }, page_url=url)
    assert resp.status_code == 303
    rows = list(db.session.scalars(select(KitHandover).order_by(KitHandover.id)))
    assert [(r.item.value, r.quantity) for r in rows] == [("flag", 1), ("qr_sheet", 2), ("sticker_round", 1)]
    html = staff_client.get(url).get_data(as_text=True)
    assert "2026/04/01" in html and "のぼり旗" in html and "掲示用QRコード台紙" in html and "ステッカー（丸型）" in html


def test_kit_hand_over_without_items_is_refused(client, staff_client):
    approve(staff_client, submit(client, stores=1))
    business = db.session.scalar(select(Business))
    url = f"/counter/merchants/{business.id}"
    html = post_form(staff_client, f"{url}/kit", {"store_id": "", "handed_on": "2026-04-01", "flag": "0",
                                                  "qr_sheet": "0", "sticker_round": "0", "sticker_square": "0"},
                     page_url=url).get_data(as_text=True)
    assert "受け渡した品の数量を入力してください" in html
    assert count(KitHandover) == 0


def test_merchant_list_finds_by_store_name(client, staff_client):
    approve(staff_client, submit(client, stores=2))
    html = staff_client.get("/counter/merchants?q=珈琲").get_data(as_text=True)
    assert "株式会社いせさきテスト" in html and "あかぼり珈琲店" in html
    assert "株式会社いせさきテスト" not in staff_client.get("/counter/merchants?q=存在しない").get_data(as_text=True)


def test_two_clerks_approving_at_once_create_the_accounts_once(app, client):
    import threading

    from flask.testing import FlaskClient

    from tests.support.client import csrf_from, login

    application = submit(client, stores=2)
    factories.make_staff("staff1")
    factories.make_staff("staff2")
    clerks = []
    for name in ("staff1", "staff2"):
        c = app.test_client()
        assert login(c, name, factories.PASSWORD, area="counter", kind=None).status_code == 303
        token = csrf_from(c.get(f"/counter/applications/{application.id}").get_data(as_text=True))
        clerks.append((c, token))
    url = f"/counter/applications/{application.id}/approve"
    db.session.commit()
    barrier = threading.Barrier(2)
    statuses = []

    def approve_now(c, token):
        # Each thread is its own request with its own app context and database session.
        barrier.wait()
        resp = FlaskClient.open(c, url, method="POST", data={"csrf_token": token})
        statuses.append(resp.status_code)

    threads = [threading.Thread(target=approve_now, args=clerk) for clerk in clerks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert statuses == [303, 303]
    db.session.expire_all()
    assert count(Business) == 1 and count(Store) == 2
    assert count(OutboxMessage) == 1 + 3  # the receipt, then one business and two store mails


def test_kit_form_messages_are_japanese_and_another_business_store_is_refused(client, staff_client):
    approve(staff_client, submit(client, stores=1))
    business = db.session.scalar(select(Business))
    other = factories.make_store()
    url = f"/counter/merchants/{business.id}"
    html = post_form(staff_client, f"{url}/kit", {"store_id": "", "handed_on": "昨日", "flag": "たくさん",
                                                  "qr_sheet": "0", "sticker_round": "0", "sticker_square": "0"},
                     page_url=url).get_data(as_text=True)
    assert "日付を正しく入力してください" in html and "0〜50の数字で入力してください" in html and "Not a valid" not in html
    resp = post_form(staff_client, f"{url}/kit", {"store_id": str(other.id), "handed_on": "2026-04-01", "flag": "1"},
                     page_url=url)
    assert resp.status_code == 404
    assert count(KitHandover) == 0


def test_an_applicant_who_wrote_in_english_gets_english_accounts_and_account_mails(client, staff_client, smtp):
    """The language used on /apply is kept with the application: the account
    mails after 承認 speak it, and so do the new accounts' pages."""
    client.set_cookie("lang", "en")
    application = submit(client, stores=1)
    assert application.data["locale"] == "en"
    assert approve(staff_client, application).status_code == 303
    subjects = {m["Subject"] for m in smtp.messages}
    assert not any(JAPANESE_TEXT.search(s) for s in subjects), subjects
    for mail in smtp.messages:
        assert "受け付けました" not in smtp.body(mail) and "パスワード :" not in smtp.body(mail)
    accounts = list(db.session.scalars(select(Account).where(Account.kind != AccountKind.STAFF)))
    assert {a.locale for a in accounts} == {"en"}
    store = db.session.scalar(select(Store))
    bodies = [smtp.body(m) for m in smtp.messages]
    assert any("Account type : Store" in body and store.code in body for body in bodies)


def test_a_clerk_correcting_an_application_keeps_the_applicants_language(client, staff_client, smtp):
    client.set_cookie("lang", "en")
    application = submit(client, stores=1)
    staff = db.session.scalar(select(Account).where(Account.kind == AccountKind.STAFF))
    data = {key: value for key, value in application.data.items() if key != "locale"}
    data["business"] = {**data["business"], "phone": "0270-00-0000"}
    onboarding.update_application(application, data, staff)
    db.session.commit()
    assert application.data["locale"] == "en"
    onboarding.reject_application(application, staff, "Duplicate application")
    db.session.commit()
    [rejection] = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).all())[:1]
    assert not JAPANESE_TEXT.search(rejection.subject), rejection.subject


def test_a_japanese_or_paper_application_keeps_japanese_mails(client, staff_client, smtp):
    application = submit(client, stores=1)
    assert "locale" not in application.data
    approve(staff_client, application)
    assert smtp.with_subject(onboarding.SUBJECT_BUSINESS_ACCOUNT)
    assert all(a.locale is None for a in db.session.scalars(select(Account).where(Account.kind != AccountKind.STAFF)))
