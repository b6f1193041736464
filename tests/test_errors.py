"""Error answers at request level: a failed write still gets the real error
page, fragments get the message alone, and an expired token never writes a
cross-site submission's values into our page."""
from __future__ import annotations

import re

import pytest
from flask import abort
from werkzeug.datastructures import MultiDict

from iseca.extensions import db
from iseca.models import Account, AccountKind
from iseca.web.errors import MESSAGES
from iseca.web.refill import refill_form
from tests import factories
from tests.support.client import csrf_from, login


def test_a_failed_write_still_answers_with_the_whole_error_page(app, client):
    store = factories.make_store(name="いせさき青果店")

    def duplicate_login():
        db.session.commit()  # an earlier step of the request committed: the account is expired
        db.session.add(Account(kind=AccountKind.STORE, login=store.code, name="重複", password_hash="x"))
        db.session.flush()  # the unique login refuses it: the session must be rolled back
        return "unreachable"

    app.add_url_rule("/cms/broken-write", "broken_write", duplicate_login)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert login(client, store.code, factories.PASSWORD).status_code == 303
    response = client.get("/cms/broken-write")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "システムエラーが発生しました" in html
    assert "いせさき青果店" in html  # the header of a logged-in page: the account was read after the rollback
    assert re.search(r'href="/static/css/app\.css(\?v=[0-9a-f]+)?"', html)  # the stylesheet (versioned address)


def test_an_htmx_fragment_gets_the_message_alone(client):
    store = factories.make_store()
    login(client, store.code, factories.PASSWORD, area="terminal", kind=None)
    response = client.get("/terminal/history/99999999", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "data-error-message" in html and "ページが見つかりません" in html
    assert "<html" not in html
    boosted = client.get("/terminal/history/99999999", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)


def test_a_cross_site_post_with_no_token_is_not_written_into_the_page(client):
    business = factories.make_business()
    login(client, business.code, factories.PASSWORD, kind="business")
    response = client.post("/cms/business", data={"account_number": "7654321", "phone": "0120-000-000"},
                           headers={"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "画面の有効期限が切れました" in html
    assert "7654321" not in html and "0120-000-000" not in html


def test_a_same_site_post_with_an_old_token_comes_back_filled(client):
    business = factories.make_business()
    login(client, business.code, factories.PASSWORD, kind="business")
    page = client.get("/cms/business").get_data(as_text=True)
    fresh = csrf_from(page)
    response = client.post("/cms/business", data={"csrf_token": "old", "phone": "0270-11-2233"},
                           headers={"Origin": "http://localhost", "Referer": "http://localhost/cms/business"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'value="0270-11-2233"' in html
    assert "入力内容はそのまま残っています" in html
    # The session's own token again; its signature carries the second it was
    # signed in, so only the token inside the signature is compared.
    assert csrf_from(html).split(".")[0] == fresh.split(".")[0]


def test_refill_writes_typed_values_only_into_the_form_that_posted():
    html = (
        '<form method="post" action="/other"><input name="q" value="keep"></form>'
        '<form method="post" action="/save"><input type="hidden" name="csrf_token" value="new">'
        '<input name="q" value="old"><input type="password" name="pw">'
        '<input type="checkbox" name="c" value="a" checked><input type="checkbox" name="c" value="b">'
        '<select name="s"><option value="1" selected>1</option><option value="2">2</option></select>'
        '<textarea name="t">old</textarea></form>'
    )
    values = MultiDict([("csrf_token", "x"), ("q", '"<b>'), ("pw", "secret"), ("c", "b"), ("s", "2"), ("t", "a<b\nc")])
    out = refill_form(html, "http://h/page", "/save", values, lambda had_password: f"<p>MSG {had_password}</p>")
    assert out.startswith('<form method="post" action="/other"><input name="q" value="keep"></form><p>MSG True</p>')
    assert 'value="new"' in out and 'value="x"' not in out
    assert 'value="&quot;&lt;b&gt;"' in out
    assert "secret" not in out
    assert '<input type="checkbox" name="c" value="a">' in out
    assert '<input type="checkbox" name="c" value="b" checked>' in out
    assert '<option value="1">1</option><option value="2" selected>2</option>' in out
    assert "<textarea name=\"t\">a&lt;b\nc</textarea>" in out
    assert refill_form(html, "http://h/page", "/nowhere", values, lambda had_password: "") is None



CODES = [400, 403, 404, 405, 409, 410, 413, 422, 429, 500, 503]


@pytest.mark.parametrize("code", CODES)
def test_every_error_status_has_a_page_and_a_fragment_message(app, client, code):
    app.add_url_rule("/fails", "fails", lambda: abort(code))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    title = MESSAGES[code][0]
    page = client.get("/fails")
    assert page.status_code == code
    assert title in page.get_data(as_text=True) and "<html" in page.get_data(as_text=True)
    boosted = client.get("/fails", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert title in boosted.get_data(as_text=True) and "<html" in boosted.get_data(as_text=True)
    fragment = client.get("/fails", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "data-error-message" in fragment and title in fragment and "<html" not in fragment


def test_an_expired_login_form_keeps_the_code_but_never_the_password(client):
    client.get("/terminal/login")
    response = client.post("/terminal/login", data={"csrf_token": "old", "code": "S01234", "password": "secret typed"},
                           headers={"Sec-Fetch-Site": "same-origin", "Referer": "http://localhost/terminal/login"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'value="S01234"' in html
    assert "パスワードは安全のため空にしています" in html
    assert "secret typed" not in html
