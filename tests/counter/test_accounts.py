"""Counter staff reset a merchant's password and suspend or reactivate an account."""
from __future__ import annotations

import re

from sqlalchemy import select

from iseca.accounts import SUBJECT_PASSWORD_RESET
from iseca.extensions import db
from iseca.models import Account, AccountKind, AuditLog, MerchantStatus
from tests import factories
from tests.support.client import basic_auth_header, login, post_form


def test_password_reset_mails_a_new_initial_password_and_forces_a_change(app, staff_client, smtp):
    business = factories.make_business(email="owner@example.jp")
    store = factories.make_store(business)
    account = factories.account_of(AccountKind.STORE, store.code)
    till = app.test_client()
    assert login(till, store.code, factories.PASSWORD, area="terminal", kind=None).status_code == 303
    assert till.get("/terminal/").status_code == 200

    resp = post_form(staff_client, f"/counter/accounts/{account.id}/reset-password", {},
                     page_url=f"/counter/merchants/{business.id}")
    assert resp.status_code == 303
    [mail] = smtp.with_subject(SUBJECT_PASSWORD_RESET)
    assert mail["To"] == "owner@example.jp"
    password = re.search(r"初期パスワード：(\S+)", smtp.body(mail)).group(1)
    # The till that was logged in is logged out; the old password no longer works.
    assert till.get("/terminal/").status_code == 302
    cms = app.test_client()
    cms.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
    assert login(cms, store.code, factories.PASSWORD).status_code == 200
    resp = login(cms, store.code, password)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/cms/password")
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "password_reset"))
    assert entry.actor_label == "staff:staff1" and password not in str(entry.details)


def test_suspended_account_is_logged_out_and_cannot_log_in_until_reactivated(app, staff_client):
    store = factories.make_store()
    account = factories.account_of(AccountKind.STORE, store.code)
    till = app.test_client()
    login(till, store.code, factories.PASSWORD, area="terminal", kind=None)
    page = f"/counter/merchants/{store.business_id}"
    post_form(staff_client, f"/counter/accounts/{account.id}/suspend", {}, page_url=page)
    db.session.refresh(account)
    assert account.status == MerchantStatus.SUSPENDED
    assert till.get("/terminal/").status_code == 302
    resp = login(app.test_client(), store.code, factories.PASSWORD, area="terminal", kind=None)
    assert "利用停止中" in resp.get_data(as_text=True)
    assert "利用停止中" in staff_client.get(page).get_data(as_text=True)

    post_form(staff_client, f"/counter/accounts/{account.id}/reactivate", {}, page_url=page)
    assert login(app.test_client(), store.code, factories.PASSWORD, area="terminal", kind=None).status_code == 303
    actions = [e.action for e in db.session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert "account_suspended" in actions and "account_reactivated" in actions


def test_staff_accounts_cannot_be_reset_or_suspended_from_merchant_pages(staff_client):
    store = factories.make_store()
    other_staff = factories.make_staff("staff2")
    for action in ("reset-password", "suspend"):
        resp = post_form(staff_client, f"/counter/accounts/{other_staff.id}/{action}", {},
                         page_url=f"/counter/merchants/{store.business_id}")
        assert resp.status_code == 404
    db.session.refresh(other_staff)
    assert other_staff.status == MerchantStatus.ACTIVE
    assert db.session.scalar(select(Account).where(Account.login == "staff2")).must_change_password is False
