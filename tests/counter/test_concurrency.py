"""The counter's money actions under repeats and races, over real HTTP with
one thread per request: a grant form sent many times at once (or sent
again) credits once; a card replaced by several requests at once leaves one
active replacement."""
from __future__ import annotations

import re
import threading

from sqlalchemy import func, select

from iseca.extensions import db
from iseca.models import AuditLog, Card, CardStatus, LedgerTransaction, LedgerTransactionKind
from iseca.money import ledger
from tests import factories
from tests.httpclient import Till

KEY_RE = re.compile(r'name="key" (?:type="hidden" )?value="([^"]+)"')


def _clerk(server) -> Till:
    factories.make_staff("staff1")
    clerk = Till(server.url)
    assert clerk.login("counter", "staff1", factories.PASSWORD) == 303
    return clerk


def _all_at_once(server, cookies: dict, count: int, path: str, form: dict) -> list[tuple[int, str]]:
    """`count` copies of one POST sent together, each on its own connection."""
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(count)

    def send():
        copy = Till(server.url)
        copy.cookies = dict(cookies)
        barrier.wait()
        status, headers, _ = copy.post(path, form)
        with lock:
            answers.append((status, headers.get("Location", "")))
        copy.close()

    threads = [threading.Thread(target=send) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return answers


def _grant_form(clerk: Till, member_id: int, campaign_id: int, amount: str) -> dict:
    status, _, page = clerk.get(f"/counter/members/{member_id}")
    assert status == 200
    return {"csrf_token": clerk.csrf(f"/counter/members/{member_id}"), "key": KEY_RE.search(page).group(1),
            "kind": "grant", "campaign_id": str(campaign_id), "amount": amount, "memo": "子育て応援"}


def test_ten_identical_grant_posts_at_once_credit_once(app, server):
    campaign = factories.make_campaign()
    member, _ = factories.make_card_member()
    clerk = _clerk(server)
    form = _grant_form(clerk, member.id, campaign.id, "1000")
    answers = _all_at_once(server, clerk.cookies, 10, f"/counter/members/{member.id}", form)
    assert len(answers) == 10
    # Each answer is the first result (303 back to the member) or, past the
    # wait for the first, "being processed" (409): never a second grant.
    assert all(status in (303, 409) for status, _ in answers), answers
    assert any(status == 303 for status, _ in answers)
    db.session.commit()  # read what the server wrote
    assert ledger.member_balance(member.id) == 1_000
    grants = db.session.scalar(select(func.count()).select_from(LedgerTransaction)
                               .where(LedgerTransaction.kind == LedgerTransactionKind.GRANT))
    assert grants == 1
    assert db.session.scalar(select(func.count()).select_from(AuditLog)
                             .where(AuditLog.action == "points_granted")) == 1
    assert ledger.verify_books() == []


def test_grant_form_sent_again_credits_once_and_says_so(app, server):
    campaign = factories.make_campaign()
    member, _ = factories.make_card_member()
    clerk = _clerk(server)
    form = _grant_form(clerk, member.id, campaign.id, "1000")
    first, _, _ = clerk.post(f"/counter/members/{member.id}", form)
    again, headers, _ = clerk.post(f"/counter/members/{member.id}", form)
    assert first == again == 303
    _, _, page = clerk.get(headers["Location"])
    assert "すでに登録済み" in page and "二重には付与していません" in page
    db.session.commit()
    assert ledger.member_balance(member.id) == 1_000
    # A new form (a new key) is a new grant.
    second = _grant_form(clerk, member.id, campaign.id, "500")
    assert second["key"] != form["key"]
    assert clerk.post(f"/counter/members/{member.id}", second)[0] == 303
    db.session.commit()
    assert ledger.member_balance(member.id) == 1_500


def test_six_replacements_of_one_card_at_once_leave_one_active_card(app, server):
    member, card = factories.make_card_member(4_200)
    clerk = _clerk(server)
    csrf = clerk.csrf(f"/counter/cards/{card.id}/replace")
    answers = _all_at_once(server, clerk.cookies, 6, f"/counter/cards/{card.id}/replace", {"csrf_token": csrf})
    assert len(answers) == 6 and all(status == 303 for status, _ in answers), answers
    sheets = [location for _, location in answers if "/counter/cards/sheet/" in location]
    assert len(sheets) == 1  # one request replaced the card; the others were told it already was
    db.session.commit()
    cards = list(db.session.scalars(select(Card).where(Card.member_id == member.id).order_by(Card.id)))
    active = [c for c in cards if c.status == CardStatus.ACTIVE]
    assert len(cards) == 2 and len(active) == 1
    old = db.session.get(Card, card.id)
    assert old.status == CardStatus.REPLACED and old.replaced_by_id == active[0].id
    assert db.session.scalar(select(func.count()).select_from(AuditLog)
                             .where(AuditLog.action == "card_replaced")) == 1
    assert ledger.member_balance(member.id) == 4_200
