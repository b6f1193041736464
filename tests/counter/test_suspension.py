"""利用停止 means stopped: a suspended business or store takes no payments
(store QR or card at the till, also a QR page opened before the suspension),
leaves 「使えるお店」, and its accounts cannot log in; 利用再開 restores it
all; both audited and mailed to the business."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from iseca.extensions import db
from iseca.merchants.suspension import SUBJECT_REACTIVATED, SUBJECT_SUSPENDED
from iseca.models import AuditLog, OutboxMessage, Payment
from iseca.money import ledger
from tests import factories
from tests.support.client import basic_auth_header, csrf_from, login, post_form


def _browser(app):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
    return client


def _wallet(app, balance=5_000):
    client = _browser(app)
    member, account = factories.make_app_member(balance)
    assert login(client, account.login, factories.PASSWORD, area="wallet", kind=None).status_code == 303
    client.member = member
    return client


def _open_amount_page(wallet, register) -> dict:
    """The customer has read the register QR: the amount page is open, with its key."""
    html = wallet.get(f"/wallet/pay/{register.qr_token}").get_data(as_text=True)
    return {"csrf_token": csrf_from(html), "key": re.search(r'name="key" value="([^"]+)"', html).group(1)}


def _till_charge(till, card_number: str, amount: str):
    page = till.get("/terminal/pay")
    resp = till.post("/terminal/pay", data={"csrf_token": csrf_from(page.get_data(as_text=True)), "code": card_number})
    if resp.status_code != 303:
        return resp
    amount_page = till.get(resp.headers["Location"]).get_data(as_text=True)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', amount_page))
    return till.post("/terminal/pay/charge", data={**fields, "amount": amount})


def test_a_suspended_business_is_stopped_everywhere_until_reactivated(app, staff_client):
    business = factories.make_business(email="owner@example.jp")
    store = factories.make_store(business, name="いせさき青果")
    register = store.registers[0]
    factories.make_store(business)  # a second store: stopped with the first
    staff_client.get("/counter/")
    staff = factories.account_of("staff", "staff1")
    public = _browser(app)
    onboarding_publish = post_form(staff_client, f"/counter/stores/{store.id}/publish", {},
                                   page_url=f"/counter/merchants/{business.id}")
    assert onboarding_publish.status_code == 303
    assert "いせさき青果" in public.get("/stores").get_data(as_text=True)
    wallet = _wallet(app)
    opened_before = _open_amount_page(wallet, register)
    till = _browser(app)
    assert login(till, store.code, factories.PASSWORD, area="terminal", kind=None).status_code == 303
    _, card = factories.make_card_member(3_000)

    resp = post_form(staff_client, f"/counter/merchants/{business.id}/suspend", {"reason": "調査のため"})
    assert resp.status_code == 303
    assert "利用停止中" in staff_client.get(f"/counter/merchants/{business.id}").get_data(as_text=True)

    # 「使えるお店」: neither listed nor reachable.
    assert "いせさき青果" not in public.get("/stores").get_data(as_text=True)
    assert public.get(f"/stores/{store.id}").status_code == 404
    # The register QR says so, to a member and to a phone not yet logged in.
    page = wallet.get(f"/wallet/pay/{register.qr_token}")
    assert page.status_code == 422 and "決済を停止しています" in page.get_data(as_text=True)
    assert "決済を停止しています" in public.get(f"/wallet/pay/{register.qr_token}").get_data(as_text=True)
    # The amount page opened before the suspension is refused at 「支払う」.
    resp = wallet.post(f"/wallet/pay/{register.qr_token}", data={**opened_before, "amount": "500"})
    assert resp.status_code == 422 and "決済を停止しています" in resp.get_data(as_text=True)
    # The till was logged out and its store account cannot log in again.
    assert till.get("/terminal/pay").status_code == 302
    resp = login(_browser(app), store.code, factories.PASSWORD, area="terminal", kind=None)
    assert resp.status_code == 200 and "利用停止中" in resp.get_data(as_text=True)
    resp = login(_browser(app), business.code, factories.PASSWORD, kind="business")
    assert resp.status_code == 200 and "利用停止中" in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    assert ledger.member_balance(wallet.member.id) == 5_000

    post_form(staff_client, f"/counter/merchants/{business.id}/reactivate", {},
              page_url=f"/counter/merchants/{business.id}")
    assert "いせさき青果" in public.get("/stores").get_data(as_text=True)
    assert public.get(f"/stores/{store.id}").status_code == 200
    assert login(till, store.code, factories.PASSWORD, area="terminal", kind=None).status_code == 303
    resp = _till_charge(till, card.number, "700")
    assert resp.status_code == 303, resp.get_data(as_text=True)
    data = {**_open_amount_page(wallet, register), "amount": "500"}
    assert wallet.post(f"/wallet/pay/{register.qr_token}", data=data).status_code == 303
    assert ledger.member_balance(wallet.member.id) == 4_500

    mails = {m.subject: m for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "owner@example.jp"))}
    assert "いせさき青果" in mails[SUBJECT_SUSPENDED].body and "決済" in mails[SUBJECT_SUSPENDED].body
    assert SUBJECT_REACTIVATED in mails
    audit = [(e.action, e.actor_account_id) for e in db.session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert ("business_suspended", staff.id) in audit and ("business_reactivated", staff.id) in audit


def test_a_suspended_store_refuses_the_till_and_leaves_the_list_while_its_sister_store_stays(app, staff_client):
    business = factories.make_business()
    store = factories.make_store(business, name="停止する店")
    sister = factories.make_store(business, name="続ける店")
    page = f"/counter/merchants/{business.id}"
    for s in (store, sister):
        post_form(staff_client, f"/counter/stores/{s.id}/publish", {}, page_url=page)
    till = _browser(app)
    assert login(till, store.code, factories.PASSWORD, area="terminal", kind=None).status_code == 303
    _, card = factories.make_card_member(3_000)

    post_form(staff_client, f"/counter/stores/{store.id}/suspend", {"reason": "調査のため"})
    listing = _browser(app).get("/stores").get_data(as_text=True)
    assert "停止する店" not in listing and "続ける店" in listing
    assert till.get("/terminal/pay").status_code == 302
    assert "利用停止中" in login(_browser(app), store.code, factories.PASSWORD, area="terminal", kind=None).get_data(as_text=True)
    # The business account still logs in: only the store is stopped.
    assert login(_browser(app), business.code, factories.PASSWORD, kind="business").status_code == 303
    wallet = _wallet(app)
    resp = wallet.get(f"/wallet/pay/{store.registers[0].qr_token}")
    assert resp.status_code == 422 and "決済を停止しています" in resp.get_data(as_text=True)
    assert wallet.get(f"/wallet/pay/{sister.registers[0].qr_token}").status_code == 200

    post_form(staff_client, f"/counter/stores/{store.id}/reactivate", {}, page_url=page)
    assert login(till, store.code, factories.PASSWORD, area="terminal", kind=None).status_code == 303
    assert _till_charge(till, card.number, "300").status_code == 303
    actions = [e.action for e in db.session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert "store_suspended" in actions and "store_reactivated" in actions


def test_suspending_asks_its_reason_which_the_mail_and_the_audit_log_keep(app, staff_client):
    business = factories.make_business(email="owner@example.jp")
    store = factories.make_store(business, name="停止する店")
    page = f"/counter/merchants/{business.id}"
    # The merchant page offers the confirmation, not a one-click button.
    html = staff_client.get(page).get_data(as_text=True)
    assert f'href="/counter/stores/{store.id}/suspend"' in html
    confirmation = staff_client.get(f"/counter/stores/{store.id}/suspend").get_data(as_text=True)
    assert "停止する店" in confirmation and "利用停止の理由" in confirmation and store.code in confirmation

    resp = post_form(staff_client, f"/counter/stores/{store.id}/suspend", {"reason": "  "})
    assert resp.status_code == 422 and "利用停止の理由を入力してください。" in resp.get_data(as_text=True)
    assert "利用停止中" not in staff_client.get(page).get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "store_suspended")) == 0

    resp = post_form(staff_client, f"/counter/stores/{store.id}/suspend", {"reason": "売上の架空計上の疑い（調査中）"})
    assert resp.status_code == 303
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "store_suspended"))
    assert entry.details["reason"] == "売上の架空計上の疑い（調査中）"
    audit_page = staff_client.get("/counter/audit?action=store_suspended").get_data(as_text=True)
    assert "理由" in audit_page and "売上の架空計上の疑い（調査中）" in audit_page
    mail = db.session.scalar(select(OutboxMessage).where(OutboxMessage.subject == SUBJECT_SUSPENDED))
    assert "理由：売上の架空計上の疑い（調査中）" in mail.body


def test_a_suspended_stores_till_says_so_and_after_reactivation_is_asked_to_log_in_again(app, staff_client):
    business = factories.make_business(email="owner@example.jp")
    store = factories.make_store(business)
    till = _browser(app)
    assert login(till, store.code, factories.PASSWORD, area="terminal", kind=None, remember=True).status_code == 303
    manager = _browser(app)
    assert login(manager, business.code, factories.PASSWORD, kind="business").status_code == 303
    before = till.get("/terminal/login", follow_redirects=True).get_data(as_text=True)
    assert "利用停止中" not in before

    post_form(staff_client, f"/counter/stores/{store.id}/suspend", {"reason": "調査のため"})
    resp = till.get("/terminal/", follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert resp.request.path == "/terminal/login"
    assert "この店舗は利用停止中です" in html and "0270-27-2708" in html and "ISECA窓口" in html
    assert "調査のため" not in html  # the reason goes to the business, not to whoever stands at the till
    # The business account still works; a fresh browser gets the plain login page.
    assert manager.get("/cms/").status_code == 200
    assert "利用停止中です" not in _browser(app).get("/terminal/login").get_data(as_text=True)

    post_form(staff_client, f"/counter/merchants/{business.id}/suspend", {"reason": "調査のため"})
    html = manager.get("/cms/", follow_redirects=True).get_data(as_text=True)
    assert "この事業者は利用停止中です" in html and "0270-27-2708" in html

    post_form(staff_client, f"/counter/merchants/{business.id}/reactivate", {}, page_url=f"/counter/merchants/{business.id}")
    post_form(staff_client, f"/counter/stores/{store.id}/reactivate", {}, page_url=f"/counter/merchants/{business.id}")
    html = till.get("/terminal/", follow_redirects=True).get_data(as_text=True)
    assert "利用停止中です" not in html and "ログイン" in html
    assert login(till, store.code, factories.PASSWORD, area="terminal", kind=None).status_code == 303
    mails = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.subject == SUBJECT_REACTIVATED)))
    assert len(mails) == 2 and all("もう一度ログインしてください" in m.body for m in mails)


def test_publishing_before_first_login_or_kit_handover_warns_the_clerk(staff_client):
    store = factories.make_store()
    page = f"/counter/merchants/{store.business_id}"
    html = staff_client.get(page).get_data(as_text=True)
    assert "初回ログイン前" in html and "加盟店キット（掲示用QRコード台紙など）をまだ受け渡していません" in html
    post_form(staff_client, f"/counter/stores/{store.id}/publish", {}, page_url=page)
    html = staff_client.get(page).get_data(as_text=True)
    assert "公開しました" in html and "ご注意" in html and "初回ログイン前" in html


def test_publishing_a_store_that_logged_in_and_has_its_kit_gives_no_warning(app, staff_client):
    store = factories.make_store()
    assert login(_browser(app), store.code, factories.PASSWORD, area="terminal", kind=None).status_code == 303
    page = f"/counter/merchants/{store.business_id}"
    post_form(staff_client, f"/counter/merchants/{store.business_id}/kit",
              {"store_id": str(store.id), "handed_on": "2026-11-01", "qr_sheet": "1"}, page_url=page)
    post_form(staff_client, f"/counter/stores/{store.id}/publish", {}, page_url=page)
    html = staff_client.get(page).get_data(as_text=True)
    assert "公開しました" in html and "ご注意" not in html
