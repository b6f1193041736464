"""The management site's two doors as a newcomer meets them: the BASIC gate's
page after the browser's prompt is cancelled, and a login with the wrong
ユーザー種別 ticked."""
from __future__ import annotations

import html as htmllib
import re

import pytest

from tests import factories
from tests.support.client import basic_auth_header, csrf_from, login


def _kind_errors(html: str) -> str:
    fieldset = re.search(r'<fieldset class="field radios has-error">(.*?)</fieldset>', html, re.S)
    assert fieldset, "no message beside ユーザー種別"
    return htmllib.unescape(fieldset.group(1))


@pytest.mark.parametrize("make,ticked,typed,message", [
    ("business", "store", "{code}", "「B」で始まるコードは事業者コードです。ユーザー種別で「事業者」を選んでから"),
    ("store", "business", "{code}", "「S」で始まるコードは店舗コードです。ユーザー種別で「店舗」を選んでから"),
    ("business", "store", " ｂ{digits} ", "「B」で始まるコードは事業者コードです"),  # full-width, lower case, spaces
], ids=["b-code-as-store", "s-code-as-business", "full-width-b-code-as-store"])
def test_the_wrong_kind_is_named_from_the_code_and_what_was_typed_stays(client, make, ticked, typed, message):
    code = (factories.make_business() if make == "business" else factories.make_store()).code
    typed = typed.format(code=code, digits="".join(chr(ord(c) + 0xFEE0) for c in code[1:]))
    resp = login(client, typed, factories.PASSWORD, kind=ticked)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert message in _kind_errors(html)
    assert "パスワードが違います" not in html
    assert f'value="{htmllib.escape(typed, quote=True)}"' in html  # the code as typed
    assert re.search(rf'<input checked[^>]*value="{ticked}"|<input[^>]*value="{ticked}"[^>]*checked', html)
    assert client.get("/cms/").status_code == 302  # not logged in


def test_a_wrong_kind_is_not_a_failed_guess(client):
    """Nothing is looked up, so nothing counts towards the account's lock."""
    business = factories.make_business()
    for _ in range(7):
        assert login(client, business.code, "not even checked", kind="store").status_code == 200
    assert login(client, business.code, factories.PASSWORD, kind="business").status_code == 303


def test_the_right_kind_with_a_wrong_password_says_nothing_about_kinds(client):
    store = factories.make_store()
    html = login(client, store.code, "wrong password here", kind="store").get_data(as_text=True)
    assert "ユーザー名またはパスワードが違います" in html and "で始まるコードは" not in html


@pytest.mark.parametrize("authorization", [None, basic_auth_header("guest", "wrong")])
def test_cancelling_the_gate_prompt_shows_what_the_two_passwords_are(app, authorization):
    client = app.test_client()
    if authorization:
        client.environ_base["HTTP_AUTHORIZATION"] = authorization
    resp = client.get("/cms/")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    text = re.sub(r"<[^>]+>", "", html)
    assert "全加盟店に共通のIDとパスワード" in text
    assert "店舗コード（S…）または事業者コード（B…）と、ご自分のパスワード" in text
    assert "「【ISECA】店舗アカウント開設が完了しました」" in text
    assert "「【ISECA】事業者アカウント開設が完了しました」" in text
    assert 'href="/cms/login"' in html
    assert "guest" not in html  # the page never gives the gate's credentials away


def test_behind_the_gate_the_login_page_is_served(client):
    resp = client.get("/cms/login")
    assert resp.status_code == 200 and csrf_from(resp.get_data(as_text=True))
