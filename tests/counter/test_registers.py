"""Registers and store QR codes at the counter (ISECA窓口): a store's
レジ一覧 with every action, and many stores' 台紙 in one PDF for the kit
hand-over."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from iseca.extensions import db
from iseca.merchants import qr
from iseca.models import AuditLog, Register, utcnow
from tests import factories
from tests.qr_helpers import decode_qr, pdf_page_images, pdf_pages, pdf_text
from tests.support.client import csrf_from, login, post_form


@pytest.fixture
def staff_client(client):
    staff = factories.make_staff()
    resp = login(client, "staff1", factories.PASSWORD, area="counter", kind=None)
    assert resp.status_code == 303, resp.get_data(as_text=True)
    client.staff = staff
    return client


def _html(resp) -> str:
    return resp.get_data(as_text=True)


def _reload(register: Register) -> Register:
    db.session.expire_all()
    return db.session.get(Register, register.id)


def test_counter_menu_leads_to_store_qr_codes(staff_client):
    assert "店舗QRコード" in _html(staff_client.get("/counter/"))
    factories.make_store(name="いせさき青果店", registers=2)
    html = _html(staff_client.get("/counter/registers"))
    assert "いせさき青果店" in html and "選んだ店舗の台紙をPDFで印刷" in html


def test_store_search_by_name_code_and_unpublished(staff_client):
    a = factories.make_store(name="赤堀うどん")
    b = factories.make_store(name="境の本屋")
    b.published_at = utcnow()
    db.session.commit()
    html = _html(staff_client.get("/counter/registers?q=うどん"))
    assert "赤堀うどん" in html and "境の本屋" not in html
    html = _html(staff_client.get(f"/counter/registers?q={b.code.lower()}"))
    assert "境の本屋" in html and "赤堀うどん" not in html
    html = _html(staff_client.get("/counter/registers?unpublished=1"))
    assert "赤堀うどん" in html and "境の本屋" not in html
    # LIKE wildcards typed by staff are taken literally.
    assert "赤堀うどん" not in _html(staff_client.get("/counter/registers?q=%25"))
    assert a.code in _html(staff_client.get("/counter/registers"))


def test_staff_manage_a_stores_registers(staff_client):
    store = factories.make_store(name="カフェひまわり")
    page = _html(staff_client.get(f"/counter/stores/{store.id}/registers"))
    assert "レジ一覧（カフェひまわり）" in page and "QRコード表示" in page

    resp = post_form(staff_client, f"/counter/stores/{store.id}/registers", {f"store{store.id}-name": "テラス席レジ"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/counter/stores/{store.id}/registers")
    terrace = db.session.scalar(select(Register).where(Register.name == "テラス席レジ"))
    assert terrace.store_id == store.id

    resp = post_form(staff_client, f"/counter/registers/{terrace.id}/rename", {"name": "テラス"})
    assert resp.status_code == 303 and _reload(terrace).name == "テラス"

    old_token = terrace.qr_token
    confirm = _html(staff_client.get(f"/counter/registers/{terrace.id}/reissue"))
    import re

    fingerprint = re.search(r'name="fingerprint" type="hidden" value="([^"]+)"', confirm).group(1)
    resp = post_form(staff_client, f"/counter/registers/{terrace.id}/reissue", {"fingerprint": fingerprint},
                     page_url=f"/counter/registers/{terrace.id}/reissue")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/counter/registers/{terrace.id}/qr")
    assert _reload(terrace).qr_token != old_token
    assert staff_client.get(f"/wallet/pay/{old_token}").status_code == 410

    resp = post_form(staff_client, f"/counter/registers/{terrace.id}/retire", {})
    assert resp.status_code == 303 and _reload(terrace).retired_at is not None

    actions = [e.action for e in db.session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert actions[-4:] == ["register.create", "register.rename", "register.qr_reissue", "register.retire"]
    staff_entries = db.session.scalars(select(AuditLog).where(AuditLog.action.like("register.%"))).all()
    assert {e.actor_label for e in staff_entries} == {"staff:staff1"}


def test_staff_qr_outputs_read_back(staff_client):
    store = factories.make_store(name="ひまわり書店")
    register = store.registers[0]
    html = _html(staff_client.get(f"/counter/registers/{register.id}/qr"))
    assert "画像形式でダウンロード" in html and "印刷用ページを表示" in html
    png = staff_client.get(f"/counter/registers/{register.id}/qr.png")
    assert decode_qr(png.data) == [qr.register_pay_url(register)]
    sheet = _html(staff_client.get(f"/counter/registers/{register.id}/sheet"))
    assert "ひまわり書店" in sheet and "/counter/registers/" in sheet
    pdf = staff_client.get(f"/counter/registers/{register.id}/sheet.pdf").data
    assert "ひまわり書店" in pdf_text(pdf)


def test_bulk_sheets_one_pdf_one_page_per_register(staff_client):
    a = factories.make_store(name="赤堀うどん", registers=2)
    b = factories.make_store(name="境の本屋")
    c = factories.make_store(name="印刷しない店")
    resp = staff_client.get(f"/counter/registers/sheets.pdf?store_id={a.id}&store_id={b.id}")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert "ISECA_QR_sheets_" in resp.headers["Content-Disposition"]
    pdf = resp.data
    assert pdf_pages(pdf) == 3
    text = pdf_text(pdf)
    assert "赤堀うどん" in text and "境の本屋" in text and "印刷しない店" not in text
    decoded = [decode_qr(img) for img in pdf_page_images(pdf, dpi=80)]
    assert decoded == [[qr.register_pay_url(r)] for r in (*a.registers, *b.registers)]
    assert c.registers[0].qr_token not in str(decoded)


def test_bulk_sheets_without_a_choice_says_so(staff_client):
    factories.make_store()
    resp = staff_client.get("/counter/registers/sheets.pdf?q=abc&store_id=x")
    assert resp.status_code == 303 and "/counter/registers?q=abc" in resp.headers["Location"]
    assert "台紙を印刷する店舗を選んでください" in _html(staff_client.get(resp.headers["Location"]))


def test_unknown_store_or_register_is_not_found(staff_client):
    assert staff_client.get("/counter/stores/999999/registers").status_code == 404
    assert staff_client.get("/counter/registers/999999/qr").status_code == 404
    token = csrf_from(_html(staff_client.get("/counter/registers")))
    assert staff_client.post("/counter/stores/999999/registers", data={"csrf_token": token}).status_code == 404
