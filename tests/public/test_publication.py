"""「使えるお店」: only published stores, searchable by name, category and area, paginated."""
from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from iseca.extensions import db
from iseca.models import AuditLog, MerchantStatus, StoreImage, utcnow
from tests import factories
from tests.support.client import post_form


def published(**fields):
    store = factories.make_store(**fields)
    store.published_at = utcnow()
    db.session.commit()
    return store


def test_staff_publish_and_unpublish_from_the_merchant_page(staff_client, app):
    store = factories.make_store(name="かみさと茶房", category="飲食", area="東地区")
    url = f"/counter/merchants/{store.business_id}"
    assert "「使えるお店」に公開する" in staff_client.get(url).get_data(as_text=True)
    resp = post_form(staff_client, f"/counter/stores/{store.id}/publish", {}, page_url=url)
    assert resp.status_code == 303
    db.session.refresh(store)
    assert store.is_published
    public = app.test_client()
    assert "かみさと茶房" in public.get("/stores").get_data(as_text=True)
    # Publishing twice changes nothing.
    first = store.published_at
    post_form(staff_client, f"/counter/stores/{store.id}/publish", {}, page_url=url)
    db.session.refresh(store)
    assert store.published_at == first
    post_form(staff_client, f"/counter/stores/{store.id}/unpublish", {}, page_url=url)
    assert "かみさと茶房" not in public.get("/stores").get_data(as_text=True)
    actions = [e.action for e in db.session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert actions.count("store_published") == 1 and actions.count("store_unpublished") == 1


def test_unpublished_and_suspended_stores_are_invisible(client):
    published(name="公開中の店")
    factories.make_store(name="準備中の店")
    suspended = published(name="停止中の店")
    suspended.status = MerchantStatus.SUSPENDED
    db.session.commit()
    html = client.get("/stores").get_data(as_text=True)
    assert "公開中の店" in html and "準備中の店" not in html and "停止中の店" not in html
    assert client.get(f"/stores/{suspended.id}").status_code == 404


def test_search_by_name_kana_category_and_area(client):
    published(name="いせさき青果店", name_kana="イセサキセイカテン", category="食料品", area="伊勢崎地区")
    published(name="カフェひまわり", name_kana="カフェヒマワリ", category="飲食", area="赤堀地区")
    published(name="ひまわり書店", name_kana="ヒマワリショテン", category="小売", area="境地区")

    def names(query):
        html = client.get(f"/stores?{query}").get_data(as_text=True)
        return {n for n in ("いせさき青果店", "カフェひまわり", "ひまわり書店") if n in html}

    assert names("q=ひまわり") == {"カフェひまわり", "ひまわり書店"}
    assert names("q=せいか") == {"いせさき青果店"}  # hiragana finds the katakana reading
    assert names("category=飲食") == {"カフェひまわり"}
    assert names("area=境地区") == {"ひまわり書店"}
    assert names("q=ひまわり&area=赤堀地区") == {"カフェひまわり"}
    assert names("category=不明な業種") == {"いせさき青果店", "カフェひまわり", "ひまわり書店"}
    assert "条件に合うお店が見つかりませんでした" in client.get("/stores?q=存在しない店").get_data(as_text=True)


def test_search_with_percent_sign_is_literal_text(client):
    published(name="いせさき青果店")
    assert "いせさき青果店" not in client.get("/stores?q=%25%25ない").get_data(as_text=True)


def test_list_is_paginated(client):
    for i in range(23):
        published(name=f"店{i:02d}", name_kana=f"ミセ{i:02d}")
    first = client.get("/stores").get_data(as_text=True)
    assert "23件" in first and "1 / 2" in first and "次へ" in first
    second = client.get("/stores?page=2").get_data(as_text=True)
    assert second.count('class="store-card"') == 3 and "前へ" in second


def test_htmx_search_returns_only_the_results(client):
    published(name="カフェひまわり", category="飲食")
    fragment = client.get("/stores?q=ひまわり", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "カフェひまわり" in fragment and "<html" not in fragment and "<form" not in fragment
    boosted = client.get("/stores?q=ひまわり", headers={"HX-Request": "true", "HX-Boosted": "true"}).get_data(as_text=True)
    assert "<html" in boosted
    restored = client.get("/stores?q=ひまわり", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restored.get_data(as_text=True)


def test_store_page_shows_images_hours_and_address(client):
    store = published(name="カフェひまわり", hours="8:00〜20:00", address="群馬県伊勢崎市西久保町2-10", phone="0270-00-0021")
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(out, format="JPEG")
    db.session.add(StoreImage(store_id=store.id, position=0, content_type="image/jpeg", width=40, height=30,
                              data=out.getvalue(), caption="外観"))
    db.session.commit()
    image = db.session.scalar(select(StoreImage))
    html = client.get(f"/stores/{store.id}").get_data(as_text=True)
    assert "8:00〜20:00" in html and "群馬県伊勢崎市西久保町2-10" in html and 'href="tel:0270000021"' in html
    assert f"/stores/{store.id}/images/{image.id}" in html and "外観" in html
    listing = client.get("/stores").get_data(as_text=True)
    assert f"/stores/{store.id}/images/{image.id}" in listing


def test_image_of_another_store_is_not_served_under_this_store(client):
    a = published(name="A店")
    b = published(name="B店")
    db.session.add(StoreImage(store_id=b.id, position=0, content_type="image/jpeg", width=1, height=1, data=b"x"))
    db.session.commit()
    image = db.session.scalar(select(StoreImage))
    assert client.get(f"/stores/{a.id}/images/{image.id}").status_code == 404
    assert client.get(f"/stores/{b.id}/images/{image.id}").status_code == 200


def test_public_pages_link_to_the_list_and_the_application(client):
    html = client.get("/").get_data(as_text=True)
    assert 'href="/stores"' in html and 'href="/apply"' in html
