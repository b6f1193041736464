"""Access cases beyond the url_map walk (tests/test_route_access.py): an
image id of another store under one's own store, the bank account page,
suspended stores, unpublished stores on the public site."""
from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from iseca import outbox
from iseca.extensions import db
from iseca.models import Account, AccountKind, Business, MerchantStatus, Store, StoreImage
from tests import factories
from tests.support.client import basic_auth_header, csrf_from, login

PROFILE = {"category": "飲食", "area": "境地区", "postal_code": "370-0103", "address": "群馬県伊勢崎市境1-1",
           "phone": "0270-00-9999", "hours": "改ざん", "description": "改ざん", "direction": "up"}


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def world(app, client):
    """Business A with stores A1 and A2, business B with store B1; each store has an image;
    an application and a mail in the outbox."""
    a = factories.make_business(name="事業者A")
    a1, a2 = factories.make_store(a, name="A1店"), factories.make_store(a, name="A2店")
    b = factories.make_business(name="事業者B", bank_code="0001", branch_code="001", account_number="1111111")
    b1 = factories.make_store(b, name="B1店")
    for s in (a1, a2, b1):
        db.session.add(StoreImage(store_id=s.id, position=0, content_type="image/png", width=8, height=8, data=_png()))
    from iseca.merchants import onboarding

    onboarding.submit_application({
        "business": {"name": "申込者", "email": "x@example.jp"}, "bank": {}, "stores": [{"name": "申込店"}],
        "eligibility": [], "agreed": True,
    })
    outbox.queue("y@example.jp", "件名", "本文")
    db.session.commit()
    images = {s.code: db.session.scalar(select(StoreImage).where(StoreImage.store_id == s.id)) for s in (a1, a2, b1)}
    return {"a": a, "a1": a1, "a2": a2, "b": b, "b1": b1, "images": images}


def fill(url: str, world, store: Store, image_store: Store | None = None) -> str:
    from iseca.models import MerchantApplication, OutboxMessage

    image_store = image_store or store
    return url.format(
        store=store.id, business=store.business_id, image=world["images"][image_store.code].id,
        account=factories.account_of(AccountKind.STORE, store.code).id,
        application=db.session.scalar(select(MerchantApplication.id)),
        message=db.session.scalar(select(OutboxMessage.id)),
    )


def request(client, method, url, data=None):
    if method == "GET":
        return client.get(url)
    token = csrf_from(client.get("/apply").get_data(as_text=True))
    payload = {"csrf_token": token, **(data or {})}
    if url.endswith("/images"):
        payload["image"] = (io.BytesIO(_png()), "x.png")
        return client.post(url, data=payload, content_type="multipart/form-data")
    return client.post(url, data=payload)


def snapshot():
    """What an unauthorised request must not change."""
    db.session.expire_all()
    stores = [(s.id, s.hours, s.published_at, s.description) for s in db.session.scalars(select(Store).order_by(Store.id))]
    images = [(i.id, i.position) for i in db.session.scalars(select(StoreImage).order_by(StoreImage.id))]
    accounts = [(a.id, a.status, a.password_hash) for a in db.session.scalars(select(Account).order_by(Account.id))]
    banks = [(b.id, b.bank_code, b.account_number) for b in db.session.scalars(select(Business).order_by(Business.id))]
    return stores, images, accounts, banks


def store_session(app, store):
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
    assert login(c, store.code, factories.PASSWORD).status_code == 303
    return c


def business_session(app, business):
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
    assert login(c, business.code, factories.PASSWORD, kind="business").status_code == 303
    return c


def image_routes(app) -> list[tuple[str, str]]:
    """(method, url) of every management-site route of one store's image, from the app itself."""
    return [
        (method, rule.rule.replace("<int:store_id>", "{store}").replace("<int:image_id>", "{image}"))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/cms/") and {"store_id", "image_id"} <= set(rule.arguments)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]


def test_store_cannot_reach_another_stores_image_through_its_own_store(app, world):
    c = store_session(app, world["a1"])
    routes = image_routes(app)
    assert len(routes) == 3  # view, delete, move
    for method, url in routes:
        before = snapshot()
        resp = request(c, method, fill(url, world, world["a1"], image_store=world["b1"]), PROFILE)
        assert resp.status_code == 404, (method, url)
        assert snapshot() == before


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_store_account_cannot_see_or_edit_the_business_bank_account(app, world, method):
    c = store_session(app, world["a1"])
    before = snapshot()
    resp = request(c, method, "/cms/business", {"bank_code": "0005", "branch_code": "001", "account_type": "1",
                                                 "account_number": "9999999", "account_holder_kana": "ﾊｯｶｰ"})
    assert resp.status_code == 404
    assert "1111111" not in resp.get_data(as_text=True)
    assert snapshot() == before


def test_business_page_shows_only_its_own_bank_account(app, world):
    html = business_session(app, world["a"]).get("/cms/business").get_data(as_text=True)
    assert "事業者A" in html and "1111111" not in html and "B1店" not in html


def test_suspended_store_cannot_use_its_routes(app, world):
    c = store_session(app, world["a1"])
    account = factories.account_of(AccountKind.STORE, world["a1"].code)
    account.status = MerchantStatus.SUSPENDED
    db.session.commit()
    assert c.get(f"/cms/stores/{world['a1'].id}").status_code == 302


@pytest.mark.parametrize("url", ["/stores/{store}", "/stores/{store}/images/{image}"])
def test_public_store_routes_hide_unpublished_stores(app, world, url):
    resp = app.test_client().get(fill(url, world, world["a1"]))
    assert resp.status_code == 404
