"""店舗情報's setting for the till: a confirmation page before 「決済する」 (off by default)."""
from __future__ import annotations

import re

from sqlalchemy import select

from iseca.extensions import db
from iseca.models import AuditLog
from tests.support.client import csrf_from

PROFILE = {"category": "飲食", "area": "伊勢崎地区", "postal_code": "372-0014", "address": "群馬県伊勢崎市今泉町2-410",
           "phone": "0270-24-5111", "hours": "9:00〜18:00"}


def _checkbox(page: str) -> str:
    return re.search(r'<input[^>]*name="confirm_before_charge"[^>]*>', page).group(0)


def _save(client, store, **extra):
    page = client.get(f"/cms/stores/{store.id}").get_data(as_text=True)
    return client.post(f"/cms/stores/{store.id}", data={"csrf_token": csrf_from(page), **PROFILE, **extra})


def test_confirmation_before_charge_is_off_until_the_store_switches_it_on_and_off(store_client):
    store = store_client.store
    page = store_client.get(f"/cms/stores/{store.id}").get_data(as_text=True)
    assert "決済する前に確認画面を表示する" in page
    assert "checked" not in _checkbox(page)
    assert store.confirm_before_charge is False
    assert _save(store_client, store, confirm_before_charge="y").status_code == 303
    db.session.refresh(store)
    assert store.confirm_before_charge is True
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "store_profile_updated").order_by(AuditLog.id.desc()))
    assert "confirm_before_charge" in entry.details["fields"]
    assert "checked" in _checkbox(store_client.get(f"/cms/stores/{store.id}").get_data(as_text=True))
    assert _save(store_client, store).status_code == 303  # unticked: off again
    db.session.refresh(store)
    assert store.confirm_before_charge is False
