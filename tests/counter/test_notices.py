"""お知らせ: staff publish a maintenance notice; the chosen sites show it at the top while it runs."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from iseca.extensions import db
from iseca.models import AuditLog, Notice
from iseca.timeutil import today_jst
from tests import factories
from tests.support.client import basic_auth_header, login, post_form


def _browser(app):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
    return client


def test_a_notice_for_merchants_shows_on_the_terminal_and_management_site_until_it_ends(app, staff_client):
    store = factories.make_store()
    today = today_jst().isoformat()
    resp = post_form(staff_client, "/counter/notices", {
        "title": "12月1日 2:00〜5:00 システムメンテナンス", "body": "この間は決済できません。<script>alert(1)</script>",
        "audience": "merchants", "starts_on": today, "ends_on": today})
    assert resp.status_code == 303
    till = _browser(app)
    login(till, store.code, factories.PASSWORD, area="terminal", kind=None)
    html = till.get("/terminal/").get_data(as_text=True)
    assert "システムメンテナンス" in html and "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "システムメンテナンス" in _browser(app).get("/cms/login").get_data(as_text=True)
    # Not for customers.
    assert "システムメンテナンス" not in _browser(app).get("/stores").get_data(as_text=True)
    notice = db.session.scalar(select(Notice))
    post_form(staff_client, f"/counter/notices/{notice.id}/end", {}, page_url="/counter/notices")
    assert "システムメンテナンス" not in till.get("/terminal/").get_data(as_text=True)
    actions = [e.action for e in db.session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert "notice_published" in actions and "notice_ended" in actions


def test_a_future_notice_waits_and_a_wrong_period_is_refused_with_the_typed_values(app, staff_client):
    tomorrow = (today_jst() + dt.timedelta(days=1)).isoformat()
    post_form(staff_client, "/counter/notices", {"title": "来週のお知らせ", "audience": "everyone",
                                                 "starts_on": tomorrow, "ends_on": tomorrow})
    assert "来週のお知らせ" not in _browser(app).get("/stores").get_data(as_text=True)
    resp = post_form(staff_client, "/counter/notices", {"title": "逆の期間", "audience": "everyone",
                                                        "starts_on": tomorrow, "ends_on": today_jst().isoformat()})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "終了日は開始日と同じか" in html and 'value="逆の期間"' in html
    assert db.session.scalar(select(Notice).where(Notice.title == "逆の期間")) is None
