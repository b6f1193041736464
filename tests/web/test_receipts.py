"""レシート: the receipt page of a payment and of its 取消 (terminal and
management site), who may open it, what it says in each language, the
paper width chosen in 店舗情報, and the public page its QR code opens."""
from __future__ import annotations

import base64
import datetime as dt
import html as htmllib
import re
from urllib.parse import urlsplit

import pytest

from iseca.extensions import db
from iseca.models import AccountKind
from iseca.money import cancellation
from iseca.timeutil import JST
from tests import factories
from tests.qr_helpers import decode_qr
from tests.support.client import basic_auth_header, csrf_from, login

PAID_AT = dt.datetime(2026, 12, 3, 14, 5, tzinfo=JST)
CANCELLED_AT = dt.datetime(2026, 12, 3, 14, 30, tzinfo=JST)


def signed_in(app, code: str, *, area: str, kind: str | None = "store"):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
    assert login(client, code, factories.PASSWORD, area=area, kind=kind).status_code == 303
    return client


@pytest.fixture
def shop(app):
    """A store with an address, a card member who paid 1,200 points of 5,000
    and an app member who paid 800."""
    store = factories.make_store(name="いせさき食堂", postal_code="372-0014", address="群馬県伊勢崎市今泉町2-410")
    member, card = factories.make_card_member(balance=5000)
    paid = factories.make_payment_at(store.registers[0], member, 1200, PAID_AT, card=card)
    app_member, _ = factories.make_app_member(balance=3000)
    wallet = factories.make_payment_at(store.registers[0], app_member, 800, PAID_AT)
    return store, member, card, paid, app_member, wallet


def text_of(response) -> str:
    """The page's words, tags removed (what the reader sees)."""
    assert response.status_code == 200, response.status_code
    body = response.get_data(as_text=True)
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


def receipt_of(response) -> str:
    """The words of the receipt itself (the <article>, without the clerk's controls)."""
    assert response.status_code == 200, response.status_code
    article = re.search(r'<article class="receipt.*?</article>', response.get_data(as_text=True), re.S).group(0)
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", article))).strip()


def qr_target(html: str) -> str:
    """The address the receipt's QR code holds, read by zbar."""
    uri = re.search(r'<img src="data:image/png;base64,([^"]+)" alt="このレシートのQRコード"', html).group(1)
    found = decode_qr(base64.b64decode(uri))
    assert len(found) == 1
    return found[0]


def cancel(payment, store):
    cancellation.cancel_payment(payment, actor=factories.account_of(AccountKind.STORE, store.code), at=CANCELLED_AT)
    db.session.commit()


def test_card_payment_receipt_has_every_field_and_the_card_masked(app, shop):
    store, member, card, paid, *_ = shop
    page = signed_in(app, store.code, area="terminal").get(f"/terminal/history/{paid.id}/receipt")
    words = text_of(page)
    for expected in ("いせさき食堂", "〒372-0014", "群馬県伊勢崎市今泉町2-410", "2026/12/03 14:05 JST", "ISECAポイント",
                     "ご利用金額 1,200円", f"カード番号 ****{card.number[-4:]}", f"取引番号 {paid.number}",
                     "カード残高 3,800 ポイント", "印刷する"):
        assert expected in words, expected
    assert card.number not in words and member.code not in words and "取消" not in receipt_of(page)
    html = page.get_data(as_text=True)
    assert "css/receipt-a4.css" in html  # no width chosen yet: A4, which any printer prints
    assert 'data-print hidden' in html and "js/print.js" in html


def test_wallet_members_receipt_masks_the_member_code_and_prints_no_balance(app, shop):
    store, *_, app_member, wallet = shop
    words = text_of(signed_in(app, store.code, area="terminal").get(f"/terminal/history/{wallet.id}/receipt"))
    assert f"会員コード ****{app_member.code[-4:]}" in words and "ご利用金額 800円" in words
    assert app_member.code not in words
    assert "残高" not in words and "2,200" not in words


def test_cancelled_payment_and_its_cancellation_have_receipts_marked_cancelled(app, shop):
    store, member, card, paid, *_ = shop
    till = signed_in(app, store.code, area="terminal")
    assert till.get(f"/terminal/history/{paid.id}/receipt?kind=cancellation").status_code == 404  # not cancelled yet
    cancel(paid, store)
    page = till.get(f"/terminal/history/{paid.id}/receipt")
    receipt = receipt_of(page)
    assert receipt.startswith("取消")  # the mark above the store's name
    assert "ご利用金額 1,200円" in receipt and "カード残高 3,800 ポイント" in receipt and "取消日時 2026/12/03 14:30 JST" in receipt
    assert "取消のレシートを表示" in text_of(page)
    receipt = receipt_of(till.get(f"/terminal/history/{paid.id}/receipt?kind=cancellation"))
    assert receipt.startswith("取消") and "取消レシート" in receipt
    assert "取消日時 2026/12/03 14:30 JST" in receipt and "取消金額 1,200円" in receipt
    assert "カード残高 5,000 ポイント" in receipt  # the points came back
    assert f"取引番号 {paid.number}" in receipt


def test_only_the_store_that_took_the_payment_opens_its_receipt(app, shop):
    store, member, card, paid, *_ = shop
    other = factories.make_store()
    sibling = factories.make_store(store.business)
    assert signed_in(app, other.code, area="terminal").get(f"/terminal/history/{paid.id}/receipt").status_code == 404
    assert signed_in(app, sibling.code, area="terminal").get(f"/terminal/history/{paid.id}/receipt").status_code == 404
    assert signed_in(app, other.code, area="cms").get(f"/cms/usage/{paid.id}/receipt").status_code == 404
    assert signed_in(app, other.business.code, area="cms", kind="business").get(f"/cms/usage/{paid.id}/receipt").status_code == 404
    # Its own store, in both areas, and its business in the management site.
    assert signed_in(app, store.code, area="cms").get(f"/cms/usage/{paid.id}/receipt").status_code == 200
    assert signed_in(app, store.business.code, area="cms", kind="business").get(f"/cms/usage/{paid.id}/receipt").status_code == 200
    anonymous = app.test_client()
    anonymous.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
    assert anonymous.get(f"/terminal/history/{paid.id}/receipt").status_code in (302, 303)
    assert signed_in(app, store.code, area="terminal").get("/terminal/history/999999/receipt").status_code == 404


@pytest.mark.parametrize("lang,words", [
    ("en", ("ISECA points", "Amount", "Card number", "Transaction number", "Card balance", "3,800 points")),
    ("pt_BR", ("Pontos ISECA", "Número do cartão", "Número da transação", "Saldo do cartão")),
    ("vi", ("Điểm ISECA", "Số thẻ", "Mã giao dịch", "Số dư thẻ")),
])
def test_receipt_in_the_language_the_clerk_picks_for_the_customer(app, shop, lang, words):
    store, member, card, paid, *_ = shop
    page = signed_in(app, store.code, area="terminal").get(f"/terminal/history/{paid.id}/receipt?lang={lang}")
    text = text_of(page)
    receipt = receipt_of(page)
    for word in words:
        assert word in receipt, word
    assert "ISECAポイント" not in receipt and "取引番号" not in receipt
    assert "印刷する" in text  # the clerk's own controls stay in the clerk's language
    assert f'lang="{lang.replace("_", "-")}"' in page.get_data(as_text=True)


def test_cancelled_mark_is_translated(app, shop):
    store, member, card, paid, *_ = shop
    cancel(paid, store)
    till = signed_in(app, store.code, area="terminal")
    receipt = receipt_of(till.get(f"/terminal/history/{paid.id}/receipt?kind=cancellation&lang=en"))
    assert receipt.startswith("CANCELLED") and "Cancellation receipt" in receipt, receipt[:40]


def test_receipt_width_chosen_in_store_settings_picks_the_print_stylesheet(app, shop):
    store, member, card, paid, *_ = shop
    cms = signed_in(app, store.code, area="cms")
    page = cms.get(f"/cms/stores/{store.id}").get_data(as_text=True)
    assert "レシートの幅" in page and "58mm（感熱ロール紙）" in page
    profile = {"category": "飲食", "area": "伊勢崎地区", "postal_code": "372-0014", "address": "群馬県伊勢崎市今泉町2-410",
               "phone": "0270-24-5111", "hours": "9:00〜18:00"}
    bad = cms.post(f"/cms/stores/{store.id}", data={"csrf_token": csrf_from(page), **profile, "receipt_width": "99mm"})
    assert bad.status_code == 200 and "レシートの幅を一覧から選んでください。" in bad.get_data(as_text=True)
    saved = cms.post(f"/cms/stores/{store.id}", data={"csrf_token": csrf_from(page), **profile, "receipt_width": "58mm"})
    assert saved.status_code == 303
    db.session.refresh(store)
    assert store.receipt_width == "58mm"
    till = signed_in(app, store.code, area="terminal")
    html = till.get(f"/terminal/history/{paid.id}/receipt").get_data(as_text=True)
    assert "css/receipt-58mm.css" in html and "receipt-a4.css" not in html
    assert "css/receipt-80mm.css" in till.get(f"/terminal/history/{paid.id}/receipt?width=80mm").get_data(as_text=True)
    assert "css/receipt-58mm.css" in till.get(f"/terminal/history/{paid.id}/receipt?width=../x").get_data(as_text=True)
    for width in ("58mm", "80mm", "a4"):
        assert "@page" in app.test_client().get(f"/static/css/receipt-{width}.css").get_data(as_text=True)


def test_receipt_qr_opens_the_public_receipt_without_login(app, shop):
    store, member, card, paid, *_ = shop
    html = signed_in(app, store.code, area="terminal").get(f"/terminal/history/{paid.id}/receipt").get_data(as_text=True)
    target = qr_target(html)
    assert target.startswith(app.config["PUBLIC_BASE_URL"].rstrip("/") + "/receipt/")
    path = urlsplit(target).path
    public = app.test_client()  # no login, no BASIC gate
    response = public.get(path)
    words = text_of(response)
    for expected in ("いせさき食堂", "群馬県伊勢崎市今泉町2-410", "2026/12/03 14:05 JST", "ISECAポイント", "1,200円",
                     f"****{card.number[-4:]}", paid.number, "3,800 ポイント"):
        assert expected in words, expected
    assert card.number not in words and member.code not in words and member.name not in words
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "English" in words and "en" in public.get(path + "?lang=en").get_data(as_text=True)
    assert "ISECA points" in text_of(public.get(path + "?lang=en"))


def test_tampered_or_foreign_receipt_tokens_are_404(app, shop):
    from iseca.web import receipts as web_receipts

    store, member, card, paid, *_ = shop
    html = signed_in(app, store.code, area="terminal").get(f"/terminal/history/{paid.id}/receipt").get_data(as_text=True)
    token = urlsplit(qr_target(html)).path.rsplit("/", 1)[1]
    public = app.test_client()
    assert public.get(f"/receipt/{token}").status_code == 200
    changed = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert public.get(f"/receipt/{changed}").status_code == 404
    with app.test_request_context():
        other_payment = web_receipts.public_token(paid.id + 1000, "payment")
        cancellation_receipt = web_receipts.public_token(paid.id, "cancellation")
    assert public.get(f"/receipt/{other_payment}").status_code == 404
    assert public.get(f"/receipt/{cancellation_receipt}").status_code == 404  # not cancelled
    # Another salt or key: the app's other signed references do not open receipts.
    from itsdangerous import URLSafeSerializer
    forged = URLSafeSerializer("not the key", salt="receipt").dumps([paid.id, 0])
    assert public.get(f"/receipt/{forged}").status_code == 404
    run = URLSafeSerializer(app.config["SECRET_KEY"], salt="terminal-run").dumps([paid.id, 0])
    assert public.get(f"/receipt/{run}").status_code == 404


def test_receipt_buttons_on_done_history_detail_and_usage_list(app, shop):
    store, member, card, paid, *_ = shop
    till = signed_in(app, store.code, area="terminal")
    done = till.get(f"/terminal/pay/done/{paid.id}").get_data(as_text=True)
    assert re.search(rf'href="/terminal/history/{paid.id}/receipt\?back=[^"]+"[^>]*>レシート</a>', done)
    listing = till.get("/terminal/history").get_data(as_text=True)
    assert f'href="/terminal/history/{paid.id}/receipt?back=' in listing
    detail = till.get(f"/terminal/history/{paid.id}").get_data(as_text=True)
    assert f'/terminal/history/{paid.id}/receipt?back=' in detail and "取消のレシート" not in detail
    cancel(paid, store)
    detail = till.get(f"/terminal/history/{paid.id}").get_data(as_text=True)
    assert "取消のレシート" in detail and "kind=cancellation" in detail
    usage = signed_in(app, store.code, area="cms").get("/cms/usage").get_data(as_text=True)
    assert f'href="/cms/usage/{paid.id}/receipt?back=' in usage
    # 「戻る」 returns where the clerk came from, never off the site.
    page = till.get(f"/terminal/history/{paid.id}/receipt", query_string={"back": f"/terminal/history/{paid.id}"})
    assert f'href="/terminal/history/{paid.id}"' in page.get_data(as_text=True)
    away = till.get(f"/terminal/history/{paid.id}/receipt", query_string={"back": "https://evil.example/"})
    assert "evil.example" not in away.get_data(as_text=True)
