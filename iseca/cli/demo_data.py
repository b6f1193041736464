"""Demo data: two businesses, their stores and registers, members and cards
with balances, and payments spread over several settlement periods."""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import asdict, dataclass

from sqlalchemy import select

from ..accounts import create_account
from ..extensions import db
from ..members.cards import create_member, issue_card
from ..merchants.records import create_business, create_register, create_store
from ..models import (
    Account,
    AccountKind,
    AccountType,
    Campaign,
    Card,
    MemberKind,
    PaymentMethod,
    Register,
    utcnow,
)
from ..money import ledger, payments
from ..passwords import set_password
from ..timeutil import JST, today_jst

# The initial password of every demo account unless `demo --password` says
# otherwise; it must be changed at the first login, as a real one must.
DEMO_INITIAL_PASSWORD = "iseca-demo-2026"
DEMO_STAFF_LOGIN = "demo-staff"

BUSINESSES = [
    {
        "business": dict(
            name="有限会社いせさき商店", name_kana="ユウゲンガイシャイセサキショウテン", representative="伊勢崎 太郎",
            postal_code="372-0042", address="群馬県伊勢崎市中央町1-1", phone="0270-00-0001",
            email="shoten@demo.iseca.example", bank_code="0128", branch_code="101",
            account_type=AccountType.ORDINARY, account_number="1234567", account_holder_kana="ﾕ)ｲｾｻｷｼﾖｳﾃﾝ",
        ),
        "stores": [
            dict(name="いせさき青果店", name_kana="イセサキセイカテン", category="食料品", area="伊勢崎地区",
                 address="群馬県伊勢崎市中央町1-1", phone="0270-00-0011", hours="9:00〜18:00", registers=["レジ1"]),
            dict(name="いせさき精肉店", name_kana="イセサキセイニクテン", category="食料品", area="伊勢崎地区",
                 address="群馬県伊勢崎市本町2-3", phone="0270-00-0012", hours="10:00〜19:00", registers=["レジ1"]),
        ],
    },
    {
        "business": dict(
            name="株式会社ひまわり", name_kana="カブシキガイシャヒマワリ", representative="赤堀 花子",
            postal_code="379-2204", address="群馬県伊勢崎市西久保町2-10", phone="0270-00-0002",
            email="himawari@demo.iseca.example", bank_code="0009", branch_code="001",
            account_type=AccountType.CURRENT, account_number="7654321", account_holder_kana="ｶ)ﾋﾏﾜﾘ",
        ),
        "stores": [
            dict(name="カフェひまわり", name_kana="カフェヒマワリ", category="飲食", area="赤堀地区",
                 address="群馬県伊勢崎市西久保町2-10", phone="0270-00-0021", hours="8:00〜20:00",
                 registers=["レジ1", "テラス席レジ"]),
            dict(name="ひまわり書店", name_kana="ヒマワリショテン", category="小売", area="境地区",
                 address="群馬県伊勢崎市境1-5", phone="0270-00-0022", hours="10:00〜20:00", registers=["レジ1"]),
        ],
    },
]

APP_MEMBERS = [("上泉 一郎", "member1@demo.iseca.example"), ("宮子 二美", "member2@demo.iseca.example"),
               ("三和 三郎", "member3@demo.iseca.example")]
CARD_MEMBERS = ["連取 四郎", "波志江 五子", "豊城 六太"]


@dataclass
class DemoLogin:
    kind: str  # staff, business, store, member, card
    code: str
    password: str
    name: str


def is_loaded() -> bool:
    return db.session.scalar(
        select(Account.id).where(Account.kind == AccountKind.STAFF, Account.login == DEMO_STAFF_LOGIN)
    ) is not None


def load(password: str | None = None, *, seed: int = 2026) -> list[DemoLogin]:
    """Create the demo data if it is not there, then return its logins.

    With `password`, every demo account gets that password with no forced
    change (also when the data was loaded before)."""
    if not is_loaded():
        _create(seed)
    if password:
        for account in _demo_accounts():
            set_password(account, password, initial=False)
    db.session.flush()
    return logins(password)


def _demo_accounts() -> list[Account]:
    emails = [b["business"]["email"] for b in BUSINESSES] + [e for _, e in APP_MEMBERS]
    accounts = list(db.session.scalars(select(Account).where(Account.email.in_(emails))))
    accounts += list(db.session.scalars(select(Account).where(Account.kind == AccountKind.STAFF, Account.login == DEMO_STAFF_LOGIN)))
    return accounts


def logins(password: str | None = None) -> list[DemoLogin]:
    """The demo accounts as the CLI prints them."""
    shown = password or DEMO_INITIAL_PASSWORD
    order = {AccountKind.STAFF: 0, AccountKind.BUSINESS: 1, AccountKind.STORE: 2, AccountKind.MEMBER: 3}
    result = [
        DemoLogin(kind=str(a.kind), code=a.login, password=shown, name=a.name)
        for a in sorted(_demo_accounts(), key=lambda a: (order[a.kind], a.login))
    ]
    cards = db.session.scalars(select(Card).where(Card.batch == "demo").order_by(Card.id))
    result += [DemoLogin(kind="card", code=c.number, password=c.secret, name=c.member.name) for c in cards]
    return result


def as_dicts(items: list[DemoLogin]) -> list[dict]:
    return [asdict(i) for i in items]


def _create(seed: int) -> None:
    rng = random.Random(seed)
    today = today_jst()
    create_account(AccountKind.STAFF, DEMO_STAFF_LOGIN, password=DEMO_INITIAL_PASSWORD, name="窓口 担当（デモ）")
    campaign_start = dt.date(today.year if today.month >= 4 else today.year - 1, 4, 1)
    campaign = Campaign(name=f"ISECA {campaign_start.year}年度", starts_on=campaign_start,
                        ends_on=dt.date(campaign_start.year + 1, 3, 31))
    db.session.add(campaign)
    db.session.flush()

    registers: list[Register] = []
    for spec in BUSINESSES:
        business = create_business(**spec["business"])
        create_account(AccountKind.BUSINESS, business.code, password=DEMO_INITIAL_PASSWORD, name=business.name,
                       email=business.email, business_id=business.id)
        for store_spec in spec["stores"]:
            fields = {k: v for k, v in store_spec.items() if k != "registers"}
            store = create_store(business, postal_code=spec["business"]["postal_code"], published_at=utcnow(), **fields)
            create_account(AccountKind.STORE, store.code, password=DEMO_INITIAL_PASSWORD, name=store.name,
                           email=business.email, business_id=business.id, store_id=store.id)
            for name in store_spec["registers"]:
                registers.append(create_register(store, name))

    members = []
    for name, email in APP_MEMBERS:
        member = create_member(MemberKind.APP, name=name, email=email)
        create_account(AccountKind.MEMBER, email, password=DEMO_INITIAL_PASSWORD, name=name, email=email, member_id=member.id)
        members.append((member, None))
    for name in CARD_MEMBERS:
        member = create_member(MemberKind.CARD, name=name)
        members.append((member, issue_card(member, batch="demo")))

    # Points granted three months ago, then payments on most days since.
    start = max(campaign_start, today - dt.timedelta(days=90))
    granted_at = dt.datetime.combine(start, dt.time(9, 0), JST).astimezone(dt.UTC)
    for member, _ in members:
        ledger.grant(member.id, campaign, 30_000, memo="デモ: 付与", at=granted_at)
    day = start
    while day <= today:
        for _ in range(rng.randint(0, 3)):
            member, card = rng.choice(members)
            register = rng.choice(registers)
            amount = rng.choice([120, 330, 480, 550, 780, 1_000, 1_280, 2_160, 3_300])
            at = dt.datetime.combine(day, dt.time(rng.randint(9, 18), rng.randint(0, 59)), JST).astimezone(dt.UTC)
            if at > utcnow():
                continue
            method = PaymentMethod.STORE_SCAN if card or rng.random() < 0.5 else PaymentMethod.CUSTOMER_SCAN
            try:
                payments.pay(member, register, amount, method, card=card, at=at)
            except ledger.InsufficientBalance:
                continue
        day += dt.timedelta(days=1)
