"""The words the screens, CSV files and mails use for each status, kind and
method: every label table of the product, read by pages through the one
template filter `label` (`{{ payment.status|label("payment_status") }}`)."""
from __future__ import annotations

import enum

from .models import (
    AccountKind, AccountType, ApplicationStatus, KitItem, NoticeAudience, OutboxStatus, PaymentMethod, PaymentStatus,
)

PAYMENT_STATUS = {PaymentStatus.COMPLETED: "決済済", PaymentStatus.CANCELLED: "取消済"}
PAYMENT_METHOD = {
    PaymentMethod.CUSTOMER_SCAN: "決済方法①（お客様が店舗QRを読取）",
    PaymentMethod.STORE_SCAN: "決済方法②（お店がお客様のQR・カードを読取）",
}
PAYMENT_METHOD_SHORT = {PaymentMethod.CUSTOMER_SCAN: "①店舗QR", PaymentMethod.STORE_SCAN: "②会員QR・カード"}
ACCOUNT_KIND = {
    AccountKind.STORE: "店舗",
    AccountKind.BUSINESS: "事業者",
    AccountKind.STAFF: "ISECA窓口職員",
    AccountKind.MEMBER: "会員",
}
BANK_ACCOUNT_TYPE = {AccountType.ORDINARY: "普通", AccountType.CURRENT: "当座"}
APPLICATION_STATUS = {
    ApplicationStatus.RECEIVED: "受付",
    ApplicationStatus.APPROVED: "承認",
    ApplicationStatus.REJECTED: "却下",
}
APPLICATION_SOURCE = {"online": "オンライン", "paper": "書面"}
KIT_ITEM = {
    KitItem.FLAG: "のぼり旗",
    KitItem.QR_SHEET: "掲示用QRコード台紙",
    KitItem.STICKER_ROUND: "ステッカー（丸型）",
    KitItem.STICKER_SQUARE: "ステッカー（角型）",
}
OUTBOX_STATUS = {
    OutboxStatus.PENDING: "未送信",
    OutboxStatus.SENT: "送信済",
    OutboxStatus.FAILED: "送信失敗",
}

# 操作履歴 / 監査ログ: what each audit row records.
AUDIT_ACTION = {
    "login": "ログイン",
    "login_failed": "ログイン失敗",
    "password_changed": "パスワード変更",
    "password_reset": "パスワード再発行",
    "staff_created": "職員アカウント作成",
    "app_member_created": "アプリ会員登録",
    "account_suspended": "アカウント利用停止",
    "account_reactivated": "アカウント利用再開",
    "business_suspended": "事業者の利用停止",
    "business_reactivated": "事業者の利用再開",
    "store_suspended": "店舗の利用停止",
    "store_reactivated": "店舗の利用再開",
    "application_submitted": "加盟店登録の申込",
    "application_approved": "申込の承認",
    "application_rejected": "申込の却下",
    "business_profile_updated": "事業者情報の変更",
    "bank_account_changed": "振込先口座の変更",
    "store_profile_updated": "店舗情報の変更",
    "store_image_added": "店舗画像の追加",
    "store_image_deleted": "店舗画像の削除",
    "store_images_reordered": "店舗画像の並べ替え",
    "store_published": "「使えるお店」に公開",
    "store_unpublished": "「使えるお店」から非公開",
    "kit_handed_over": "加盟店キットの受け渡し",
    "register.create": "レジ追加",
    "register.rename": "レジ名変更",
    "register.retire": "レジの使用終了",
    "register.qr_reissue": "店舗QRコード再発行",
    "payment_created": "決済",
    "payment_cancelled": "取消",
    "points_granted": "ポイント付与",
    "points_granted_batch": "ポイント一括付与",
    "campaign_created": "キャンペーン作成",
    "campaign_updated": "キャンペーン変更",
    "cards_issued": "カード発行",
    "card_suspended": "カード利用停止",
    "card_replaced": "カード再発行（残高移行）",
    "mail_resend": "メール再送",
    "idempotency_keys_pruned": "決済キーの整理",
    "day_totals_rebuilt": "日別・レジ別集計の再作成",
    "notice_published": "お知らせの掲載",
    "notice_ended": "お知らせの掲載終了",
}

NOTICE_AUDIENCE = {
    NoticeAudience.MERCHANTS: "加盟店（管理サイト・加盟店アプリ）",
    NoticeAudience.CUSTOMERS: "利用者（ウォレット・公開ページ）",
    NoticeAudience.EVERYONE: "すべて",
}

TABLES: dict[str, dict] = {
    "notice_audience": NOTICE_AUDIENCE,
    "audit_action": AUDIT_ACTION,
    "payment_status": PAYMENT_STATUS,
    "payment_method": PAYMENT_METHOD,
    "payment_method_short": PAYMENT_METHOD_SHORT,
    "account_kind": ACCOUNT_KIND,
    "bank_account_type": BANK_ACCOUNT_TYPE,
    "application_status": APPLICATION_STATUS,
    "application_source": APPLICATION_SOURCE,
    "kit_item": KIT_ITEM,
    "outbox_status": OUTBOX_STATUS,
}


def _key(value) -> str:
    return str(value.value) if isinstance(value, enum.Enum) else str(value)


_BY_TEXT = {name: {_key(k): v for k, v in table.items()} for name, table in TABLES.items()}


def label(value, table: str) -> str:
    """The word for `value` (an enum member or its stored text) in `table`;
    an unknown value is shown as itself, never as an error page."""
    if value is None:
        return ""
    return _BY_TEXT[table].get(_key(value), _key(value))


def choices(table: str) -> list[tuple[str, str]]:
    """(stored text, word) pairs of a table, for a form's select."""
    return list(_BY_TEXT[table].items())
