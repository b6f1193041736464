"""The counter's members, cards and grants."""
from __future__ import annotations

import base64
import io
import re

import pytest
from PIL import Image
from pyzbar.pyzbar import decode
from sqlalchemy import func, select

from iseca.extensions import db
from iseca.members import payers
from iseca.models import AuditLog, Card, CardStatus, LedgerTransaction, Member, MemberKind
from iseca.money import ledger
from tests import factories
from tests.support.client import csrf_from, login


@pytest.fixture
def counter(client):
    factories.make_staff("staff1")
    assert login(client, "staff1", factories.PASSWORD, area="counter", kind=None).status_code == 303
    return client


def form_post(client, url, data, page_url=None, **kwargs):
    """POST as a browser sends the page's form: its CSRF token and one-time key too."""
    page = client.get(page_url or url).get_data(as_text=True)
    key = re.search(r'name="key" type="hidden" value="([^"]*)"|name="key" value="([^"]*)"', page)
    hidden = {"key": key.group(1) or key.group(2)} if key else {}
    return client.post(url, data={"csrf_token": csrf_from(page), **hidden, **data}, **kwargs)


def test_issue_a_batch_of_cards_and_print_their_sheet(counter):
    resp = form_post(counter, "/counter/cards/issue", {"count": "3", "batch": "2026-04-窓口"})
    assert resp.status_code == 303
    sheet = counter.get(resp.headers["Location"]).get_data(as_text=True)
    cards = list(db.session.scalars(select(Card).where(Card.batch == "2026-04-窓口")))
    assert len(cards) == 3
    for card in cards:
        assert card.number[:4] in sheet and card.member.code in sheet
    # each QR on the sheet reads back as the card's balance-page address
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', sheet)
    texts = sorted(decode(Image.open(io.BytesIO(base64.b64decode(d))))[0].data.decode() for d in images)
    assert texts == sorted(payers.card_qr_text(c) for c in cards)
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "cards_issued")).details["count"] == 3


def test_issue_refuses_zero_and_too_many_cards(counter):
    for count in ("0", "501", "abc"):
        resp = form_post(counter, "/counter/cards/issue", {"count": count, "batch": "x"})
        assert resp.status_code == 200 and "発行枚数" in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Card)) == 0


def test_single_grant_adds_points_with_audit(counter):
    campaign = factories.make_campaign()
    member, card = factories.make_card_member()
    resp = form_post(counter, f"/counter/members/{member.id}", {"kind": "grant", "campaign_id": campaign.id, "amount": "３０００", "memo": "子育て応援"})
    assert resp.status_code == 303
    assert ledger.member_balance(member.id) == 3_000
    txn = db.session.scalar(select(LedgerTransaction).where(LedgerTransaction.memo == "子育て応援"))
    assert txn.actor_account_id is not None
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "points_granted")).target_id == member.id
    page = counter.get(f"/counter/members/{member.id}").get_data(as_text=True)
    assert "3,000ポイントを付与しました" in page
    movements = page.split("最近の動き")[1]
    assert "付与" in movements and "+3,000" in movements and "子育て応援" in movements


@pytest.mark.parametrize("amount", ["0", "-100", "1.5", "abc", "1000001"])
def test_bad_grant_amount_is_refused_next_to_the_field(counter, amount):
    campaign = factories.make_campaign()
    member, _ = factories.make_card_member()
    resp = form_post(counter, f"/counter/members/{member.id}", {"kind": "grant", "campaign_id": campaign.id, "amount": amount, "memo": "x"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="amount-error"' in html
    assert ledger.member_balance(member.id) == 0


def _upload(counter, campaign, text: str, encoding="utf-8"):
    data = {"campaign_id": str(campaign.id), "memo": "一括付与テスト",
            "file": (io.BytesIO(text.encode(encoding)), "grants.csv")}
    return form_post(counter, "/counter/grants/upload", data, content_type="multipart/form-data")


def test_csv_grant_preview_then_commit_grants_all_once(counter):
    campaign = factories.make_campaign()
    a, _ = factories.make_card_member()
    b, _ = factories.make_app_member()
    preview = _upload(counter, campaign, f"会員コード,ポイント\r\n{a.code},1000\r\n{b.code},２５００\r\n", encoding="cp932")
    html = preview.get_data(as_text=True)
    assert "3,500" in html and "2件" in html
    assert ledger.member_balance(a.id) == 0  # nothing granted by the preview
    fields = dict(re.findall(r'name="(campaign_id|memo|csv_data|key)" value="([^"]*)"', html))
    resp = counter.post("/counter/grants/commit", data={"csrf_token": csrf_from(html), **fields})
    assert resp.status_code == 303
    again = counter.post("/counter/grants/commit", data={"csrf_token": csrf_from(html), **fields})
    assert again.status_code == 303
    assert ledger.member_balance(a.id) == 1_000 and ledger.member_balance(b.id) == 2_500
    assert ledger.verify_books() == []


def test_csv_with_one_bad_line_grants_nothing(counter):
    campaign = factories.make_campaign()
    a, _ = factories.make_card_member()
    preview = _upload(counter, campaign, f"{a.code},1000\n0000000000,500\n{a.code},-5\n")
    html = preview.get_data(as_text=True)
    assert "登録されていません" in html and "1ポイント以上" in html and "1件も付与されません" in html
    assert 'action="/counter/grants/commit"' not in html
    # a hand-made commit of the same content is refused too
    import base64 as b64
    text = f"{a.code},1000\n0000000000,500\n"
    resp = counter.post("/counter/grants/commit", data={"csrf_token": csrf_from(html), "campaign_id": campaign.id, "memo": "x",
                                                        "csv_data": b64.b64encode(text.encode()).decode(), "key": "k" * 24})
    assert resp.status_code == 422
    assert ledger.member_balance(a.id) == 0


def test_lost_card_is_suspended_then_replaced_keeping_the_balance(counter, app):
    member, card = factories.make_card_member(4_200)
    page = counter.get(f"/counter/cards/{card.id}/suspend").get_data(as_text=True)
    assert "4,200" in page
    assert counter.post(f"/counter/cards/{card.id}/suspend", data={"csrf_token": csrf_from(page)}).status_code == 303
    db.session.refresh(card)
    assert card.status == CardStatus.SUSPENDED
    with pytest.raises(Exception, match="利用停止中"):
        payers.identify(card.number)
    page = counter.get(f"/counter/cards/{card.id}/replace").get_data(as_text=True)
    resp = counter.post(f"/counter/cards/{card.id}/replace", data={"csrf_token": csrf_from(page)})
    assert resp.status_code == 303
    db.session.refresh(card)
    new_card = db.session.get(Card, card.replaced_by_id)
    assert card.status == CardStatus.REPLACED and new_card.status == CardStatus.ACTIVE
    assert payers.identify(new_card.number).member.id == member.id
    assert ledger.member_balance(member.id) == 4_200
    balance_page = counter.get(f"/card/{new_card.number}/{new_card.secret}").get_data(as_text=True)
    assert "4,200" in balance_page


def test_app_member_is_registered_with_an_initial_password(counter):
    resp = form_post(counter, "/counter/members/new", {"email": "Taro@Example.jp", "name": "伊勢崎 太郎"})
    html = resp.get_data(as_text=True)
    member = db.session.scalar(select(Member).where(Member.email == "taro@example.jp"))
    assert member.kind == MemberKind.APP and member.code in html and "初期パスワード" in html
    again = form_post(counter, "/counter/members/new", {"email": "taro@example.jp", "name": "別人"})
    assert "すでに登録されています" in again.get_data(as_text=True)


def test_member_search_finds_by_card_number_and_code(counter):
    member, card = factories.make_card_member(100)
    html = counter.get("/counter/members", query_string={"q": card.number}).get_data(as_text=True)
    assert member.code in html
    html = counter.get("/counter/members", query_string={"q": member.code}).get_data(as_text=True)
    assert member.code in html


def test_campaign_is_created_and_its_dates_checked(counter):
    resp = form_post(counter, "/counter/campaigns", {"name": "令和8年度", "starts_on": "2026-04-01", "ends_on": "2027-03-31"})
    assert resp.status_code == 303
    bad = form_post(counter, "/counter/campaigns", {"name": "逆", "starts_on": "2026-04-01", "ends_on": "2026-03-31"})
    assert "終了日は開始日以降" in bad.get_data(as_text=True)


COUNTER_ROUTES = ["/counter/members", "/counter/members/1", "/counter/members/new", "/counter/cards/issue",
                  "/counter/cards/sheet/x", "/counter/cards/1/suspend", "/counter/cards/1/replace",
                  "/counter/grants/upload", "/counter/campaigns"]


@pytest.mark.parametrize("url", COUNTER_ROUTES)
def test_counter_member_routes_refuse_store_accounts(client, url):
    store = factories.make_store()
    assert login(client, store.code, factories.PASSWORD, area="terminal", kind=None).status_code == 303
    resp = client.get(url)
    assert resp.status_code == 302 and "/counter/login" in resp.headers["Location"]


@pytest.mark.parametrize("url", COUNTER_ROUTES + ["/counter/grants/commit"])
def test_counter_member_routes_need_a_login(client, url):
    resp = client.get(url)
    assert resp.status_code in (302, 405)


def test_charge_is_recorded_as_a_charge(counter):
    campaign = factories.make_campaign()
    member, _ = factories.make_card_member()
    resp = form_post(counter, f"/counter/members/{member.id}", {"kind": "charge", "campaign_id": campaign.id,
                                                                "amount": "5000", "memo": "窓口で現金入金"})
    assert resp.status_code == 303
    txn = db.session.scalar(select(LedgerTransaction).where(LedgerTransaction.memo == "窓口で現金入金"))
    assert txn.kind.value == "charge" and ledger.member_balance(member.id) == 5_000


def test_replacement_card_sheet_shows_only_that_card(counter, app):
    """A card sheet carries balance-page secrets: replacing one member's card
    must not print anyone else's."""
    _, first = factories.make_card_member(100)
    _, second = factories.make_card_member(200)
    sheets = []
    for card in (first, second):
        page = counter.get(f"/counter/cards/{card.id}/replace").get_data(as_text=True)
        resp = counter.post(f"/counter/cards/{card.id}/replace", data={"csrf_token": csrf_from(page)})
        sheets.append(counter.get(resp.headers["Location"]).get_data(as_text=True))
    new_first = db.session.get(Card, db.session.get(Card, first.id).replaced_by_id)
    new_second = db.session.get(Card, db.session.get(Card, second.id).replaced_by_id)
    assert new_first.secret in sheets[0] and new_second.secret not in sheets[0]
    assert new_second.secret in sheets[1] and new_first.secret not in sheets[1]


def test_batch_name_that_would_break_the_sheet_address_is_refused(counter):
    resp = form_post(counter, "/counter/cards/issue", {"count": "1", "batch": "2026/04"})
    assert resp.status_code == 200
    assert "発行ロット名に / \\ ? # % は使えません" in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Card)) == 0
