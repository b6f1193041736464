"""Choosing the language: the browser's on a first visit, the switch on
every page remembered (cookie; the account's setting once logged in),
`lang` on <html> always right; amounts and times as each reader writes them."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from iseca import i18n
from iseca.extensions import db
from iseca.models import Account, AccountKind, AuditLog
from tests import factories
from tests.support.client import csrf_from, login

HTML_LANG = re.compile(r'<html lang="([^"]+)"')


def lang_of(response) -> str:
    return HTML_LANG.search(response.get_data(as_text=True)).group(1)


def switch(client, code: str, page: str = "/faq"):
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post("/language", data={"csrf_token": token, "lang": code, "next": page})


def test_first_visit_speaks_the_browsers_language(client):
    assert lang_of(client.get("/faq")) == "ja"
    assert lang_of(client.get("/faq", headers={"Accept-Language": "en-US,en;q=0.8"})) == "en"
    assert lang_of(client.get("/faq", headers={"Accept-Language": "vi-VN,vi;q=0.9,en;q=0.5"})) == "vi"
    assert lang_of(client.get("/faq", headers={"Accept-Language": "pt-BR"})) == "pt-BR"
    # Portuguese from Portugal reads the Brazilian pages rather than Japanese.
    assert lang_of(client.get("/faq", headers={"Accept-Language": "pt-PT,pt"})) == "pt-BR"
    # A language the product does not speak: Japanese, the city's language.
    assert lang_of(client.get("/faq", headers={"Accept-Language": "fr-FR"})) == "ja"
    # A browser preferring Japanese gets Japanese even if it also reads English.
    assert lang_of(client.get("/faq", headers={"Accept-Language": "ja,en;q=0.9"})) == "ja"


def test_resident_languages_fall_back_to_english_on_merchant_pages(client):
    """Portuguese and Vietnamese cover what residents use; a merchant page
    asked for in them is English, never a mix."""
    assert lang_of(client.get("/terminal/login", headers={"Accept-Language": "vi"})) == "en"
    assert lang_of(client.get("/apply", headers={"Accept-Language": "pt-BR"})) == "en"
    assert lang_of(client.get("/wallet/login", headers={"Accept-Language": "pt-BR"})) == "pt-BR"


def test_the_switch_is_on_every_page_and_names_each_language_in_its_own_words(client):
    page = client.get("/faq").get_data(as_text=True)
    for code, name in i18n.LANGUAGES.items():
        assert f'lang="{i18n.HTML_LANG[code]}"' in page and name in page
    terminal = client.get("/terminal/login").get_data(as_text=True)
    assert "English" in terminal and "Tiếng Việt" not in terminal  # merchants' pages: Japanese and English


def test_the_switch_is_remembered_by_a_cookie_and_returns_to_the_page(client):
    response = switch(client, "vi", "/stores?page=1")
    assert response.status_code == 303 and response.headers["Location"] == "/stores?page=1"
    assert lang_of(client.get("/faq", headers={"Accept-Language": "en"})) == "vi"  # the choice beats the browser
    switch(client, "ja")
    assert lang_of(client.get("/faq", headers={"Accept-Language": "en"})) == "ja"


def test_the_switch_refuses_unknown_languages_and_foreign_addresses(client):
    token = csrf_from(client.get("/faq").get_data(as_text=True))
    assert client.post("/language", data={"csrf_token": token, "lang": "xx"}).status_code == 400
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = client.post("/language", data={"csrf_token": token, "lang": "en", "next": target})
        assert response.headers["Location"] == "/"
    assert client.post("/language", data={"lang": "en"}).status_code == 400  # no CSRF token


def test_a_logged_in_account_keeps_its_language_on_another_device(app, client):
    store = factories.make_store()
    login(client, store.code, factories.PASSWORD)
    response = switch(client, "en", "/cms/")
    assert response.status_code == 303
    account = db.session.scalar(select(Account).where(Account.kind == AccountKind.STORE, Account.login == store.code))
    assert account.locale == "en"
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "language_changed")).one()
    assert entry.actor_account_id == account.id and entry.details == {"from": None, "to": "en"}
    # A new browser, Japanese by default, logs in: English from the account's setting.
    other = app.test_client()
    other.environ_base["HTTP_AUTHORIZATION"] = client.environ_base.get("HTTP_AUTHORIZATION", "")
    login(other, store.code, factories.PASSWORD)
    assert lang_of(other.get("/cms/", headers={"Accept-Language": "ja"})) == "en"


def test_amounts_in_each_languages_own_format():
    assert i18n.yen(1234567, "ja") == "1,234,567円"
    assert i18n.yen(1234567, "en") == "¥1,234,567"
    assert "1.234.567" in i18n.yen(1234567, "pt_BR") and "¥" in i18n.yen(1234567, "pt_BR")
    assert "1.234.567" in i18n.yen(1234567, "vi") and "¥" in i18n.yen(1234567, "vi")
    assert i18n.yen(0, "en") == "¥0" and i18n.yen(None, "en") == ""


def test_times_are_japan_time_in_every_language():
    moment = dt.datetime(2026, 3, 4, 15, 30, 5, tzinfo=dt.UTC)  # 00:30:05 on 5 March in Japan
    assert i18n.jst(moment, "%Y/%m/%d %H:%M:%S", "ja") == "2026/03/05 00:30:05"
    assert i18n.jst(moment, "%Y/%m/%d %H:%M", "en") == "Mar 5, 2026, 00:30"
    assert "5 de mar" in i18n.jst(moment, "%Y/%m/%d %H:%M", "pt_BR") and "00:30" in i18n.jst(moment, "%Y/%m/%d %H:%M", "pt_BR")
    assert "5 thg 3" in i18n.jst(moment, "%Y/%m/%d %H:%M", "vi")


def test_the_pages_script_messages_speak_the_pages_language(client):
    """The network and error messages static/js/app.js shows come from the
    page (data-text-* on <body>), so they follow the language too."""
    japanese = client.get("/faq").get_data(as_text=True)
    assert 'data-text-network="通信できませんでした。' in japanese
    english = client.get("/faq", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'data-text-network="Could not connect.' in english
    assert 'data-text-error="An error occurred ({status}). Please reload the page."' in english
    vietnamese = client.get("/faq", headers={"Accept-Language": "vi"}).get_data(as_text=True)
    assert 'data-text-network="Không thể kết nối.' in vietnamese
