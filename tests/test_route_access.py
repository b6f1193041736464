"""Who may reach what, over every route of the app: `app.url_map` × every
kind of account. Each route has a rule here (RULES, by endpoint); a route
added without one fails the suite, and so does a rule the app does not keep.

The answers: OK (the page or action works), LOGIN (sent to the area's login
page), GATE (the management site's BASIC prompt, 401), HIDDEN (404: another
business's or store's data is neither shown nor confirmed). Requests that
must be refused change nothing in the database; a method a route does not
take answers 405."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from iseca import outbox
from iseca.extensions import db
from iseca.members import cards as members_domain
from iseca.merchants import onboarding
from iseca.models import (
    AccountKind,
    AuditLog,
    MerchantApplication,
    Notice,
    NoticeAudience,
    OutboxMessage,
    PaymentMethod,
    PublicText,
    Settlement,
    SettlementPeriod,
    StoreImage,
    utcnow,
)
from iseca.money import payments, settlement, zengin
from tests import factories
from tests.support.client import basic_auth_header, csrf_from, login

OK, LOGIN, GATE, HIDDEN = "ok", "login", "gate (401)", "hidden (404)"

# The things of the walk belong to store A1 of business A. "sibling_store" is
# A2 (same business), "other_store" B1 of business B, "other_business" B.
KINDS = ("anonymous", "gate", "store", "sibling_store", "other_store", "business", "other_business", "member",
         "staff")
STORES = ("store", "sibling_store", "other_store")

PUBLIC = dict.fromkeys(KINDS, OK)
CMS = {**dict.fromkeys(KINDS, LOGIN), "anonymous": GATE, **dict.fromkeys(STORES + ("business", "other_business"), OK)}
# A store's own data: the store and its business see it, nobody else.
CMS_OWN = {**CMS, "sibling_store": HIDDEN, "other_store": HIDDEN, "other_business": HIDDEN}
# 精算: a business's settlement; each of its stores sees its own share of it.
CMS_SETTLEMENT = {**CMS, "other_store": HIDDEN, "other_business": HIDDEN}
# 事業者情報: business accounts alone, each its own.
CMS_BUSINESS = {**CMS, **dict.fromkeys(STORES, HIDDEN)}
TERMINAL = {**dict.fromkeys(KINDS, LOGIN), **dict.fromkeys(STORES, OK)}
TERMINAL_OWN = {**TERMINAL, "sibling_store": HIDDEN, "other_store": HIDDEN}
TERMINAL_SETTLEMENT = {**TERMINAL, "other_store": HIDDEN}
COUNTER = {**dict.fromkeys(KINDS, LOGIN), "staff": OK}
WALLET = {**dict.fromkeys(KINDS, LOGIN), "member": OK}
# A store's QR address: anyone may open it; paying needs a member login.
WALLET_PAY = {"GET": PUBLIC, "POST": WALLET}


def by_area(cms: dict, terminal: dict, counter: dict, wallet: dict) -> dict:
    return {"cms": cms, "terminal": terminal, "counter": counter, "wallet": wallet}


RULES: dict[str, dict] = {
    "static": PUBLIC,
    # The language switch on every page (a cookie; a logged-in account's own setting).
    "language.switch": PUBLIC,
    # Public site
    "public.favicon": PUBLIC,
    "public.index": PUBLIC, "public.faq": PUBLIC, "public.not_payable": PUBLIC, "public.contact": PUBLIC,
    "public.apply": PUBLIC, "public.apply_done": PUBLIC, "public.bank_lookup": PUBLIC,
    "public.stores": PUBLIC, "public.store": PUBLIC, "public.store_image": PUBLIC, "public.card_balance": PUBLIC,
    # A receipt opened from its QR code: no login; the walk's `token` (a register's) is no receipt's
    # signed reference, so everyone gets 404 (tests/web/test_receipts.py opens real ones).
    "public.receipt": dict.fromkeys(KINDS, HIDDEN),
    # Logins (one set of views for every area; the management site behind its gate)
    "auth.login": by_area({**PUBLIC, "anonymous": GATE}, PUBLIC, PUBLIC, PUBLIC),
    # Logging out (with or without a session) leads to the login page.
    "auth.logout": by_area({**dict.fromkeys(KINDS, LOGIN), "anonymous": GATE}, *[dict.fromkeys(KINDS, LOGIN)] * 3),
    "auth.password": by_area(CMS, TERMINAL, COUNTER, WALLET),
    # 管理サイト
    "cms.index": CMS, "cms.stores": CMS,
    "cms.settlement.index": CMS,
    **{f"cms.settlement.{page}": CMS_SETTLEMENT for page in ("statement", "statement_csv", "statement_pdf")},
    "cms.store": CMS_OWN, "cms.store_image_upload": CMS_OWN, "cms.store_image": CMS_OWN,
    "cms.store_image_delete": CMS_OWN, "cms.store_image_move": CMS_OWN,
    # Health checks: answered to anyone, before the gate (the load balancer asks them).
    "health.healthz": dict.fromkeys(KINDS, OK), "health.readyz": dict.fromkeys(KINDS, OK),
    "cms.business": CMS_BUSINESS, "cms.audit_log": CMS_BUSINESS, "cms.audit_csv": CMS_BUSINESS,
    "cms.usage": CMS, "cms.usage_csv": CMS, "cms.usage_daily": CMS, "cms.usage_daily_csv": CMS,
    "cms.cancel.confirm": CMS_OWN, "cms.receipt.page": CMS_OWN,
    "cms.register.index": CMS, "cms.register.store_list": CMS_OWN,
    **{f"cms.register.{page}": CMS_OWN for page in ("qr", "qr_png", "sheet", "sheet_pdf", "rename", "retire",
                                                    "reissue")},
    # 加盟店アプリ
    "terminal.index": TERMINAL, "terminal.history": TERMINAL, "terminal.history_detail": TERMINAL_OWN,
    "terminal.cancel.confirm": TERMINAL_OWN, "terminal.receipt.page": TERMINAL_OWN,
    "terminal.pay_scan": TERMINAL, "terminal.pay_amount": TERMINAL, "terminal.pay_confirm": TERMINAL,
    "terminal.pay_charge": TERMINAL, "terminal.pay_done": TERMINAL_OWN, "terminal.pay_incoming": TERMINAL,
    # A lost answer's outcome: without a key of the login's own (here none), 404 (tests/terminal/test_outcome.py).
    "terminal.pay_outcome": {**TERMINAL, **dict.fromkeys(STORES, HIDDEN)},
    "terminal.settlement.index": TERMINAL,
    **{f"terminal.settlement.{page}": TERMINAL_SETTLEMENT for page in ("statement", "statement_csv", "statement_pdf")},
    # The installed app's manifest, service worker and offline page: no data, open to anyone.
    **{f"{area}.app.{name}": PUBLIC for area in ("terminal", "wallet") for name in ("manifest", "service_worker", "offline")},
    # ウォレット
    "wallet.index": WALLET, "wallet.history": WALLET, "wallet.my_qr": WALLET, "wallet.scan": WALLET,
    "wallet.pay": WALLET_PAY, "wallet.pay_confirm": WALLET, "wallet.payment_done": WALLET,
    "wallet.payment_outcome": {**WALLET, "member": HIDDEN},
    # ISECA窓口: staff alone, every page
    **{f"counter.{name}": COUNTER for name in (
        "index", "figures_csv", "applications", "application", "approve", "reject", "new_application", "edit_application",
        "merchants", "merchant", "kit_handover", "publish", "unpublish", "reset_password", "suspend", "reactivate",
        "suspend_business", "reactivate_business", "suspend_store", "reactivate_store", "audit_log", "audit_csv",
        "edit_business", "edit_store", "notices_page", "notice_end",
        "outbox", "outbox_message", "outbox_resend", "outbox_send_now",
        "registers", "register_sheets_pdf", "register.store_list",
        "register.qr", "register.qr_png", "register.sheet", "register.sheet_pdf", "register.rename",
        "register.retire", "register.reissue",
        "members_list", "member_detail", "member_new", "cards_issue", "card_sheet", "card_suspend", "card_replace",
        "grants_upload", "grants_commit", "campaigns", "campaign_edit",
        "settlements", "settlements_close_ended", "settlement_period", "settlement_close", "settlement_prepare",
        "settlement_zengin", "settlement_transfers_csv", "settlement_statement", "settlement_done",
        "settlement_failed",
        "texts", "text_edit", "text_version", "text_publish",
    )},
}

# Actions that end what later requests of the walk need: sent last, and
# logging out after everything else.
LAST = ("retire", "suspend", "replace", "reset_password", "delete", "reissue")


@dataclass
class World:
    """Business A (stores A1 and A2) and business B (store B1); a payment of
    an app member at A1, an image of A1, a card, an application and a mail."""

    a: object
    a1: object
    a2: object
    b: object
    b1: object
    member: object
    member_account: object
    payment: object
    card: object
    image: object
    campaign_id: int
    settlement: object

    def values(self) -> dict[str, object]:
        """A value for every URL parameter of the app, naming A1's things."""
        register = self.a1.registers[0]
        return {
            "store_id": self.a1.id, "register_id": register.id, "payment_id": self.payment.id,
            "image_id": self.image.id, "business_id": self.a.id,
            "account_id": factories.account_of(AccountKind.STORE, self.a1.code).id,
            "application_id": db.session.scalar(select(MerchantApplication.id)),
            "message_id": db.session.scalar(select(OutboxMessage.id)),
            "notice_id": db.session.scalar(select(Notice.id)),
            "member_id": self.member.id, "card_id": self.card.id, "batch": self.card.batch,
            "number": self.card.number, "secret": self.card.secret, "token": register.qr_token,
            "filename": "css/app.css",
            "period_id": self.settlement.period_id, "settlement_id": self.settlement.id, "ext": "pdf",
            "campaign_id": self.campaign_id, "page": "faq", "lang": "en", "version_id": db.session.scalar(select(PublicText.id)),
        }

    def form(self, endpoint: str) -> dict[str, object]:
        """What a POST carries beyond its CSRF token, where the route needs it to reach its form."""
        return {"counter.grants_commit": {"campaign_id": self.campaign_id},
                "counter.text_edit": {"body": "## FAQ", "action": "publish"},
                "language.switch": {"lang": "en", "next": "/"}}.get(endpoint, {})


@pytest.fixture
def world(app) -> World:
    campaign = factories.make_campaign()
    a = factories.make_business(name="事業者A")
    a1, a2 = factories.make_store(a, name="A1店"), factories.make_store(a, name="A2店")
    b = factories.make_business(name="事業者B")
    b1 = factories.make_store(b, name="B1店")
    image = StoreImage(store_id=a1.id, position=0, content_type="image/png", width=1, height=1, data=b"\x89PNG")
    db.session.add(image)
    a1.published_at = utcnow()  # in 「使えるお店」
    member, member_account = factories.make_app_member(5_000, campaign)
    payment = payments.pay(member, a1.registers[0], 500, PaymentMethod.CUSTOMER_SCAN, at=utcnow())
    [card] = members_domain.issue_card_members(1, batch="walk-1")
    onboarding.submit_application({
        "business": {"name": "申込者", "email": "x@example.jp"},
        "bank": {"bank_code": "0001", "branch_code": "001", "account_type": "1", "account_number": "1234567",
                 "account_holder_kana": "ﾓｳｼｺﾐｼﾔ"},
        "stores": [{"name": "申込店"}],
        "eligibility": [], "agreed": True,
    })
    outbox.queue("y@example.jp", "件名", "本文")
    db.session.add(Notice(title="メンテナンス", audience=NoticeAudience.EVERYONE, starts_at=utcnow(),
                          ends_at=utcnow() + dt.timedelta(days=1)))
    factories.make_staff()
    db.session.add(PublicText(page="faq", lang="en", body="## Draft"))  # a draft of the public FAQ in English
    # A closed period with a settlement of business A (精算).
    earlier = factories.make_payment_at(a1.registers[0], member, 300, utcnow() - dt.timedelta(days=40))
    closed = db.session.get(SettlementPeriod, earlier.period_id)
    settlement.close_period(closed)
    closed.transfer_date = closed.ends_on + dt.timedelta(days=20)
    zengin.prepare_transfers(closed)  # 振込データ作成: the transfer file and its CSV exist
    settled = db.session.scalar(select(Settlement).where(Settlement.business_id == a.id))
    db.session.commit()
    return World(a, a1, a2, b, b1, member, member_account, payment, card, image, campaign.id, settled)


def client_of(app, world: World, kind: str):
    """A browser of `kind`: past the BASIC gate unless anonymous, logged in
    where the kind has an account."""
    client = app.test_client()
    if kind == "anonymous":
        return client
    client.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
    logins = {
        "store": lambda: login(client, world.a1.code, factories.PASSWORD),
        "sibling_store": lambda: login(client, world.a2.code, factories.PASSWORD),
        "other_store": lambda: login(client, world.b1.code, factories.PASSWORD),
        "business": lambda: login(client, world.a.code, factories.PASSWORD, kind="business"),
        "other_business": lambda: login(client, world.b.code, factories.PASSWORD, kind="business"),
        "member": lambda: login(client, world.member_account.login, factories.PASSWORD, area="wallet", kind=None),
        "staff": lambda: login(client, "staff1", factories.PASSWORD, area="counter", kind=None),
    }
    if kind in logins:
        assert logins[kind]().status_code == 303
    return client


def expected(endpoint: str, method: str, area: str | None, kind: str) -> str:
    """The answer RULES give `kind` for one request (by area and method where a rule says)."""
    if endpoint not in RULES:
        pytest.fail(f"{endpoint} has no access rule in tests/test_route_access.py (RULES)")
    rule = RULES[endpoint]
    if area is not None:
        rule = rule[area]
    if method in rule:
        rule = rule[method]
    return rule[kind]


def requests_of(app, values: dict) -> list[tuple[str, str, str, str | None]]:
    """(endpoint, method, url, area) for every route and method of the app;
    the login routes once per area."""
    found = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            areas = [None]
            if "area" in rule.arguments:
                areas = ["cms", "terminal", "counter", "wallet"]
            for area in areas:
                names = set(rule.arguments) - set(rule.defaults or {}) - {"area"}
                unknown = names - set(values)
                assert not unknown, f"{rule.endpoint}: give World.values() a value for {sorted(unknown)}"
                args = {name: values[name] for name in names}
                if area is not None:
                    args["area"] = area
                url = url_for(rule.endpoint, **args)
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    found.append((rule.endpoint, method, url, area))
    return found


def outcome(response) -> str:
    """What the user got, in the words of the rules."""
    code = response.status_code
    if code == 401:
        return GATE
    if code == 404:
        return HIDDEN
    if code in (302, 303) and urlsplit(response.headers["Location"]).path.endswith("/login"):
        return LOGIN
    if code >= 500 or code in (400, 403, 405):
        return f"{code}"
    return OK


def database_state() -> dict:
    """Every row of every table (login sessions aside: a request refreshes its own)."""
    db.session.expire_all()
    return {
        table.name: db.session.execute(table.select().order_by(*table.primary_key.columns)).all()
        for table in db.metadata.sorted_tables if table.name != "login_sessions"
    }


# 監査ログ: tables whose change needs no audit row of its own. Each says why.
NOT_AUDITED = {
    "login_sessions",  # the session a login or logout writes: the login itself is audited
    "audit_log",  # the log itself
    "outbox_messages",  # mail queued by an audited change (its sending status is the mailer's bookkeeping)
    "idempotency_keys",  # a payment's one-time key: the payment is audited
    "settlement_periods",  # created on a period's first payment: the payment is audited
}
# Requests that change data without an audit row of their own, and why.
AUDIT_EXCEPTIONS = {
    "counter.outbox_send_now",  # tries to send queued mail: only the outbox row's delivery status changes
}


def audited_state() -> dict:
    """Every row of the tables whose change must leave an audit row."""
    return {name: rows for name, rows in database_state().items() if name not in NOT_AUDITED}


def audit_rows() -> list:
    """Every audit row, oldest first: a request may only add to the end."""
    table = AuditLog.__table__
    return [tuple(row) for row in db.session.execute(table.select().order_by(table.c.id)).all()]


def send(client, method: str, url: str, token: str, form: dict | None = None):
    # buffered: a streamed answer (CSV) runs to its end inside the request.
    if method == "GET":
        return client.get(url, buffered=True)
    return client.open(url, method=method, data={"csrf_token": token, **(form or {})}, buffered=True)


def _order(item) -> tuple:
    endpoint, method, _, _ = item
    return (endpoint == "auth.logout", method != "GET", any(word in endpoint for word in LAST), endpoint)


def test_every_route_has_a_rule(app):
    """A route added without a rule here fails, until someone says who may use it."""
    missing = sorted({r.endpoint for r in app.url_map.iter_rules()} - set(RULES))
    assert missing == [], f"routes without an access rule in tests/test_route_access.py: {missing}"
    stale = sorted(set(RULES) - {r.endpoint for r in app.url_map.iter_rules()})
    assert stale == [], f"rules for routes that no longer exist: {stale}"


@pytest.mark.parametrize("kind", KINDS)
def test_every_route_answers_each_kind_of_account_as_its_rule_says(app, world, kind):
    client = client_of(app, world, kind)
    token = csrf_from(client.get("/apply").get_data(as_text=True))
    walk = sorted(requests_of(app, world.values()), key=_order)
    adapter = app.url_map.bind("iseca.example.jp")
    wrong = []
    for endpoint, method, url, area in walk:
        rule = expected(endpoint, method, area, kind)
        before = database_state() if rule != OK and method != "GET" else None
        audited_before = audited_state() if rule == OK and method != "GET" else None
        log_before = audit_rows() if method != "GET" else None
        got = outcome(send(client, method, url, token, world.form(endpoint)))
        if log_before is not None:
            log_after = audit_rows()
            if log_after[:len(log_before)] != log_before:
                wrong.append(f"{method} {url} ({endpoint}): changed or deleted an audit row")
            if (audited_before is not None and endpoint not in AUDIT_EXCEPTIONS
                    and audited_state() != audited_before and len(log_after) == len(log_before)):
                wrong.append(f"{method} {url} ({endpoint}): changed data without an audit row")
        if got != rule:
            wrong.append(f"{method} {url} ({endpoint}): {got}, rule says {rule}")
        if before is not None and database_state() != before:
            wrong.append(f"{method} {url} ({endpoint}): refused, yet the database changed")
        if endpoint == "auth.logout":  # the session, and its CSRF token, are gone
            token = csrf_from(client.get("/apply").get_data(as_text=True))
        elif rule == OK:
            # A method the route does not take answers 405 (checked for whoever may use it).
            other = "POST" if method == "GET" else "GET"
            if endpoint != "static" and other not in adapter.allowed_methods(urlsplit(url).path):
                response = send(client, other, url, token)
                if response.status_code != 405:
                    wrong.append(f"{other} {url} ({endpoint}): {response.status_code}, expected 405")
    assert wrong == [], "\n".join(wrong)
