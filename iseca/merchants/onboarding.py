"""加盟店登録から利用開始まで: applications, their review, the accounts
approval creates and the mails that carry them (templates/mail/), the kit
hand-over and the publication to 「使えるお店」. Account administration
(password reset, 利用停止) is iseca/accounts.py."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update

from .. import audit, i18n, outbox
from ..accounts import create_account
from ..extensions import db
from ..i18n import N_
from ..labels import KIT_ITEM
from ..models import (
    Account,
    AccountKind,
    AccountType,
    ApplicationStatus,
    Business,
    KitHandover,
    KitItem,
    MerchantApplication,
    OutboxMessage,
    Store,
    utcnow,
)
from .records import create_business, create_register, create_store

# 加盟店募集登録要件: the guide's five requirements, word for word.
ELIGIBILITY = [
    N_("市内に店舗または事業所などがある"),
    N_("風俗営業等の規制及び業務の適正化等に関する法律第2条第1項第4号及び第5号に定める営業または同条第5項に規定する事業者でない"),
    N_("特定の宗教または政治団体と関わる営業や公序良俗に反する内容の営業を行っていない"),
    N_("伊勢崎市暴力団排除条例第2条第3号及び第4号の規定に該当していない"),
    N_("取扱物品や役務等が適切である"),
]


SUBJECT_STORE_ACCOUNT = N_("【ISECA】店舗アカウント開設が完了しました")
SUBJECT_BUSINESS_ACCOUNT = N_("【ISECA】事業者アカウント開設が完了しました")
SUBJECT_RECEIVED = N_("【ISECA】加盟店登録のお申込みを受け付けました")
SUBJECT_REJECTED = N_("【ISECA】加盟店登録のお申込みについて")

_CITY_RE = re.compile(r"^(群馬県\s*)?伊勢崎市")


def in_isesaki(address: str) -> bool:
    """True when an address lies in Isesaki City (「群馬県伊勢崎市…」 or 「伊勢崎市…」)."""
    text = unicodedata.normalize("NFKC", address or "").strip()
    return bool(_CITY_RE.match(text))


OUTSIDE_CITY_MESSAGE = N_(
    "ISECAの加盟店は伊勢崎市内の店舗・事業所に限られます。"
    "伊勢崎市内の住所を「群馬県伊勢崎市」または「伊勢崎市」から入力してください。"
)


# ---------------------------------------------------------------------------
# Applications
# ---------------------------------------------------------------------------


def submit_application(data: dict[str, Any], *, source: str = "online",
                       locale: str | None = None) -> tuple[MerchantApplication, OutboxMessage]:
    """Store an application (受付) as submitted and queue the receipt mail.

    `data` holds "business", "bank", "stores" (list), "eligibility" (list of
    the requirements declared) and "agreed"; the form has checked it. The
    receipt is written in `locale`, the language the applicant used (None:
    Japanese); it is kept with the application, so that the account mails
    after the review and the accounts themselves speak it too."""
    business = data["business"]
    language = i18n.normalise(locale)
    if language is not None and language != i18n.DEFAULT:
        data = {**data, "locale": language}
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
    message = outbox.queue_mail(business["email"], SUBJECT_RECEIVED, "application_received", locale=language,
                                business_name=business["name"], stores=[s["name"] for s in data["stores"]])
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
    language = applicant_language(application)
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
    business_account.locale = language
    approval = Approval(business=business, stores=[], passwords={business.code: business_password})
    store_mails = []
    for s in data["stores"]:
        store = create_store(
            business, name=s["name"], name_kana=s.get("name_kana", ""), category=s.get("category", ""),
            area=s.get("area", ""), postal_code=s.get("postal_code", ""), address=s.get("address", ""),
            phone=s.get("phone", ""), hours=s.get("hours", ""), holidays_text=s.get("holidays_text", ""),
        )
        create_register(store, "レジ1")
        store_account, password = create_account(
            AccountKind.STORE, store.code, name=store.name, email=business.email,
            business_id=business.id, store_id=store.id,
        )
        store_account.locale = language
        approval.stores.append(store)
        approval.passwords[store.code] = password
        store_mails.append((store, password))
    application.business_id = business.id
    approval.messages.append(outbox.queue_mail(business.email, SUBJECT_BUSINESS_ACCOUNT, "business_account",
                                               locale=language, business=business, stores=approval.stores,
                                               password=business_password))
    for store, password in store_mails:
        approval.messages.append(outbox.queue_mail(business.email, SUBJECT_STORE_ACCOUNT, "store_account",
                                                   locale=language, business_name=business.name, store=store,
                                                   password=password))
    audit.record("application_approved", application, {
        "business": business.code, "stores": [s.code for s in approval.stores],
    }, actor=staff)
    return approval


def reject_application(application: MerchantApplication, staff: Account, reason: str) -> OutboxMessage:
    """却下: record the reason and queue the mail that carries it."""
    _take_for_review(application, ApplicationStatus.REJECTED, staff, reason)
    audit.record("application_rejected", application, {"reason": reason}, actor=staff)
    return outbox.queue_mail(application.email, SUBJECT_REJECTED, "application_rejected",
                             locale=applicant_language(application),
                             business_name=application.business_name, reason=reason)


def applicant_language(application: MerchantApplication) -> str | None:
    """The language the applicant wrote in (None: Japanese, also for paper)."""
    return i18n.normalise((application.data or {}).get("locale"))


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


def publication_warnings(store: Store) -> list[str]:
    """What the clerk should know before publishing a store: it cannot take
    payments until its account has logged in and it has its 店舗QRコード
    (加盟店キット)."""
    warnings = []
    logged_in = db.session.scalar(
        select(func.count()).select_from(Account)
        .where(Account.kind == AccountKind.STORE, Account.store_id == store.id, Account.last_login_at.is_not(None))
    )
    if not logged_in:
        warnings.append(_("この店舗のアカウントはまだ一度もログインしていません（初回ログイン前）。"))
    handed_over = db.session.scalar(
        select(func.count()).select_from(KitHandover)
        .where(KitHandover.business_id == store.business_id,
               or_(KitHandover.store_id == store.id, KitHandover.store_id.is_(None)))
    )
    if not handed_over:
        warnings.append(_("加盟店キット（掲示用QRコード台紙など）をまだ受け渡していません。"))
    return warnings


def unpublish_store(store: Store, staff: Account) -> bool:
    """「使えるお店」から外す. False when it was not published."""
    if store.published_at is None:
        return False
    store.published_at = None
    audit.record("store_unpublished", store, {"store": store.code}, actor=staff)
    return True


def update_application(application: MerchantApplication, data: dict[str, Any], staff: Account) -> list[str]:
    """The counter corrects an application before its review (a typo the
    applicant phoned about, a paper form keyed in wrong): one conditional
    UPDATE, so an application approved or rejected meanwhile stays as it was
    (AlreadyReviewed). Returns the parts changed; audited. The caller commits."""
    old = application.data or {}
    changed = [part for part in ("business", "bank", "stores", "eligibility", "agreed") if old.get(part) != data.get(part)]
    if "locale" in old:  # the applicant's language is not the clerk's to change
        data = {**data, "locale": old["locale"]}
    result = db.session.execute(
        update(MerchantApplication)
        .where(MerchantApplication.id == application.id, MerchantApplication.status == ApplicationStatus.RECEIVED)
        .values(data=data, business_name=data["business"]["name"], email=data["business"]["email"])
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise AlreadyReviewed()
    db.session.refresh(application)
    audit.record("application_updated", application, {"fields": changed}, actor=staff)
    return changed
