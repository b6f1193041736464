"""利用状況一覧 of the management site: 絞り込み → 検索, totals, pages,
CSV download and 取消, as store and business accounts see them."""
from __future__ import annotations

import contextvars
import csv
import datetime as dt
import io
import re
import threading
import tracemalloc
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, insert, select

from iseca.extensions import db
from iseca.models import (
    AccountKind,
    LedgerTransaction,
    LedgerTransactionKind,
    Payment,
    PaymentMethod,
    PaymentStatus,
    utcnow,
)
from iseca.money import ledger, usage
from iseca.money.periods import period_id
from iseca.money.usage import UsageFilter
from iseca.timeutil import JST, today_jst
from tests import factories, usage_data
from tests.support.client import basic_auth_header, csrf_from, login, post_form

NUMBER_RE = re.compile(r"<td[^>]*>(\d{16})</td>")


def numbers_on(html: str) -> list[str]:
    return NUMBER_RE.findall(html)


def logged_in(app, code: str, kind: str = "store"):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
    assert login(client, code, factories.PASSWORD, kind=kind).status_code == 303
    return client


def download(client, url: str) -> tuple[object, bytes]:
    """GET a streamed download and read it in one context, as a server thread does."""
    db.session.commit()

    def run():
        response = FlaskClient.open(client, url, buffered=False)
        body = b"".join(response.response)
        response.close()
        return response, body

    return contextvars.Context().run(run)


@pytest.fixture
def data(app):
    return usage_data.build(count=120)


def _dates(data):
    return {"date_from": usage_data.FIRST_DAY.isoformat(),
            "date_to": (usage_data.FIRST_DAY + dt.timedelta(days=usage_data.DAYS)).isoformat()}


# --- the list ---------------------------------------------------------------

def test_business_sees_every_store_and_can_pick_one(app, data):
    client = logged_in(app, data.business.code, "business")
    html = client.get("/cms/usage", query_string={**_dates(data), "page": 1}).get_data(as_text=True)
    expected = data.expected(business_id=data.business.id)
    assert numbers_on(html) == [r.number for r in expected[:50]]
    assert f"全{len(expected)}件中 1〜50件目を表示" in html
    assert 'name="store"' in html and "青果店" in html and "精肉店" in html and "よその店" not in html

    store_b = data.stores[1]
    html = client.get("/cms/usage", query_string={**_dates(data), "store": store_b.id}).get_data(as_text=True)
    expected = data.expected(business_id=data.business.id, store_id=store_b.id)
    assert numbers_on(html) == [r.number for r in expected[:50]]


def test_store_sees_only_its_own_payments(app, data):
    store = data.stores[0]
    client = logged_in(app, store.code)
    html = client.get("/cms/usage", query_string=_dates(data)).get_data(as_text=True)
    expected = data.expected(own_store_id=store.id)
    assert numbers_on(html) == [r.number for r in expected[:50]]
    assert 'name="store"' not in html
    # Asking for the sister store's id or another store's register shows nothing of theirs.
    html = client.get("/cms/usage", query_string={**_dates(data), "store": data.stores[1].id}).get_data(as_text=True)
    assert not set(numbers_on(html)) - {r.number for r in expected}
    html = client.get("/cms/usage", query_string={**_dates(data), "register": data.other_store.registers[0].id})
    assert "一覧から選んでください。" in html.get_data(as_text=True)


def test_totals_show_count_payments_cancellations_and_net(app, data):
    store = data.stores[0]
    client = logged_in(app, store.code)
    expected = data.expected(own_store_id=store.id)
    html = client.get("/cms/usage", query_string=_dates(data)).get_data(as_text=True)
    paid = sum(r.amount for r in expected)
    cancelled = [r for r in expected if r.status == PaymentStatus.CANCELLED]
    assert f"<dd>{len(expected)}件</dd>" in html
    assert f"<dd>{paid:,}円</dd>" in html
    assert f"取消金額の合計（{len(cancelled)}件）</dt><dd>{sum(r.amount for r in cancelled):,}円" in html
    assert f"<dd>{paid - sum(r.amount for r in cancelled):,}円</dd>" in html


def test_filter_lives_in_the_url_and_pages_keep_it(app, data):
    client = logged_in(app, data.business.code, "business")
    query = {**_dates(data), "status": "completed", "amount_min": "330"}
    response = client.get("/cms/usage", query_string=query)
    html = response.get_data(as_text=True)
    for cookie in response.headers.getlist("Set-Cookie"):  # never remembered in a cookie
        name, _, rest = cookie.partition("=")
        assert name == app.config["SESSION_COOKIE_NAME"]
        session = app.session_interface.get_signing_serializer(app).loads(rest.split(";")[0])
        assert not {"status", "amount_min", "completed", "330"} & set(map(str, list(session) + list(session.values())))
    expected = data.expected(business_id=data.business.id, status=PaymentStatus.COMPLETED, amount_min=330)
    assert len(expected) > 50
    next_link = re.search(r'href="([^"]+)"[^>]*rel="next"', html).group(1).replace("&amp;", "&")
    args = parse_qs(urlsplit(next_link).query)
    assert args["status"] == ["completed"] and args["amount_min"] == ["330"] and args["page"] == ["2"]
    page2 = client.get(next_link).get_data(as_text=True)
    assert numbers_on(page2) == [r.number for r in expected[50:100]]
    # The same URL in a fresh browser (a bookmark, a shared link) shows the same rows.
    other = logged_in(app, data.business.code, "business")
    assert numbers_on(other.get(next_link).get_data(as_text=True)) == numbers_on(page2)
    # Nothing was remembered: the plain page has no status filter.
    plain = client.get("/cms/usage").get_data(as_text=True)
    assert 'value="completed" selected' not in plain


def test_without_conditions_the_list_shows_this_month(app, data):
    client = logged_in(app, data.stores[0].code)
    html = client.get("/cms/usage").get_data(as_text=True)
    today = today_jst()
    last = (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    assert f'value="{today.replace(day=1).isoformat()}"' in html and f'value="{last.isoformat()}"' in html
    assert re.search(r'aria-current="true">今月</a>', html)


def test_presets_link_to_explicit_dates_and_keep_other_conditions(app, data):
    client = logged_in(app, data.stores[0].code)
    html = client.get("/cms/usage", query_string={"member_code": data.members[0].code}).get_data(as_text=True)
    today = today_jst().isoformat()
    link = re.search(r'href="([^"]+)"[^>]*>今日</a>', html).group(1).replace("&amp;", "&")
    args = parse_qs(urlsplit(link).query)
    assert args["date_from"] == [today] and args["date_to"] == [today]
    assert args["member_code"] == [data.members[0].code]
    for label in ("昨日", "今週", "今月", "前回の精算期間"):
        assert f">{label}</a>" in html


@pytest.mark.parametrize(
    "query,field,message",
    [
        ({"date_from": "2026-13-45"}, "date_from", "日付を正しく入力してください"),
        ({"date_from": "2026-04-10", "date_to": "2026-04-01"}, "date_to", "終了日は開始日と同じか"),
        ({"member_code": "12ab"}, "member_code", "会員コードは10桁の数字"),
        ({"amount_min": "千円"}, "amount_min", "金額は数字で入力"),
        ({"amount_min": "5000", "amount_max": "100"}, "amount_max", "上限は下限と同じか"),
        ({"status": "lost"}, "status", "一覧から選んでください"),
        # Refused, never silently read as something else (5 yen, or "no limit").
        ({"amount_min": "-5"}, "amount_min", "金額は0円以上で入力"),
        ({"amount_max": "9" * 24}, "amount_max", "金額は999,999,999円以下で入力"),
        ({"amount_min": "²"}, "amount_min", "金額は数字で入力"),
        ({"amount_max": "①⓪"}, "amount_max", "金額は数字で入力"),
        ({"amount_min": "1.5"}, "amount_min", "金額は1円単位の整数で入力してください（小数は使えません）"),
        ({"member_code": "¹²³⁴⁵⁶⁷⁸⁹⁰"}, "member_code", "会員コードは10桁の数字"),
        ({"date_from": "0001-01-01"}, "date_from", "日付は2000年1月1日から2099年12月31日まで"),
        ({"date_to": "9999-12-31"}, "date_to", "日付は2000年1月1日から2099年12月31日まで"),
        ({"store": "99999999999"}, "store", "一覧から選んでください"),
        ({"register": "abc"}, "register", "一覧から選んでください"),
        ({"method": "cash"}, "method", "一覧から選んでください"),
    ],
)
def test_bad_conditions_are_explained_next_to_the_field_and_kept(app, data, query, field, message):
    client = logged_in(app, data.stores[0].code)
    html = client.get("/cms/usage", query_string=query).get_data(as_text=True)
    assert re.search(rf'id="{field}-error"><li>{message}', html), html[:200]
    for value in query.values():
        if field not in ("status", "store", "register", "method"):  # selects keep the choice, not a value
            assert f'value="{value}"' in html
    assert numbers_on(html) == []


def test_full_width_digits_and_commas_are_understood(app, data):
    store = data.stores[0]
    client = logged_in(app, store.code)
    code = data.members[2].code
    wide = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    html = client.get("/cms/usage", query_string={**_dates(data), "member_code": wide, "amount_min": "１,０００円"})
    expected = data.expected(own_store_id=store.id, member_code=code, amount_min=1000)
    assert numbers_on(html.get_data(as_text=True)) == [r.number for r in expected[:50]]


def test_htmx_gets_only_the_results_and_a_boosted_request_the_page(app, data):
    client = logged_in(app, data.stores[0].code)
    fragment = client.get("/cms/usage", query_string={**_dates(data), "page": 2},
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="results"') and "<html" not in fragment
    page = client.get("/cms/usage", headers={"HX-Request": "true", "HX-Boosted": "true"}).get_data(as_text=True)
    assert "<html" in page
    # The back button after an htmx page change restores the whole page.
    restored = client.get("/cms/usage", query_string={**_dates(data), "page": 2},
                          headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}).get_data(as_text=True)
    assert "<html" in restored


def test_list_is_labelled_for_screen_readers(app, data):
    client = logged_in(app, data.stores[0].code)
    html = client.get("/cms/usage", query_string=_dates(data)).get_data(as_text=True)
    assert '<caption class="visually-hidden">利用状況一覧（日時は日本時間）</caption>' in html
    assert '<th scope="col">利用日時（JST）</th>' in html
    assert 'aria-label="ページ送り"' in html and 'aria-current="page"' in html
    assert re.search(r'aria-label="取消 \d{4}/\d\d/\d\d \d\d:\d\d [\d,]+円 会員コード \d{10}"', html)
    for label in ("期間（開始日）", "期間（終了日）", "レジ", "会員コード", "金額（下限・円）", "金額（上限・円）", "状態", "決済方法"):
        assert re.search(rf'<label for="\w+">{re.escape(label)}</label>', html), label


# --- CSV ------------------------------------------------------------------

def _csv_rows(body: bytes, encoding: str) -> list[list[str]]:
    text = body.decode(encoding)
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("encoding,codec", [("cp932", "cp932"), ("utf-8", "utf-8-sig")])
def test_csv_holds_exactly_the_filtered_rows(app, data, encoding, codec):
    client = logged_in(app, data.business.code, "business")
    query = f"date_from={usage_data.FIRST_DAY.isoformat()}&date_to=2026-03-17&method=store_scan&encoding={encoding}"
    response, body = download(client, f"/cms/usage.csv?{query}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == f"text/csv; charset={'Windows-31J' if encoding == 'cp932' else 'UTF-8'}"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="iseca-usage-')
    assert response.headers["Content-Disposition"].endswith(f'_{"sjis" if encoding == "cp932" else "utf8"}.csv"')
    assert body.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8")
    rows = _csv_rows(body, codec)
    assert rows[0] == ["利用日時（日本時間 JST）", "取引番号", "店舗コード", "店舗名", "レジ", "会員コード", "決済方法",
                       "金額（円）", "状態", "取消日時（日本時間 JST）", "取消したアカウント", "取消可能期限"]
    expected = data.expected(business_id=data.business.id, date_from=usage_data.FIRST_DAY,
                             date_to=dt.date(2026, 3, 17), method=PaymentMethod.STORE_SCAN)
    # Either file writes codes as ="…" so that a spreadsheet keeps every digit (test_csv_in_spreadsheets.py).
    def as_text(code):
        return f'="{code}"'
    assert [r[1] for r in rows[1:]] == [as_text(r.number) for r in expected]
    for line, ref in zip(rows[1:], expected, strict=True):
        assert line[0] == ref.created_at.astimezone(JST).strftime("%Y/%m/%d %H:%M:%S")
        assert line[5] == as_text(ref.member_code) and int(line[7]) == ref.amount
        assert line[8] == ("取消済" if ref.status == PaymentStatus.CANCELLED else "決済済")
        assert bool(line[9]) == (ref.cancelled_at is not None)
        assert line[11] == "2099/12/31"


def test_csv_replaces_what_cp932_cannot_hold_visibly_and_says_so_before(app):
    business = factories.make_business(name="𠮷田商事")
    store = factories.make_store(business, name="𠮷野屋 本店")
    member, card = factories.make_card_member(1_000)
    factories.make_payment_at(store.registers[0], member, 100, utcnow())
    client = logged_in(app, store.code)
    html = client.get("/cms/usage").get_data(as_text=True)
    assert "「〓」に置き換わります" in html and "𠮷野屋 本店：𠮷（1文字）" in html
    _, body = download(client, "/cms/usage.csv")
    rows = _csv_rows(body, "cp932")
    assert rows[1][3] == "〓野屋 本店"
    _, body = download(client, "/cms/usage.csv?encoding=utf-8")
    assert _csv_rows(body, "utf-8-sig")[1][3] == "𠮷野屋 本店"


def _bulk_payments(store, member, campaign, count: int) -> None:
    register = store.registers[0]
    period = period_id(today_jst())
    start = utcnow() - dt.timedelta(days=20)
    for first in range(0, count, 10_000):
        db.session.execute(insert(Payment), [
            dict(number=f"9{i:013d}", business_id=store.business_id, store_id=store.id, register_id=register.id,
                 member_id=member.id, campaign_id=campaign.id, method=PaymentMethod.STORE_SCAN, amount=100 + i % 5000,
                 status=PaymentStatus.COMPLETED, created_at=start + dt.timedelta(seconds=i), period_id=period)
            for i in range(first, min(count, first + 10_000))
        ])
    db.session.commit()


def _export_peak(client, url: str) -> tuple[int, int]:
    """Lines and the peak of Python memory while streaming the export."""
    db.session.commit()

    def run():
        tracemalloc.start()
        tracemalloc.reset_peak()
        response = FlaskClient.open(client, url, buffered=False)
        lines = 0
        for chunk in response.response:
            lines += chunk.count(b"\r\n")
        response.close()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return lines, peak

    return contextvars.Context().run(run)


def test_a_100000_row_export_streams_in_flat_memory(app):
    store = factories.make_store()
    member, _ = factories.make_card_member()
    campaign = factories.make_campaign()
    _bulk_payments(store, member, campaign, 100_000)
    client = logged_in(app, store.code)
    start = (today_jst() - dt.timedelta(days=30)).isoformat()
    _export_peak(client, f"/cms/usage.csv?date_from={start}&amount_max=101")  # warm up templates and caches
    lines_small, peak_small = _export_peak(client, f"/cms/usage.csv?date_from={start}&amount_max=1000")
    lines_all, peak_all = _export_peak(client, f"/cms/usage.csv?date_from={start}")
    assert lines_small == 1 + 100_000 // 5000 * 901
    assert lines_all == 1 + 100_000
    print(f"\nexport peak: {lines_small} lines {peak_small / 1e6:.1f} MB, {lines_all} lines {peak_all / 1e6:.1f} MB")
    # Five times the rows, about the same memory: one chunk at a time, never the whole list.
    assert peak_all < peak_small * 1.5 + 2_000_000
    assert peak_all < 16_000_000


# --- 取消 -------------------------------------------------------------------

@pytest.fixture
def till(app):
    store = factories.make_store(registers=2)
    member, card = factories.make_card_member(10_000)
    return store, member, card


def test_cancel_asks_for_confirmation_repeating_time_amount_and_member(app, till):
    store, member, card = till
    payment = factories.make_payment_at(store.registers[0], member, 1_280, utcnow(), card=card)
    client = logged_in(app, store.code)
    list_url = f"/cms/usage?member_code={member.code}"
    html = client.get(list_url).get_data(as_text=True)
    link = re.search(r'href="(/cms/usage/\d+/cancel[^"]*)"', html).group(1).replace("&amp;", "&")
    page = client.get(link).get_data(as_text=True)
    assert "決済の取消" in page
    assert payment.created_at.astimezone(JST).strftime("%Y/%m/%d %H:%M:%S") in page
    assert "1,280円" in page and member.code in page
    assert 'name="password"' not in page  # today's payment: no password again
    assert ledger.member_balance(member.id) == 8_720  # nothing happened yet

    response = client.post(link, data={"csrf_token": csrf_from(page)})
    assert response.status_code == 303
    assert response.headers["Location"] == list_url  # back to the list as it was filtered
    after = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "を取消しました" in after and "取消済" in after
    assert ledger.member_balance(member.id) == 10_000


def test_cancelling_an_older_payment_asks_for_the_password_again(app, till):
    store, member, _ = till
    payment = factories.make_payment_at(store.registers[0], member, 500, utcnow() - dt.timedelta(days=2))
    client = logged_in(app, store.code)
    url = f"/cms/usage/{payment.id}/cancel"
    assert 'name="password"' in client.get(url).get_data(as_text=True)

    for wrong, message in (("", "パスワードを入力してください"), ("not the password", "パスワードが違います")):
        response = post_form(client, url, {"password": wrong})
        assert response.status_code == 200 and message in response.get_data(as_text=True)
        db.session.refresh(payment)
        assert payment.status == PaymentStatus.COMPLETED
    assert ledger.member_balance(member.id) == 9_500

    response = post_form(client, url, {"password": factories.PASSWORD})
    assert response.status_code == 303
    db.session.refresh(payment)
    assert payment.status == PaymentStatus.CANCELLED
    assert ledger.member_balance(member.id) == 10_000


def test_repeated_wrong_passwords_for_a_cancel_are_throttled(app, till):
    store, member, _ = till
    payment = factories.make_payment_at(store.registers[0], member, 500, utcnow() - dt.timedelta(days=2))
    client = logged_in(app, store.code)
    url = f"/cms/usage/{payment.id}/cancel"
    token = csrf_from(client.get(url).get_data(as_text=True))
    statuses = [client.post(url, data={"csrf_token": token, "password": f"wrong guess {i}"}).status_code
                for i in range(6)]
    assert statuses == [200] * 5 + [429]
    assert "操作が多すぎます" in client.post(url, data={"csrf_token": token, "password": factories.PASSWORD}).get_data(as_text=True)
    db.session.refresh(payment)
    assert payment.status == PaymentStatus.COMPLETED


def test_cancel_after_the_campaign_ended_is_refused_with_a_clear_message(app):
    store = factories.make_store()
    campaign = factories.make_campaign(starts_on=dt.date(2025, 4, 1), ends_on=dt.date(2026, 3, 31))
    member, _ = factories.make_card_member(3_000, campaign)
    payment = factories.make_payment_at(store.registers[0], member, 1_000, dt.datetime(2026, 3, 31, 12, tzinfo=JST))
    client = logged_in(app, store.code)
    html = client.get("/cms/usage?date_from=2026-03-31&date_to=2026-03-31").get_data(as_text=True)
    assert "期限切れ（2026/03/31）" in html and f"/cms/usage/{payment.id}/cancel" not in html
    page = client.get(f"/cms/usage/{payment.id}/cancel").get_data(as_text=True)
    assert "キャンペーン期間（2026年3月31日まで）が終了したため、この決済は取消できません。" in page
    assert "取消する" not in page
    response = client.post(f"/cms/usage/{payment.id}/cancel",
                           data={"csrf_token": csrf_from(page), "password": factories.PASSWORD})
    assert "が終了したため" in response.get_data(as_text=True)
    db.session.refresh(payment)
    assert payment.status == PaymentStatus.COMPLETED
    assert ledger.member_account(member.id, campaign.id).balance == 2_000


def test_two_tills_cancelling_at_once_return_the_points_once(app, till):
    store, member, _ = till
    payment = factories.make_payment_at(store.registers[0], member, 3_000, utcnow())
    clients = [logged_in(app, store.code) for _ in range(2)]
    url = f"/cms/usage/{payment.id}/cancel"
    tokens = [csrf_from(c.get(url).get_data(as_text=True)) for c in clients]
    db.session.commit()
    barrier = threading.Barrier(2)
    results = []

    def cancel(client, token):
        with app.app_context():
            barrier.wait()
            results.append(client.post(url, data={"csrf_token": token}))

    threads = [threading.Thread(target=cancel, args=pair) for pair in zip(clients, tokens, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [r.status_code for r in results] == [303, 303]
    assert ledger.member_balance(member.id) == 10_000
    count = db.session.scalar(select(func.count()).select_from(LedgerTransaction)
                              .where(LedgerTransaction.kind == LedgerTransactionKind.CANCELLATION))
    assert count == 1
    assert ledger.verify_books() == []
    flashes = [clients[i].get("/cms/usage").get_data(as_text=True) for i in range(2)]
    assert sum("を取消しました" in f for f in flashes) == 1
    assert sum("すでに取消されています" in f for f in flashes) == 1


# --- 日計 -----------------------------------------------------------------

def test_daily_totals_page_and_csv_show_each_register_and_day(app, data):
    store = data.stores[0]
    client = logged_in(app, store.code)
    query = _dates(data)
    html = client.get("/cms/usage/daily", query_string=query).get_data(as_text=True)
    assert "日計（日別・レジ別の集計）" in html and "期間合計" in html and "data-print" in html
    expected = [r for r in data.refs if r.store_id == store.id]
    assert f"{len(expected)}件</td><td class=\"num\">{sum(r.amount for r in expected):,}円" in html
    _, body = download(client, f"/cms/usage/daily.csv?date_from={query['date_from']}&date_to={query['date_to']}")
    rows = _csv_rows(body, "cp932")
    assert rows[0][:5] == ["日付（日本時間 JST）", "店舗コード", "店舗名", "レジ", "決済件数"]
    assert sum(int(r[4]) for r in rows[1:]) == len(expected)
    assert sum(int(r[5]) for r in rows[1:]) == sum(r.amount for r in expected)


def test_daily_totals_show_a_month_of_days_a_page_and_the_csv_every_day(app, data, monkeypatch):
    monkeypatch.setattr(usage, "DAYS_PER_PAGE", 5)
    store = data.stores[0]
    client = logged_in(app, store.code)
    query = _dates(data)
    whole = usage.daily_totals(UsageFilter(own_store_id=store.id, date_from=usage_data.FIRST_DAY,
                                           date_to=usage_data.FIRST_DAY + dt.timedelta(days=usage_data.DAYS)))
    days = [day for day, _ in whole.days]
    html = client.get("/cms/usage/daily", query_string={**query, "page": 2}).get_data(as_text=True)
    shown = [day for day in days if f"{day:%Y/%m/%d} 日合計" in html]
    assert shown == days[5:10]
    assert f"{len(days)}日分を5日ずつ表示しています（2 / {-(-len(days) // 5)}ページ）" in html
    assert 'rel="prev"' in html and "新しい日へ" in html
    # The period's total is the whole filter's, on every page.
    assert f"{whole.totals.payment_count}件</td><td class=\"num\">{whole.totals.payment_sum:,}円" in html
    _, body = download(client, f"/cms/usage/daily.csv?date_from={query['date_from']}&date_to={query['date_to']}&page=2")
    assert {row[0] for row in _csv_rows(body, "cp932")[1:]} == {f"{day:%Y/%m/%d}" for day in days}


# --- who may see what: the url_map walk (tests/test_route_access.py); here, a business's own store ---


def test_business_can_cancel_a_payment_of_its_store(app, till):
    store, member, _ = till
    payment = factories.make_payment_at(store.registers[0], member, 400, utcnow())
    client = logged_in(app, store.business.code, "business")
    assert post_form(client, f"/cms/usage/{payment.id}/cancel", {}).status_code == 303
    db.session.refresh(payment)
    assert payment.status == PaymentStatus.CANCELLED
    assert payment.cancelled_by_account_id == factories.account_of(AccountKind.BUSINESS, store.business.code).id
