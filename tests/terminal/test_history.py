"""店舗利用履歴 on the terminal: newest first, 「条件で絞込」, 「もっと見る」,
a row's detail and 「取消」."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from iseca.extensions import db
from iseca.models import PaymentStatus, utcnow
from iseca.money import ledger
from iseca.timeutil import JST
from tests import factories, usage_data
from tests.support.client import basic_auth_header, csrf_from, login, post_form

NUMBER_RE = re.compile(r"取引番号 (\d{16})")


def terminal(app, code):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
    assert login(client, code, factories.PASSWORD, area="terminal").status_code == 303
    return client


@pytest.fixture
def data(app):
    return usage_data.build(count=100)


def test_home_links_to_the_history(app, data):
    html = terminal(app, data.stores[0].code).get("/terminal/").get_data(as_text=True)
    assert 'href="/terminal/history">店舗利用履歴</a>' in html


def test_history_lists_the_stores_payments_newest_first_and_more_continues(app, data):
    store = data.stores[0]
    client = terminal(app, store.code)
    expected = [r.number for r in data.expected(own_store_id=store.id)]
    html = client.get("/terminal/history").get_data(as_text=True)
    shown = NUMBER_RE.findall(html)
    assert shown == expected[:30]
    seen = list(shown)
    while "もっと見る" in html:
        more = re.search(r'<a class="button wide" href="([^"]+)"[^>]*>もっと見る', html).group(1).replace("&amp;", "&")
        html = client.get(more, headers={"HX-Request": "true"}).get_data(as_text=True)
        assert "<html" not in html  # htmx appends just the next rows
        seen += NUMBER_RE.findall(html)
    assert seen == expected


def test_more_without_javascript_is_a_plain_page(app, data):
    store = data.stores[0]
    client = terminal(app, store.code)
    html = client.get("/terminal/history").get_data(as_text=True)
    more = re.search(r'href="([^"]+)"[^>]*>もっと見る', html).group(1).replace("&amp;", "&")
    page = client.get(more).get_data(as_text=True)
    assert "<html" in page and "最新の履歴に戻る" in page
    assert NUMBER_RE.findall(page)[0] == [r.number for r in data.expected(own_store_id=store.id)][30]


def test_filter_by_period_and_member_code(app, data):
    store = data.stores[0]
    client = terminal(app, store.code)
    day = usage_data.FIRST_DAY + dt.timedelta(days=2)
    member = data.members[0].code
    html = client.get("/terminal/history", query_string={"date_from": day.isoformat(), "date_to": day.isoformat(),
                                                         "member_code": member}).get_data(as_text=True)
    expected = data.expected(own_store_id=store.id, date_from=day, date_to=day, member_code=member)
    assert NUMBER_RE.findall(html) == [r.number for r in expected]
    assert "条件で絞込" in html and "<details class=\"filter-panel\" open>" in html
    bad = client.get("/terminal/history?member_code=abc").get_data(as_text=True)
    assert "会員コードは10桁の数字で入力してください。" in bad and 'value="abc"' in bad


@pytest.mark.parametrize("query,message", [
    ({"date_from": "0001-01-01"}, "日付は2000年1月1日から2099年12月31日までの範囲で入力してください。"),
    ({"date_to": "9999-12-31"}, "日付は2000年1月1日から2099年12月31日までの範囲で入力してください。"),
    ({"date_from": "２０２６／１３／０１"}, "日付を正しく入力してください"),
    ({"member_code": "①②③④⑤⑥⑦⑧⑨⓪"}, "会員コードは10桁の数字で入力してください。"),
])
def test_dates_out_of_range_and_unicode_digits_get_a_message_and_no_rows(app, data, query, message):
    client = terminal(app, data.stores[0].code)
    response = client.get("/terminal/history", query_string=query)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and message in html
    assert NUMBER_RE.findall(html) == []


@pytest.mark.parametrize("before", ["2147483648", "9" * 30, "²", "-1", "abc"])
def test_a_more_link_with_an_impossible_cursor_is_not_found(app, data, before):
    client = terminal(app, data.stores[0].code)
    assert client.get("/terminal/history", query_string={"before": before}).status_code == 404


def test_tap_a_row_for_detail_then_cancel_with_confirmation(app):
    store = factories.make_store()
    member, card = factories.make_card_member(2_000)
    payment = factories.make_payment_at(store.registers[0], member, 660, utcnow(), card=card)
    client = terminal(app, store.code)
    listing = client.get("/terminal/history").get_data(as_text=True)
    detail_url = re.search(r'href="(/terminal/history/\d+[^"]*)"', listing).group(1).replace("&amp;", "&")
    detail = client.get(detail_url).get_data(as_text=True)
    assert "660円" in detail and member.code in detail and payment.number in detail and "決済済" in detail
    cancel_url = re.search(r'href="(/terminal/history/\d+/cancel[^"]*)"', detail).group(1).replace("&amp;", "&")
    confirm = client.get(cancel_url).get_data(as_text=True)
    assert payment.created_at.astimezone(JST).strftime("%Y/%m/%d %H:%M:%S") in confirm
    assert "660円" in confirm and member.code in confirm and "取消する" in confirm
    response = client.post(cancel_url, data={"csrf_token": csrf_from(confirm)})
    assert response.status_code == 303
    after = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "を取消しました" in after and "取消済" in after and "取消日時" in after
    assert ledger.member_balance(member.id) == 2_000
    # Tapping 取消 again (a double tap, a second till) changes nothing.
    again = post_form(client, cancel_url, {}, page_url=cancel_url)
    assert again.status_code == 303
    assert "すでに取消されています" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert ledger.member_balance(member.id) == 2_000


def test_terminal_asks_the_store_password_for_an_older_payment(app):
    store = factories.make_store()
    member, _ = factories.make_card_member(2_000)
    payment = factories.make_payment_at(store.registers[0], member, 300, utcnow() - dt.timedelta(days=1))
    client = terminal(app, store.code)
    url = f"/terminal/history/{payment.id}/cancel"
    assert "パスワードの再入力が必要です" in client.get(url).get_data(as_text=True)
    wrong = post_form(client, url, {"password": "wrong password here"})
    assert "パスワードが違います。" in wrong.get_data(as_text=True)
    db.session.refresh(payment)
    assert payment.status == PaymentStatus.COMPLETED
    assert post_form(client, url, {"password": factories.PASSWORD}).status_code == 303
    db.session.refresh(payment)
    assert payment.status == PaymentStatus.CANCELLED


def test_business_account_cannot_use_the_terminal_history(app, data):
    client = app.test_client()
    response = client.get("/terminal/history")
    assert response.status_code == 302 and "/terminal/login" in response.headers["Location"]
