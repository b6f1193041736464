"""加盟店登録から利用開始まで: applications, their review, the accounts
approval creates and the mails that carry them, the kit hand-over and the
publication to 「使えるお店」."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from . import audit, outbox
from .accounts import create_account
from .auth.sessions import revoke_all_sessions
from .auth.passwords import generate_initial_password, set_password
from .extensions import db
from .labels import KIT_ITEM
from .merchants import create_business, create_register, create_store
from .models import (
    Account,
    AccountKind,
    AccountType,
    ApplicationStatus,
    Business,
    KitHandover,
    KitItem,
    MerchantApplication,
    MerchantStatus,
    OutboxMessage,
    Store,
    utcnow,
)

# 業種: the fixed list of store categories (used by the public search).
CATEGORIES = [
    "食料品", "飲食", "小売", "衣料品", "美容・理容", "医療・健康", "生活サービス",
    "自動車・交通", "住まい・建築", "宿泊・娯楽", "その他",
]

# 地区: the four districts of the city (伊勢崎・赤堀・東・境), for the search.
AREAS = ["伊勢崎地区", "赤堀地区", "東地区", "境地区"]

# 加盟店募集登録要件: the guide's five requirements, word for word.
ELIGIBILITY = [
    "市内に店舗または事業所などがある",
    "風俗営業等の規制及び業務の適正化等に関する法律第2条第1項第4号及び第5号に定める営業または同条第5項に規定する事業者でない",
    "特定の宗教または政治団体と関わる営業や公序良俗に反する内容の営業を行っていない",
    "伊勢崎市暴力団排除条例第2条第3号及び第4号の規定に該当していない",
    "取扱物品や役務等が適切である",
]


SUBJECT_STORE_ACCOUNT = "【ISECA】店舗アカウント開設が完了しました"
SUBJECT_BUSINESS_ACCOUNT = "【ISECA】事業者アカウント開設が完了しました"
SUBJECT_RECEIVED = "【ISECA】加盟店登録のお申込みを受け付けました"
SUBJECT_REJECTED = "【ISECA】加盟店登録のお申込みについて"
SUBJECT_PASSWORD_RESET = "【ISECA】パスワード再発行のお知らせ"
SUBJECT_BANK_CHANGED = "【ISECA】振込先口座が変更されました"

_CITY_RE = re.compile(r"^(群馬県\s*)?伊勢崎市")


def in_isesaki(address: str) -> bool:
    """True when an address lies in Isesaki City (「群馬県伊勢崎市…」 or 「伊勢崎市…」)."""
    text = unicodedata.normalize("NFKC", address or "").strip()
    return bool(_CITY_RE.match(text))


OUTSIDE_CITY_MESSAGE = (
    "ISECAの加盟店は伊勢崎市内の店舗・事業所に限られます。"
    "伊勢崎市内の住所を「群馬県伊勢崎市」または「伊勢崎市」から入力してください。"
)


# ---------------------------------------------------------------------------
# Mail texts, modelled on the guide's account mail
# ---------------------------------------------------------------------------


def _urls() -> dict[str, str]:
    base = str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/")
    return {
        "cms": f"{base}/cms/",
        "terminal": f"{base}/terminal/",
        "gate_user": str(current_app.config["BASIC_AUTH_USERNAME"]),
        "gate_password": str(current_app.config["BASIC_AUTH_PASSWORD"]),
    }


FOOTER = """
※このメールは送信専用です。ご不明な点はISECA窓口までお問い合わせください。

ISECA窓口（伊勢崎市 企画部 事務管理課）
伊勢崎市役所東館 1階
TEL：0270-27-2708（直通） 平日午前8：30～午後5：15（土日祝・年末年始を除く）
"""


def store_account_mail(business_name: str, store: Store, password: str) -> str:
    """The body of 「店舗アカウント開設が完了しました」."""
    u = _urls()
    return f"""{business_name} 様

ISECA（伊勢崎市電子地域通貨）加盟店のお申込みいただきありがとうございます。

ISECAをご利用いただくためのアカウントが下記の通り開設されましたのでお知らせいたします。

■店舗アカウント■
加盟店舗名：{store.name}

＊店舗アカウント
店舗ID：{store.code}
店舗パスワード：{password}

以下の機能をご利用いただけます

■管理サイト■
管理サイトは利用実績の確認や利用取消などを行っていただくためのシステムです。
以下のURLにアカウント情報を入力し必ずログインを行ってください。
「店舗」を選択して「店舗コード」を入力しログインすると利用履歴の確認、取消、QRコードの作成が可能です。店舗掲示用QRコードは、レジ一覧からダウンロードしてください。

＊管理サイトURL
{u['cms']}

2段階認証があります。

1、1回目認証
ID : {u['gate_user']}
パスワード : {u['gate_password']}

2、2回目認証
ユーザー種別 : 店舗
店舗ID : {store.code}
パスワード : {password}

■加盟店アプリ■
スマートフォンやタブレットのブラウザで以下のURLを開いてご利用いただけます。
{u['terminal']}

アプリのログインは以下をご入力ください
店舗ID : {store.code}
パスワード : {password}

（留意点）
・初回ログイン直後に初期パスワードからの変更が必要となります（管理サイトと加盟店アプリで同一のパスワードです）。
・90日以上パスワードが変更されていない場合、アラートメッセージが表示されます。
・加盟店キット（のぼり旗・掲示用QRコード台紙・ステッカー）は市役所ISECA窓口でお受け取りください。
{FOOTER}"""


def business_account_mail(business: Business, stores: list[Store], password: str) -> str:
    """The body of 「事業者アカウント開設が完了しました」."""
    u = _urls()
    store_lines = "\n".join(f"・{s.name}（店舗ID：{s.code}）" for s in stores)
    return f"""{business.name} 様

ISECA（伊勢崎市電子地域通貨）加盟店のお申込みいただきありがとうございます。

ISECAをご利用いただくためのアカウントが下記の通り開設されましたのでお知らせいたします。

■事業者アカウント■
事業者名：{business.name}

＊事業者アカウント
事業者ID：{business.code}
事業者パスワード：{password}

＊お持ちの店舗（店舗アカウントは店舗ごとに別のメールでお知らせしています）
{store_lines}

■管理サイト■
事業者アカウントでは、お持ちのすべての店舗の利用状況・精算金額の確認と、事業者情報（連絡先・振込先口座）の確認・変更ができます。
以下のURLにアカウント情報を入力し必ずログインを行ってください。

＊管理サイトURL
{u['cms']}

2段階認証があります。

1、1回目認証
ID : {u['gate_user']}
パスワード : {u['gate_password']}

2、2回目認証
ユーザー種別 : 事業者
事業者ID : {business.code}
パスワード : {password}

（留意点）
・初回ログイン直後に初期パスワードからの変更が必要となります。
・振込先口座にお間違いがないか、事業者情報で必ずご確認ください。
{FOOTER}"""


def received_mail(business_name: str, stores: list[str]) -> str:
    store_lines = "\n".join(f"・{name}" for name in stores)
    return f"""{business_name} 様

ISECA（伊勢崎市電子地域通貨）加盟店登録のお申込みを受け付けました。

＊お申込みの店舗
{store_lines}

ISECA窓口で内容を確認のうえ、アカウント開設のご案内（店舗ID・事業者ID・初期パスワード）をメールでお送りします。
{FOOTER}"""


def rejected_mail(business_name: str, reason: str) -> str:
    return f"""{business_name} 様

ISECA（伊勢崎市電子地域通貨）加盟店登録のお申込みをいただき、ありがとうございました。

誠に恐れ入りますが、次の理由により今回のお申込みはお受けできませんでした。

＊理由
{reason}

ご不明な点は、ISECA窓口までお問い合わせください。
{FOOTER}"""


def password_reset_mail(account: Account, password: str) -> str:
    u = _urls()
    kind = "店舗" if account.kind == AccountKind.STORE else "事業者"
    terminal = (
        f"\n■加盟店アプリ■\n{u['terminal']}\n店舗ID : {account.login}\nパスワード : {password}\n"
        if account.kind == AccountKind.STORE else ""
    )
    return f"""{account.name} 様

ISECA窓口で{kind}アカウントのパスワードを再発行しました。これまでのパスワードは使えません。

＊{kind}アカウント
{kind}ID：{account.login}
初期パスワード：{password}

＊管理サイトURL
{u['cms']}

1、1回目認証
ID : {u['gate_user']}
パスワード : {u['gate_password']}

2、2回目認証
ユーザー種別 : {kind}
{kind}ID : {account.login}
パスワード : {password}
{terminal}
ログイン直後に、新しいパスワードへの変更が必要です。
お心当たりのない場合は、ISECA窓口までご連絡ください。
{FOOTER}"""


def bank_changed_mail(business: Business, old: str, new: str, when: str) -> str:
    return f"""{business.name} 様

管理サイトで振込先口座が変更されました（{when}）。

変更前：{old}
変更後：{new}

今後の精算金は変更後の口座へお振込みします。
お心当たりのない場合は、至急ISECA窓口までご連絡ください。
{FOOTER}"""


# ---------------------------------------------------------------------------
# Applications
# ---------------------------------------------------------------------------


def submit_application(data: dict[str, Any], *, source: str = "online") -> tuple[MerchantApplication, OutboxMessage]:
    """Store an application (受付) as submitted and queue the receipt mail.

    `data` holds "business", "bank", "stores" (list), "eligibility" (list of
    the requirements declared) and "agreed"; the form has checked it."""
    business = data["business"]
    application = MerchantApplication(
        status=ApplicationStatus.RECEIVED,
        source=source,
        business_name=business["name"],
        email=business["email"],
        data=data,
    )
    db.session.add(application)
    db.session.flush()
    audit.record("application_submitted", application, {"source": source, "stores": len(data["stores"])},
                 actor_label=None if source == "paper" else "public")
    message = outbox.queue(business["email"], SUBJECT_RECEIVED,
                         received_mail(business["name"], [s["name"] for s in data["stores"]]))
    return application, message


class AlreadyReviewed(Exception):
    """The application was approved or rejected before (by anyone)."""


def _take_for_review(application: MerchantApplication, status: ApplicationStatus, staff: Account,
                     reason: str = "") -> None:
    """Move 受付 → `status` with one conditional UPDATE: of two clicks (or two
    clerks) only the first gets the row; the second raises AlreadyReviewed."""
    result = db.session.execute(
        update(MerchantApplication)
        .where(MerchantApplication.id == application.id, MerchantApplication.status == ApplicationStatus.RECEIVED)
        .values(status=status, reviewed_at=utcnow(), reviewed_by_account_id=staff.id, reject_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise AlreadyReviewed()
    db.session.refresh(application)


@dataclass
class Approval:
    business: Business
    stores: list[Store]
    passwords: dict[str, str] = field(default_factory=dict)  # login → initial password
    messages: list[OutboxMessage] = field(default_factory=list)


def approve_application(application: MerchantApplication, staff: Account) -> Approval:
    """承認: in the caller's transaction, create the business and its account,
    a store account and one register per store, and queue the account mails.
    Raises AlreadyReviewed when it was reviewed before (nothing is created)."""
    _take_for_review(application, ApplicationStatus.APPROVED, staff)
    data = application.data
    b, bank = data["business"], data["bank"]
    business = create_business(
        name=b["name"], name_kana=b.get("name_kana", ""), representative=b.get("representative", ""),
        postal_code=b.get("postal_code", ""), address=b.get("address", ""), phone=b.get("phone", ""),
        email=b["email"], bank_code=bank["bank_code"], branch_code=bank["branch_code"],
        account_type=AccountType(bank["account_type"]), account_number=bank["account_number"],
        account_holder_kana=bank["account_holder_kana"],
    )
    business_account, business_password = create_account(
        AccountKind.BUSINESS, business.code, name=business.name, email=business.email, business_id=business.id
    )
    approval = Approval(business=business, stores=[], passwords={business.code: business_password})
    store_mails = []
    for s in data["stores"]:
        store = create_store(
            business, name=s["name"], name_kana=s.get("name_kana", ""), category=s.get("category", ""),
            area=s.get("area", ""), postal_code=s.get("postal_code", ""), address=s.get("address", ""),
            phone=s.get("phone", ""), hours=s.get("hours", ""), holidays_text=s.get("holidays_text", ""),
        )
        create_register(store, "レジ1")
        _, password = create_account(
            AccountKind.STORE, store.code, name=store.name, email=business.email,
            business_id=business.id, store_id=store.id,
        )
        approval.stores.append(store)
        approval.passwords[store.code] = password
        store_mails.append((store, password))
    application.business_id = business.id
    approval.messages.append(outbox.queue(
        business.email, SUBJECT_BUSINESS_ACCOUNT, business_account_mail(business, approval.stores, business_password)
    ))
    for store, password in store_mails:
        approval.messages.append(outbox.queue(business.email, SUBJECT_STORE_ACCOUNT,
                                            store_account_mail(business.name, store, password)))
    audit.record("application_approved", application, {
        "business": business.code, "stores": [s.code for s in approval.stores],
    }, actor=staff)
    return approval


def reject_application(application: MerchantApplication, staff: Account, reason: str) -> OutboxMessage:
    """却下: record the reason and queue the mail that carries it."""
    _take_for_review(application, ApplicationStatus.REJECTED, staff, reason)
    audit.record("application_rejected", application, {"reason": reason}, actor=staff)
    return outbox.queue(application.email, SUBJECT_REJECTED, rejected_mail(application.business_name, reason))


# ---------------------------------------------------------------------------
# Kit hand-over, publication
# ---------------------------------------------------------------------------


def record_kit_handover(business: Business, items: dict[KitItem, int], handed_on: dt.date, staff: Account,
                        store: Store | None = None) -> list[KitHandover]:
    """加盟店キットの受け渡し: one row per item handed over (quantity > 0)."""
    rows = []
    for item, quantity in items.items():
        if quantity <= 0:
            continue
        row = KitHandover(business_id=business.id, store_id=store.id if store else None, item=item,
                          quantity=quantity, handed_on=handed_on, recorded_by_account_id=staff.id)
        db.session.add(row)
        rows.append(row)
    db.session.flush()
    audit.record("kit_handed_over", business, {
        "store": store.code if store else None, "handed_on": handed_on.isoformat(),
        "items": {KIT_ITEM[i]: q for i, q in items.items() if q > 0},
    }, actor=staff)
    return rows


def publish_store(store: Store, staff: Account) -> bool:
    """「使えるお店」へ公開. False when it already was."""
    if store.published_at is not None:
        return False
    store.published_at = utcnow()
    audit.record("store_published", store, {"store": store.code}, actor=staff)
    return True


def unpublish_store(store: Store, staff: Account) -> bool:
    """「使えるお店」から外す. False when it was not published."""
    if store.published_at is None:
        return False
    store.published_at = None
    audit.record("store_unpublished", store, {"store": store.code}, actor=staff)
    return True


# ---------------------------------------------------------------------------
# Merchant accounts: password reset, suspension
# ---------------------------------------------------------------------------


def merchant_accounts(business: Business) -> list[Account]:
    """The business account and its stores' accounts."""
    return list(db.session.scalars(
        select(Account)
        .where(Account.business_id == business.id, Account.kind.in_([AccountKind.BUSINESS, AccountKind.STORE]))
        .order_by(Account.kind, Account.login)
    ))


def mail_address_of(account: Account) -> str:
    """Where a merchant account's mail goes: its own address, else its business's."""
    if account.email:
        return account.email
    business = db.session.get(Business, account.business_id) if account.business_id else None
    return business.email if business is not None else ""


def reset_password(account: Account, staff: Account) -> tuple[str, OutboxMessage]:
    """A new initial password, mailed; every session ends; the account must
    change it at the next login."""
    password = generate_initial_password()
    set_password(account, password, initial=True)
    revoke_all_sessions(account.id)
    audit.record("password_reset", account, {"login": account.login}, actor=staff)
    message = outbox.queue(mail_address_of(account), SUBJECT_PASSWORD_RESET, password_reset_mail(account, password))
    return password, message


def suspend_account(account: Account, staff: Account) -> None:
    """利用停止: the account can no longer log in; its sessions end now."""
    account.status = MerchantStatus.SUSPENDED
    revoke_all_sessions(account.id)
    audit.record("account_suspended", account, {"login": account.login}, actor=staff)


def reactivate_account(account: Account, staff: Account) -> None:
    """利用再開."""
    account.status = MerchantStatus.ACTIVE
    audit.record("account_reactivated", account, {"login": account.login}, actor=staff)
