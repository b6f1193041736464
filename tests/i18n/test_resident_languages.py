"""What residents read in their own language: messages next to the field
that needs them (login, amount), the wallet's refusal of a payment larger
than the balance, the card balance page with amounts and times as Babel
writes them, error pages, the public texts (FAQ, what ISECA cannot pay for,
contact) and the store list's categories and districts."""
from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from sqlalchemy import func, select

from iseca import i18n
from iseca.extensions import db
from iseca.models import Payment, PaymentMethod, utcnow
from iseca.money import ledger, payments
from iseca.public import content
from tests import factories
from tests.i18n.test_pages_in_language import JAPANESE, visible_text
from tests.support.client import csrf_from, login


def in_language(client, lang: str):
    client.set_cookie("lang", lang)
    return client


def field_errors(html: str, field: str) -> list[str]:
    """The messages shown next to `field` (the list the field's aria-describedby names)."""
    match = re.search(rf'<ul class="errors" id="{field}-error">(.*?)</ul>', html, re.S)
    assert match, f"no message next to {field}"
    assert re.search(rf'aria-describedby="[^"]*\b{field}-error\b', html), f"{field} does not point at its message"
    return re.findall(r"<li>(.*?)</li>", match.group(1), re.S)


def html_lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def no_japanese(response, *data: str) -> list[str]:
    text = visible_text(response)
    for value in data:
        text = text.replace(value, " ")
    for term in i18n.LANGUAGES.values():
        text = text.replace(term, " ")
    return JAPANESE.findall(text)


@pytest.mark.parametrize("lang,wrong,empty", [
    ("en", "The e-mail address or password is incorrect.", "Enter your password."),
    ("vi", "Địa chỉ email hoặc mật khẩu không đúng.", "Vui lòng nhập mật khẩu."),
])
def test_a_bad_wallet_login_says_why_next_to_the_field_in_the_readers_language(client, lang, wrong, empty):
    _, account = factories.make_app_member(1_000)
    in_language(client, lang)
    response = login(client, account.login, "not the password", area="wallet", kind=None)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html_lang(html) == lang
    assert field_errors(html, "password") == [wrong]
    assert no_japanese(response) == []
    page = client.get("/wallet/login").get_data(as_text=True)
    blank = client.post("/wallet/login", data={"csrf_token": csrf_from(page), "code": account.login, "password": ""})
    assert field_errors(blank.get_data(as_text=True), "password") == [empty]


def test_a_store_code_ticked_as_a_business_is_explained_in_english(client):
    store = factories.make_store()
    in_language(client, "en")
    response = login(client, store.code, factories.PASSWORD, kind="business")
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 200 and html_lang(html) == "en"
    assert 'A code starting with "S" is a Store code. Choose "Store" as the user type, then log in.' in html
    assert no_japanese(response) == []


@pytest.fixture
def wallet(client):
    member, account = factories.make_app_member(5_000)
    assert login(client, account.login, factories.PASSWORD, area="wallet", kind=None).status_code == 303
    client.member = member
    client.name = account.name  # data, shown as entered: the page's header names the member
    return client


@pytest.mark.parametrize("lang,typed,message", [
    ("en", "abc", "Enter the amount in digits (e.g. 1,000)."),
    ("en", "1.5", "Enter the amount in whole yen (no decimals)."),
    ("en", "600000", "A single payment can be at most ¥500,000."),
    ("vi", "abc", "Vui lòng nhập số tiền bằng chữ số (ví dụ: 1.000)."),
    ("vi", "0", "Vui lòng nhập số tiền từ 1\xa0¥ trở lên."),
    ("vi", "600000", "Mỗi lần thanh toán tối đa 500.000\xa0¥."),
])
def test_a_bad_wallet_amount_says_why_next_to_the_field_in_the_readers_language(wallet, lang, typed, message):
    register = factories.make_store(name="カフェひまわり").registers[0]
    in_language(wallet, lang)
    response = wallet.get(f"/wallet/pay/{register.qr_token}/confirm", query_string={"amount": typed, "key": "k" * 24})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and html_lang(html) == lang
    assert field_errors(html, "amount") == [message]
    assert no_japanese(response, "カフェひまわり", register.name, wallet.name) == []


def test_a_payment_larger_than_the_balance_is_refused_in_portuguese(wallet):
    register = factories.make_store(name="カフェひまわり").registers[0]
    in_language(wallet, "pt_BR")
    page = wallet.get(f"/wallet/pay/{register.qr_token}").get_data(as_text=True)
    key = re.search(r'name="key" value="([^"]+)"', page).group(1)
    response = wallet.post(f"/wallet/pay/{register.qr_token}",
                           data={"csrf_token": csrf_from(page), "amount": "6000", "key": key})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and html_lang(html) == "pt-BR"
    refusal = re.search(r'<div class="alert alert-danger insufficient" role="alert">(.*?)</div>', html, re.S).group(1)
    assert "Saldo insuficiente." in refusal
    assert "Pontos disponíveis: 5.000 pontos. Nada foi pago." in refusal
    assert f"Pague até {babel_numbers.format_currency(5000, 'JPY', locale='pt_BR')} com ISECA" in refusal
    assert no_japanese(response, "カフェひまわり", register.name, wallet.name) == []
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    assert ledger.member_balance(wallet.member.id) == 5_000


def test_the_card_balance_page_in_vietnamese_writes_amounts_and_times_as_babel_does(client):
    member, card = factories.make_card_member(13_800)
    store = factories.make_store(name="いせさき青果店")
    payment = payments.pay(member, store.registers[0], 1_280, PaymentMethod.STORE_SCAN, card=card)
    db.session.commit()
    response = in_language(client, "vi").get(f"/card/{card.number}/{card.secret}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html_lang(html) == "vi"
    balance = babel_numbers.format_decimal(12_520, locale="vi")
    assert balance == "12.520"
    assert f'<span class="amount">{balance}</span> điểm' in html
    assert babel_numbers.format_currency(1_280, "JPY", locale="vi") in html  # 1.280 ¥
    when = i18n.jst(payment.created_at, locale="vi")
    assert when in html and re.search(r"\d{1,2}:\d\d \d{1,2} thg \d{1,2}, \d{4}", when)  # 0:30 5 thg 3, 2026
    assert "Số dư thẻ ISECA" in html and "Đã thanh toán" in html
    assert "1,280" not in html and "円" not in html
    assert no_japanese(response, "いせさき青果店") == []


@pytest.mark.parametrize("lang,title", [("en", "Page not found"), ("pt_BR", "Página não encontrada"),
                                        ("vi", "Không tìm thấy trang")])
def test_error_pages_speak_the_readers_language(client, lang, title):
    response = in_language(client, lang).get("/wallet/pay/no-such-code-at-all")
    assert response.status_code == 404
    missing = in_language(client, lang).get("/no/such/page")
    assert missing.status_code == 404 and title in missing.get_data(as_text=True)
    for page in (response, missing):
        assert html_lang(page.get_data(as_text=True)) == i18n.HTML_LANG[lang]
        assert no_japanese(page) == []


def test_an_unknown_card_address_is_explained_in_portuguese(client):
    response = in_language(client, "pt_BR").get(f"/card/{'1' * 16}/{'x' * 32}")
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and "Cartão não encontrado" in html and no_japanese(response) == []


def test_public_texts_keep_their_structure_and_are_translated(app):
    """The FAQ stays (question, answer) pairs, the not-payable list its seven
    items, the contact its fields: what the console may replace per language."""
    with app.app_context(), app.test_request_context(headers={"Cookie": "lang=vi"}):
        faq, items, contact = content.faq(), content.not_payable(), content.contact()
    assert len(faq) == len(content.FAQ) == 7 and all(len(pair) == 2 for pair in faq)
    assert len(items) == len(content.NOT_PAYABLE) == 7
    assert set(contact) == set(content.CONTACT) and contact["phone"] == "0270-27-2708"
    for text in [t for pair in faq for t in pair] + items + list(contact.values()):
        assert not JAPANESE.search(text), text
    with app.app_context(), app.test_request_context():
        assert content.faq()[0] == content.FAQ[0] and content.not_payable() == content.NOT_PAYABLE


@pytest.mark.parametrize("lang,heading", [("en", "FAQ"), ("pt_BR", "Perguntas frequentes"),
                                          ("vi", "Câu hỏi thường gặp")])
def test_faq_not_payable_and_contact_pages_in_each_resident_language(client, lang, heading):
    in_language(client, lang)
    faq = client.get("/faq")
    assert f"<h1>{heading}</h1>" in faq.get_data(as_text=True)
    for response in (faq, client.get("/not-payable"), client.get("/contact")):
        assert response.status_code == 200 and no_japanese(response) == []
    assert 'href="tel:0270272708"' in client.get("/contact").get_data(as_text=True)


def test_the_store_list_names_categories_and_districts_in_the_readers_language(client):
    store = factories.make_store(name="いせさき青果店")
    store.category, store.area, store.published_at = "食料品", "赤堀地区", utcnow()
    db.session.commit()
    html = in_language(client, "pt_BR").get("/stores").get_data(as_text=True)
    assert "Alimentos" in html and "Distrito de Akabori" in html and "1 loja" in html
    assert 'value="食料品"' in html  # the search still sends the stored word


@pytest.mark.parametrize("lang,one,many", [("ja", "1 ポイント", "5,000 ポイント"), ("en", "1 point", "5,000 points"),
                                           ("pt_BR", "1 ponto", "5.000 pontos"), ("vi", "1 điểm", "5.000 điểm")])
def test_points_follow_each_languages_plural_rule(app, lang, one, many):
    """Portuguese has three plural forms and Vietnamese one, though the
    merchants' and counter's catalogues (English only) are merged too."""
    with app.app_context(), app.test_request_context(headers={"Cookie": f"lang={lang}"}):
        assert (i18n.points(1), i18n.points(5_000)) == (one, many)


def test_the_date_range_message_writes_dates_as_the_reader_does(app):
    from iseca.web.inputs import date_range_message

    with app.app_context(), app.test_request_context():
        assert date_range_message() == "日付は2000年1月1日から2099年12月31日までの範囲で入力してください。"
    with app.app_context(), app.test_request_context(headers={"Cookie": "lang=en"}):
        assert date_range_message() == "Enter a date from January 1, 2000 to December 31, 2099."
    assert babel_dates.format_date(dt.date(2000, 1, 1), "long", locale="ja") == "2000年1月1日"
