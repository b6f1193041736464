"""The command-line tools an operator uses."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from iseca.extensions import db
from iseca.models import Account, AccountKind, Business, Payment, SettlementPeriod
from iseca.money import ledger
from tests.support.client import login


def test_create_staff_then_log_into_counter_with_forced_change(runner, client):
    result = runner.invoke(args=["create-staff", "--login", "suzuki", "--password", "first-time-pass-1"])
    assert result.exit_code == 0, result.output
    assert "suzuki" in result.output
    resp = login(client, "suzuki", "first-time-pass-1", area="counter", kind=None)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/counter/password")
    assert client.get("/counter/").headers["Location"].endswith("/counter/password?next=/counter/")


def test_create_staff_twice_is_refused(runner):
    runner.invoke(args=["create-staff", "--login", "suzuki", "--password", "first-time-pass-1"])
    result = runner.invoke(args=["create-staff", "--login", "suzuki", "--password", "other-pass-2222"])
    assert result.exit_code != 0 and "already exists" in result.output
    assert db.session.scalar(select(func.count()).select_from(Account).where(Account.login == "suzuki")) == 1


def test_demo_loads_once_and_is_safe_to_run_twice(runner):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    counts = (db.session.scalar(select(func.count()).select_from(Business)),
              db.session.scalar(select(func.count()).select_from(Payment)))
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0 and "already loaded" in second.output
    assert (db.session.scalar(select(func.count()).select_from(Business)),
            db.session.scalar(select(func.count()).select_from(Payment))) == counts
    assert counts[0] == 2 and counts[1] > 20
    # Payments fall in several settlement periods, and the books balance.
    periods = db.session.scalar(select(func.count(func.distinct(Payment.period_id))))
    assert periods >= 3
    assert db.session.scalar(select(func.count()).select_from(SettlementPeriod)) >= 3
    assert ledger.verify_books() == []


def test_demo_json_lists_every_kind_of_login(runner):
    result = runner.invoke(args=["demo", "--json"])
    items = json.loads(result.output)
    kinds = {i["kind"] for i in items}
    assert kinds == {"staff", "business", "store", "member", "card"}
    assert all(set(i) == {"kind", "code", "password", "name"} for i in items)
    assert sum(1 for i in items if i["kind"] == "business") == 2
    assert sum(1 for i in items if i["kind"] == "store") >= 3


def test_demo_logins_work_with_forced_change(runner, client):
    items = json.loads(runner.invoke(args=["demo", "--json"]).output)
    store = next(i for i in items if i["kind"] == "store")
    resp = login(client, store["code"], store["password"])
    assert resp.headers["Location"].endswith("/cms/password")


def test_demo_password_option_sets_every_password_without_forced_change(runner, app):
    runner.invoke(args=["demo"])
    items = json.loads(runner.invoke(args=["demo", "--password", "demo passphrase 2026", "--json"]).output)
    assert {i["password"] for i in items if i["kind"] != "card"} == {"demo passphrase 2026"}
    for item in items:
        if item["kind"] in ("store", "business"):
            client = app.test_client()
            from tests.support.client import basic_auth_header

            client.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
            resp = login(client, item["code"], "demo passphrase 2026", kind=item["kind"])
            assert resp.headers["Location"].endswith("/cms/"), item
    staff = next(i for i in items if i["kind"] == "staff")
    resp = login(app.test_client(), staff["code"], "demo passphrase 2026", area="counter", kind=None)
    assert resp.headers["Location"].endswith("/counter/")
    assert db.session.scalar(select(func.count()).select_from(Account).where(Account.must_change_password.is_(True))) == 0
    assert {a.kind for a in db.session.scalars(select(Account))} >= {AccountKind.STAFF, AccountKind.MEMBER}
