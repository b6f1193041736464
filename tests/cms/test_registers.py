"""レジ一覧 and 「QRコード表示」 in the management site, as a store or a
business uses them; the wallet address a register code opens."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from iseca.extensions import db
from iseca.merchants import qr
from iseca.models import AuditLog, Register
from tests import factories
from tests.qr_helpers import decode_qr, pdf_page_images, pdf_text
from tests.support.client import csrf_from, login, post_form


def _html(resp) -> str:
    return resp.get_data(as_text=True)


def _reload(register: Register) -> Register:
    db.session.expire_all()
    return db.session.get(Register, register.id)


# --- レジ一覧 -------------------------------------------------------------------

def test_register_list_shows_each_register_with_qr_button(store_client):
    store = store_client.store
    html = _html(store_client.get("/cms/registers"))
    assert "<h1>レジ一覧</h1>" in html
    assert store.name in html and "レジ1" in html
    assert "QRコード表示" in html
    assert f"/cms/registers/{store.registers[0].id}/qr" in html


def test_business_sees_registers_of_all_its_stores(client):
    business = factories.make_business()
    a = factories.make_store(business, name="本店")
    b = factories.make_store(business, name="駅前店", registers=2)
    other = factories.make_store(name="よその店")
    assert login(client, business.code, factories.PASSWORD, kind="business").status_code == 303
    html = _html(client.get("/cms/registers"))
    assert "本店" in html and "駅前店" in html and "よその店" not in html
    for register in [*a.registers, *b.registers]:
        assert f"/cms/registers/{register.id}/qr" in html
    assert f"/cms/registers/{other.registers[0].id}/qr" not in html


def test_add_register_appears_in_the_list(store_client):
    store = store_client.store
    resp = post_form(store_client, f"/cms/stores/{store.id}/registers",
                     {f"store{store.id}-name": "テラス席レジ"}, page_url="/cms/registers")
    assert resp.status_code == 303
    html = _html(store_client.get(resp.headers["Location"]))
    assert "レジ「テラス席レジ」を追加しました" in html
    assert "テラス席レジ" in html
    new = db.session.scalar(select(Register).where(Register.name == "テラス席レジ"))
    assert new.store_id == store.id
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "register.create")).actor_account_id is not None


@pytest.mark.parametrize("typed,message", [
    ("", "レジ名を入力してください。"),
    ("レジ1", "「レジ1」というレジはすでにあります。"),
    ("あ" * 31, "レジ名は30文字以内で入力してください。"),
])
def test_bad_register_name_is_shown_next_to_the_field_and_kept(store_client, typed, message):
    store = store_client.store
    resp = post_form(store_client, f"/cms/stores/{store.id}/registers",
                     {f"store{store.id}-name": typed}, page_url="/cms/registers")
    html = _html(resp)
    assert resp.status_code == 200
    assert re.search(r'<ul class="errors" id="store\d+-name-error"><li>' + re.escape(message), html), html
    if typed:
        assert f'value="{typed}"' in html
    assert len(db.session.scalars(select(Register).where(Register.store_id == store.id)).all()) == 1


def test_rename_register(store_client):
    register = store_client.store.registers[0]
    page = store_client.get(f"/cms/registers/{register.id}/rename")
    assert 'value="レジ1"' in _html(page)
    resp = post_form(store_client, f"/cms/registers/{register.id}/rename", {"name": "1番レジ"})
    assert resp.status_code == 303
    assert _reload(register).name == "1番レジ"
    assert "レジ名を「1番レジ」に変更しました" in _html(store_client.get(resp.headers["Location"]))


def test_rename_to_blank_keeps_the_old_name(store_client):
    register = store_client.store.registers[0]
    resp = post_form(store_client, f"/cms/registers/{register.id}/rename", {"name": " "})
    assert resp.status_code == 200 and "レジ名を入力してください。" in _html(resp)
    assert _reload(register).name == "レジ1"


def test_retire_register_after_confirmation(client):
    store = factories.make_store(registers=2)
    login(client, store.code, factories.PASSWORD)
    register = store.registers[1]
    page = _html(client.get(f"/cms/registers/{register.id}/retire"))
    assert "を廃止しますか" in page and "決済できなくなります" in page
    assert _reload(register).retired_at is None  # the GET changes nothing
    resp = post_form(client, f"/cms/registers/{register.id}/retire", {})
    assert resp.status_code == 303
    assert _reload(register).retired_at is not None
    html = _html(client.get("/cms/registers"))
    assert "廃止（" in html and f"/cms/registers/{register.id}/qr" not in html
    assert client.get(f"/wallet/pay/{register.qr_token}").status_code == 410


def test_last_register_cannot_be_retired(store_client):
    register = store_client.store.registers[0]
    resp = post_form(store_client, f"/cms/registers/{register.id}/retire", {})
    assert resp.status_code == 200
    assert "利用中のレジが1台だけのため廃止できません" in _html(resp)
    assert _reload(register).retired_at is None


# --- 「QRコード表示」 and its outputs --------------------------------------------

def test_qr_page_shows_code_names_and_the_guides_buttons(store_client):
    store = store_client.store
    register = store.registers[0]
    html = _html(store_client.get(f"/cms/registers/{register.id}/qr"))
    assert store.name in html and "レジ：レジ1" in html
    assert "<svg" in html and 'class="qr-code"' in html
    for label in ("画像形式でダウンロード", "印刷用ページを表示", "QRコード再発行"):
        assert label in html
    assert qr.register_pay_url(register) in html


def test_png_download_decodes_to_the_register_address(store_client):
    store = store_client.store
    register = store.registers[0]
    resp = store_client.get(f"/cms/registers/{register.id}/qr.png")
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert f"ISECA_QR_{store.code}_R{register.id:04d}" in disposition
    assert "%E3%83%AC%E3%82%B8" in disposition  # レジ, UTF-8 in filename*
    assert decode_qr(resp.data) == [f"https://iseca.example.jp/wallet/pay/{register.qr_token}"]


def test_print_page_is_an_a4_sheet_with_names_and_instructions(store_client):
    store = store_client.store
    register = store.registers[0]
    resp = store_client.get(f"/cms/registers/{register.id}/sheet")
    html = _html(resp)
    assert resp.status_code == 200
    assert "qr-sheet.css" in html and "<svg" in html
    for text in (store.name, "レジ：レジ1", "ISECAが使えます", "ISECAウォレットかスマートフォンのカメラで読み取り、金額を入力してください", store.code):
        assert text in html
    css = store_client.get("/static/css/qr-sheet.css").get_data(as_text=True)
    assert "size: A4" in css and "@media print" in css


def test_sheet_pdf_has_names_and_a_readable_code(store_client):
    store = store_client.store
    register = store.registers[0]
    resp = store_client.get(f"/cms/registers/{register.id}/sheet.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert ".pdf" in resp.headers["Content-Disposition"]
    assert store.name in pdf_text(resp.data)
    [page] = pdf_page_images(resp.data)
    assert decode_qr(page) == [qr.register_pay_url(register)]


# --- QRコード再発行 ----------------------------------------------------------------

def test_reissue_refuses_old_code_and_new_one_opens_the_store(store_client):
    store = store_client.store
    register = store.registers[0]
    old_png = store_client.get(f"/cms/registers/{register.id}/qr.png").data
    [old_url] = decode_qr(old_png)

    confirm = store_client.get(f"/cms/registers/{register.id}/reissue")
    assert "今のQRコード（印刷済みの台紙・ダウンロードした画像を含む）は使えなくなります" in _html(confirm)
    assert _reload(register).qr_token in old_url  # nothing changed yet
    resp = post_form(store_client, f"/cms/registers/{register.id}/reissue", {
        "fingerprint": re.search(r'name="fingerprint" type="hidden" value="([^"]+)"', _html(confirm)).group(1),
    })
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/cms/registers/{register.id}/qr")
    assert "QRコードを再発行しました" in _html(store_client.get(resp.headers["Location"]))

    [new_url] = decode_qr(store_client.get(f"/cms/registers/{register.id}/qr.png").data)
    assert new_url != old_url
    customer = store_client.application.test_client()
    refused = customer.get(old_url.replace("https://iseca.example.jp", ""))
    assert refused.status_code == 410
    assert "このQRコードは現在使えません（再発行されました）" in _html(refused)
    assert "決済する" not in _html(refused)
    works = customer.get(new_url.replace("https://iseca.example.jp", ""))
    assert works.status_code == 200 and store.name in _html(works) and "レジ1" in _html(works)


def test_sending_the_reissue_confirmation_twice_reissues_once(store_client):
    register = store_client.store.registers[0]
    page = _html(store_client.get(f"/cms/registers/{register.id}/reissue"))
    fingerprint = re.search(r'name="fingerprint" type="hidden" value="([^"]+)"', page).group(1)
    data = {"csrf_token": csrf_from(page), "fingerprint": fingerprint}
    store_client.post(f"/cms/registers/{register.id}/reissue", data=data)
    token_after_first = _reload(register).qr_token
    second = store_client.post(f"/cms/registers/{register.id}/reissue", data=data)
    assert second.status_code == 303
    assert _reload(register).qr_token == token_after_first
    assert "すでに再発行されています" in _html(store_client.get(second.headers["Location"]))


def test_reissue_without_csrf_token_changes_nothing(store_client):
    register = store_client.store.registers[0]
    token = register.qr_token
    resp = store_client.post(f"/cms/registers/{register.id}/reissue", data={})
    assert resp.status_code == 400
    assert _reload(register).qr_token == token


# --- the wallet address of a code -----------------------------------------------

def test_valid_code_opens_store_and_register_without_login(app):
    store = factories.make_store(name="カフェひまわり")
    register = store.registers[0]
    resp = app.test_client().get(f"/wallet/pay/{register.qr_token}")
    assert resp.status_code == 200
    html = _html(resp)
    assert "カフェひまわり" in html and "レジ：レジ1" in html


def test_unknown_code_is_not_found(app):
    factories.make_store()
    resp = app.test_client().get("/wallet/pay/not-a-real-token-at-all")
    assert resp.status_code == 404
    assert "QRコードが見つかりません" in _html(resp)


def test_retired_register_code_says_it_cannot_be_used(app):
    store = factories.make_store(registers=2)
    from iseca.merchants.registers import retire_register

    retire_register(store.registers[1])
    db.session.commit()
    resp = app.test_client().get(f"/wallet/pay/{store.registers[1].qr_token}")
    assert resp.status_code == 410
    assert "このQRコードは現在使えません" in _html(resp)


# --- who may do what -------------------------------------------------------------

# Who may reach which register is the url_map walk's (tests/test_route_access.py);
# here, what every page of one register answers for a register that is not there.
def register_routes(app) -> list[tuple[str, str]]:
    """(method, url) of every page of one register in the management site, from the app itself."""
    return [
        (method.lower(), rule.rule.replace("<int:register_id>", "{id}"))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("cms.register.") and "register_id" in rule.arguments
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]


def _request(client, method: str, url: str):
    if method == "get":
        return client.get(url)
    token = csrf_from(_html(client.get("/cms/registers")))
    return client.post(url, data={"csrf_token": token, "name": "乗っ取り", "fingerprint": ""})


def test_missing_register_is_not_found(app, store_client):
    routes = register_routes(app)
    assert len(routes) == 10
    for method, route in routes:
        assert _request(store_client, method, route.format(id=999999)).status_code == 404, (method, route)


def test_retired_register_has_no_qr_pages(app, client):
    store = factories.make_store(registers=2)
    from iseca.merchants.registers import retire_register

    retire_register(store.registers[1])
    db.session.commit()
    login(client, store.code, factories.PASSWORD)
    for method, route in register_routes(app):
        assert _request(client, method, route.format(id=store.registers[1].id)).status_code == 404, (method, route)


def test_staff_account_cannot_use_the_management_site_register_pages(client):
    factories.make_staff()
    store = factories.make_store()
    login(client, "staff1", factories.PASSWORD, area="counter", kind=None)
    resp = client.get(f"/cms/registers/{store.registers[0].id}/qr.png")
    assert resp.status_code == 302 and "/cms/login" in resp.headers["Location"]


def test_qr_pages_warn_when_the_public_address_is_not_https(store_client):
    register = store_client.store.registers[0]
    assert "https の公開アドレスになっていません" not in _html(store_client.get(f"/cms/registers/{register.id}/qr"))
    store_client.application.config["PUBLIC_BASE_URL"] = "http://127.0.0.1:5000"
    for url in (f"/cms/registers/{register.id}/qr", f"/cms/registers/{register.id}/sheet"):
        assert "https の公開アドレスになっていません" in _html(store_client.get(url))
