"""Odd input anywhere in a request is answered with a clear 4xx in
Japanese, changes nothing and never reaches the database as a 500: ids
beyond the database's integers, control characters, bodies that are not
forms, unicode digits, impossible dates, oversized fields."""
from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from iseca.extensions import db
from iseca.models import Campaign, Card, Payment
from iseca.money import ledger
from iseca.web.converters import IdConverter
from tests import factories
from tests.support.client import basic_auth_header, csrf_from, login

BEYOND_INTEGER = ["2147483648", "9223372036854775808"]  # PostgreSQL integer, SQLite/int64


def _logged_in(app, kind: str):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
    if kind == "store":
        store = factories.make_store()
        assert login(client, store.code, factories.PASSWORD).status_code == 303
        client.store = store
    elif kind == "staff":
        factories.make_staff("staff1")
        assert login(client, "staff1", factories.PASSWORD, area="counter", kind=None).status_code == 303
    elif kind == "member":
        _, account = factories.make_app_member(1_000)
        assert login(client, account.login, factories.PASSWORD, area="wallet", kind=None).status_code == 303
    return client


@pytest.fixture
def clients(app):
    """One logged-in browser for each area, so the views themselves run."""
    store, staff, member = _logged_in(app, "store"), _logged_in(app, "staff"), _logged_in(app, "member")
    return {"cms": store, "terminal": store, "counter": staff, "wallet": member, "": _logged_in(app, "anonymous")}


def _area(rule) -> str:
    first = rule.rule.strip("/").split("/")[0]
    return first if first in ("cms", "terminal", "counter", "wallet") else ""


def test_every_int_route_uses_the_bounded_converter(app):
    rules = [r for r in app.url_map.iter_rules() if "<int:" in r.rule]
    assert rules
    for rule in rules:
        assert all(isinstance(c, IdConverter) for c in rule._converters.values() if not c.regex.startswith("(?:")), rule


def test_ids_beyond_the_database_integer_are_not_found_on_every_route(app, clients):
    """Every <int:> route, GET or POST, as an account that may use it: 404."""
    app.config["WTF_CSRF_ENABLED"] = False  # the POST routes too, past the token check
    answers = {}
    for rule in app.url_map.iter_rules():
        if "<int:" not in rule.rule:
            continue
        for huge in BEYOND_INTEGER:
            url = re.sub(r"<int:[^>]+>", huge, rule.rule)
            method = "GET" if "GET" in rule.methods else "POST"
            answers[(method, url)] = clients[_area(rule)].open(url, method=method).status_code
    # 405 where the same address has a rule for the other method only.
    assert {k: v for k, v in answers.items() if v not in (404, 405)} == {}


@pytest.mark.parametrize("kind,url", [
    ("terminal", "/terminal/pay?r=2147483648"),
    ("terminal", "/terminal/pay?r=%C2%B2"),
    ("terminal", "/terminal/history?before=9223372036854775808"),
    ("counter", "/counter/registers?page=99999999999999999999"),
    ("counter", "/counter/merchants?page=9223372036854775808"),
    ("counter", "/counter/applications?page=2147483648"),
    ("counter", "/counter/outbox?page=%E2%91%A0"),
    ("cms", "/cms/usage?page=9223372036854775808"),
    ("", "/stores?page=9223372036854775808"),
])
def test_integers_in_the_query_beyond_any_row_or_page_are_not_found(clients, kind, url):
    response = clients[kind].get(url)
    assert response.status_code == 404 and "ページが見つかりません" in response.get_data(as_text=True)


def test_a_sheet_choice_beyond_any_store_chooses_nothing(clients):
    response = clients["counter"].get("/counter/registers/sheets.pdf?store_id=2147483648&store_id=%C2%B2")
    assert response.status_code == 303
    assert "台紙を印刷する店舗を選んでください" in clients["counter"].get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("url", [
    "/stores?q=%00",
    "/stores?q=%E4%BC%8A%00",
    "/stores?category=%1b",
    "/card/1234%00/secret",
    "/wallet/pay/abc%00def",
    "/stores?%00=1",
])
def test_control_characters_in_an_address_get_a_400_page_in_japanese(client, url):
    response = client.get(url)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "使えない制御文字が含まれています" in html


def test_nul_in_a_form_field_changes_nothing_and_is_explained(app, clients):
    store = clients["cms"].store
    page = clients["cms"].get(f"/cms/stores/{store.id}").get_data(as_text=True)
    response = clients["cms"].post(f"/cms/stores/{store.id}", data={
        "csrf_token": csrf_from(page), "name": "新しい\x00名前", "phone": "0270-27-2708"})
    assert response.status_code == 400 and "使えない制御文字" in response.get_data(as_text=True)
    db.session.refresh(store)
    assert "\x00" not in store.name and store.name != "新しい名前"


@pytest.mark.parametrize("area,code", [("cms", "S{code}\x00"), ("terminal", "{code}\x00"), ("counter", "staff1\x00")])
def test_a_login_with_nul_is_refused_before_the_password_is_checked(app, client, area, code):
    """Refused before the database: not a guess (the right password with a
    NUL does not log in), and not a 500 however often it is sent."""
    store = factories.make_store()
    factories.make_staff("staff1")
    typed = code.format(code=store.code.lstrip("S")) if area != "counter" else code
    for _ in range(8):
        page = client.get(f"/{area}/login").get_data(as_text=True)
        data = {"csrf_token": csrf_from(page), "code": typed, "password": factories.PASSWORD}
        if area == "cms":
            data["kind"] = "store"
        response = client.post(f"/{area}/login", data=data)
        assert response.status_code == 400 and "使えない制御文字" in response.get_data(as_text=True)
    assert client.get(f"/{area}/").status_code in (302, 303)  # still logged out


def test_a_json_body_to_a_form_gets_a_400_page_in_japanese(app, clients):
    app.config["WTF_CSRF_ENABLED"] = False  # what a script would send; the check must not depend on the token
    store = clients["cms"].store
    for body in ('{"name": {"a": 1}}', "[1, 2]", '"x"'):
        response = clients["cms"].post(f"/cms/stores/{store.id}", data=body, content_type="application/json")
        assert response.status_code == 400 and "入力フォームからの送信だけを受け付けます" in response.get_data(as_text=True)


def test_a_file_sent_to_a_text_field_gets_a_400_page(app, client):
    import io

    page = client.get("/apply").get_data(as_text=True)
    response = client.post("/apply", data={"csrf_token": csrf_from(page), "name": (io.BytesIO(b"x"), "a.txt")},
                           content_type="multipart/form-data")
    assert response.status_code == 400 and "ファイルを送信できません" in response.get_data(as_text=True)


def _grant_preview(counter) -> tuple[dict, str]:
    campaign = factories.make_campaign()
    member, _ = factories.make_card_member()
    import io

    page = counter.get("/counter/grants/upload").get_data(as_text=True)
    preview = counter.post("/counter/grants/upload", data={
        "csrf_token": csrf_from(page), "campaign_id": str(campaign.id), "memo": "テスト",
        "file": (io.BytesIO(f"{member.code},1000\n".encode()), "g.csv")}, content_type="multipart/form-data")
    html = preview.get_data(as_text=True)
    return dict(re.findall(r'name="(campaign_id|memo|csv_data|key)" value="([^"]*)"', html)), csrf_from(html)


@pytest.mark.parametrize("change", [
    {"campaign_id": "abc"}, {"campaign_id": "9223372036854775808"}, {"campaign_id": "①"},
    {"csv_data": "x" * 300_000},
])
def test_an_altered_grant_commit_grants_nothing_and_says_so(clients, change):
    counter = clients["counter"]
    fields, token = _grant_preview(counter)
    response = counter.post("/counter/grants/commit", data={"csrf_token": token, **fields, **change})
    assert response.status_code == 400 and "画面の内容が正しく送信されませんでした" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    assert sum(ledger.member_balance(m) for m in db.session.scalars(select(Card.member_id))) == 0


def test_a_grant_commit_of_a_300_kb_csv_is_answered_line_by_line(clients):
    counter = clients["counter"]
    fields, token = _grant_preview(counter)
    big = ("9999999999,1000\n" * 19_000).encode()  # about 300 KB, more lines than one batch takes
    response = counter.post("/counter/grants/commit", data={"csrf_token": token, **fields,
                                                              "csv_data": base64.b64encode(big).decode()})
    assert response.status_code == 422 and "10,000行まで" in response.get_data(as_text=True)


def test_a_form_beyond_its_size_is_refused_before_it_is_read(app, client):
    response = client.post("/bank-names", data={"bank_code": "1" * (3 * 1024 * 1024)})
    assert response.status_code == 413


@pytest.mark.parametrize("url,data,message", [
    ("/counter/cards/issue", {"count": "②", "batch": "x1"}, "発行枚数は1〜500枚です。"),
    ("/counter/cards/issue", {"count": "9" * 5000, "batch": "x2"}, "発行枚数は1〜500枚です。"),
    ("/counter/campaigns", {"name": "c", "starts_on": "0001-01-01", "ends_on": "2026-12-31"},
     "日付は2000年1月1日から2099年12月31日までの範囲で入力してください。"),
    ("/counter/campaigns", {"name": "c", "starts_on": "2026-01-01", "ends_on": "9999-12-31"},
     "日付は2000年1月1日から2099年12月31日までの範囲で入力してください。"),
])
def test_counter_forms_explain_unicode_digits_and_impossible_dates(clients, url, data, message):
    counter = clients["counter"]
    before = [db.session.scalar(select(func.count()).select_from(t)) for t in (Card, Campaign)]
    page = counter.get(url).get_data(as_text=True)
    response = counter.post(url, data={"csrf_token": csrf_from(page), **data})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and message in html
    assert [db.session.scalar(select(func.count()).select_from(t)) for t in (Card, Campaign)] == before


@pytest.mark.parametrize("typed", ["①⓪", "²", "𐩀", "9" * 5000])
def test_the_till_charges_nothing_for_what_is_not_a_yen_amount(app, client, typed):
    store = factories.make_store()
    member, card = factories.make_card_member(5_000)
    assert login(client, store.code, factories.PASSWORD, area="terminal", kind=None).status_code == 303
    page = client.get("/terminal/pay").get_data(as_text=True)
    scanned = client.post("/terminal/pay", data={"csrf_token": csrf_from(page), "code": card.number})
    params = {k: v[0] for k, v in parse_qs(urlsplit(scanned.headers["Location"]).query).items()}
    response = client.post("/terminal/pay/charge", data={
        "csrf_token": csrf_from(page), "payer": params["payer"], "register": params["register"], "amount": typed, "key": "k" * 24})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "金額は数字で入力してください" in html or "1回の決済は500,000円までです" in html
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    assert ledger.member_balance(member.id) == 5_000


def test_the_till_reads_leading_zeros_as_the_amount_they_write(app, client):
    store = factories.make_store()
    member, card = factories.make_card_member(5_000)
    assert login(client, store.code, factories.PASSWORD, area="terminal", kind=None).status_code == 303
    page = client.get("/terminal/pay").get_data(as_text=True)
    scanned = client.post("/terminal/pay", data={"csrf_token": csrf_from(page), "code": card.number})
    params = {k: v[0] for k, v in parse_qs(urlsplit(scanned.headers["Location"]).query).items()}
    response = client.post("/terminal/pay/charge", data={
        "csrf_token": csrf_from(page), "payer": params["payer"], "register": params["register"], "amount": "00000000000001", "key": "k" * 24})
    assert response.status_code == 303
    assert ledger.member_balance(member.id) == 4_999
