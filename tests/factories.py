"""Test data made through the same domain functions, and their checks, that the app uses."""
from __future__ import annotations

import datetime as dt
import itertools

from iseca.accounts import create_account
from iseca.extensions import db
from iseca.members.cards import GRANT_MAX_AMOUNT, create_member, issue_card
from iseca.merchants.records import create_business, create_register, create_store
from iseca.models import Account, AccountKind, Business, Campaign, MemberKind, Store
from iseca.money import grants

PASSWORD = "long enough passphrase for tests"
_seq = itertools.count(1)


def make_business(**overrides) -> Business:
    n = next(_seq)
    fields = dict(name=f"テスト事業者{n}", email=f"biz{n}@example.jp", address="群馬県伊勢崎市今泉町2-410")
    fields.update(overrides)
    business = create_business(**fields)
    create_account(AccountKind.BUSINESS, business.code, password=PASSWORD, initial=False, name=business.name,
                   email=business.email, business_id=business.id)
    db.session.commit()
    return business


def make_store(business: Business | None = None, *, registers: int = 1, **overrides) -> Store:
    business = business or make_business()
    n = next(_seq)
    fields = dict(name=f"テスト店舗{n}", address="群馬県伊勢崎市今泉町2-410")
    fields.update(overrides)
    store = create_store(business, **fields)
    create_account(AccountKind.STORE, store.code, password=PASSWORD, initial=False, name=store.name,
                   business_id=business.id, store_id=store.id)
    for i in range(registers):
        create_register(store, f"レジ{i + 1}")
    db.session.commit()
    return store


def make_staff(login: str = "staff1", *, initial: bool = False, password: str = PASSWORD) -> Account:
    account, _ = create_account(AccountKind.STAFF, login, password=password, initial=initial, name="窓口 太郎")
    db.session.commit()
    return account


def make_campaign(**overrides) -> Campaign:
    fields = dict(name="テストキャンペーン", starts_on=dt.date(2020, 1, 1), ends_on=dt.date(2099, 12, 31))
    fields.update(overrides)
    campaign = grants.create_campaign(**fields)
    db.session.commit()
    return campaign


def _grant(member, campaign: Campaign | None, balance: int) -> None:
    """`balance` points through grants.grant(), in grants of at most the
    counter's limit each (as the counter would give a large balance)."""
    campaign = campaign or (make_campaign() if balance else None)
    while balance > 0:
        amount = min(balance, GRANT_MAX_AMOUNT)
        grants.grant(member, campaign, amount)
        balance -= amount


def make_card_member(balance: int = 0, campaign: Campaign | None = None):
    """A card member with a card and `balance` points; returns (member, card)."""
    member = create_member(MemberKind.CARD, name="カード 会員")
    card = issue_card(member)
    _grant(member, campaign, balance)
    db.session.commit()
    return member, card


def account_of(kind: AccountKind, login: str) -> Account:
    return db.session.scalar(db.select(Account).where(Account.kind == kind, Account.login == login))


def make_payment_at(register, member, amount: int, at: dt.datetime, *, method=None, card=None, actor=None):
    """A payment made through payments.pay() (the checks of every payment) at a given moment (for history tests)."""
    from iseca.models import PaymentMethod
    from iseca.money import payments

    payment = payments.pay(member, register, amount, method or PaymentMethod.STORE_SCAN, card=card, at=at, actor=actor)
    db.session.commit()
    return payment


def make_app_member(balance: int = 0, campaign: Campaign | None = None, *, email: str | None = None):
    """An app member with a wallet login (password already changed) and
    `balance` points; returns (member, account)."""
    n = next(_seq)
    email = email or f"member{n}@example.jp"
    member = create_member(MemberKind.APP, name=f"アプリ 会員{n}", email=email)
    account, _ = create_account(AccountKind.MEMBER, email, password=PASSWORD, initial=False, name=member.name,
                                email=email, member_id=member.id)
    _grant(member, campaign, balance)
    db.session.commit()
    return member, account


def application_form(stores: int = 2, **overrides) -> dict[str, str]:
    """A complete, valid application as the form posts it."""
    data = {
        "name": "株式会社いせさきテスト",
        "name_kana": "カブシキガイシャイセサキテスト",
        "representative": "伊勢崎 花子",
        "postal_code": "372-8501",
        "address": "群馬県伊勢崎市今泉町2-410",
        "phone": "0270-24-5111",
        "email": "owner@isesaki-test.example.jp",
        "bank_code": "0001",
        "branch_code": "001",
        "account_type": "1",
        "account_number": "1234567",
        "account_holder_kana": "カブシキガイシャ　イセサキテスト",
        "eligibility_1": "y", "eligibility_2": "y", "eligibility_3": "y", "eligibility_4": "y", "eligibility_5": "y",
        "agree": "y",
    }
    names = ["いせさき駅前ベーカリー", "あかぼり珈琲店", "さかい花店"]
    kanas = ["イセサキエキマエベーカリー", "アカボリコーヒーテン", "サカイハナテン"]
    categories = ["食料品", "飲食", "小売"]
    areas = ["伊勢崎地区", "赤堀地区", "境地区"]
    for i in range(stores):
        data.update({
            f"stores-{i}-name": names[i], f"stores-{i}-name_kana": kanas[i],
            f"stores-{i}-category": categories[i], f"stores-{i}-area": areas[i],
            f"stores-{i}-postal_code": "372-0042", f"stores-{i}-address": f"群馬県伊勢崎市中央町{i + 1}-1",
            f"stores-{i}-phone": f"0270-11-000{i}", f"stores-{i}-hours": "9:00〜18:00",
            f"stores-{i}-holidays_text": "水曜日",
        })
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}
