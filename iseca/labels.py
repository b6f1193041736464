"""The words the screens, CSV files and mails use for each status, kind and
method, for the parts of the product, the stores' 業種 and 地区, the
details of an audit row and the fields of a profile: every label table of
the product, read by pages through the one template filter `label`
(`{{ payment.status|label("payment_status") }}`) and by code through
`label` and `choices`. The words are Japanese, marked with N_ for the
catalogues and translated when shown."""
from __future__ import annotations

import enum

from flask_babel import gettext, lazy_gettext

from .areas import AREAS
from .i18n import LANGUAGES, N_
from .models import (
    AccountKind,
    AccountType,
    ApplicationStatus,
    KitItem,
    NoticeAudience,
    OutboxStatus,
    PaymentMethod,
    PaymentStatus,
)

PAYMENT_STATUS = {PaymentStatus.COMPLETED: N_("決済済"), PaymentStatus.CANCELLED: N_("取消済")}
PAYMENT_METHOD = {
    PaymentMethod.CUSTOMER_SCAN: N_("決済方法①（お客様が店舗QRを読取）"),
    PaymentMethod.STORE_SCAN: N_("決済方法②（お店がお客様のQR・カードを読取）"),
}
PAYMENT_METHOD_SHORT = {PaymentMethod.CUSTOMER_SCAN: N_("①店舗QR"), PaymentMethod.STORE_SCAN: N_("②会員QR・カード")}
ACCOUNT_KIND = {
    AccountKind.STORE: N_("店舗"),
    AccountKind.BUSINESS: N_("事業者"),
    AccountKind.STAFF: N_("ISECA窓口職員"),
    AccountKind.MEMBER: N_("会員"),
}
BANK_ACCOUNT_TYPE = {AccountType.ORDINARY: N_("普通"), AccountType.CURRENT: N_("当座")}
APPLICATION_STATUS = {
    ApplicationStatus.RECEIVED: N_("受付"),
    ApplicationStatus.APPROVED: N_("承認"),
    ApplicationStatus.REJECTED: N_("却下"),
}
APPLICATION_SOURCE = {"online": N_("オンライン"), "paper": N_("書面")}
KIT_ITEM = {
    KitItem.FLAG: N_("のぼり旗"),
    KitItem.QR_SHEET: N_("掲示用QRコード台紙"),
    KitItem.STICKER_ROUND: N_("ステッカー（丸型）"),
    KitItem.STICKER_SQUARE: N_("ステッカー（角型）"),
}
OUTBOX_STATUS = {
    OutboxStatus.PENDING: N_("未送信"),
    OutboxStatus.SENT: N_("送信済"),
    OutboxStatus.FAILED: N_("送信失敗"),
}

# 操作履歴 / 監査ログ: what each audit row records.
AUDIT_ACTION = {
    "login": N_("ログイン"),
    "login_failed": N_("ログイン失敗"),
    "password_changed": N_("パスワード変更"),
    "password_reset": N_("パスワード再発行"),
    "staff_created": N_("職員アカウント作成"),
    "app_member_created": N_("アプリ会員登録"),
    "account_suspended": N_("アカウント利用停止"),
    "account_reactivated": N_("アカウント利用再開"),
    "business_suspended": N_("事業者の利用停止"),
    "business_reactivated": N_("事業者の利用再開"),
    "store_suspended": N_("店舗の利用停止"),
    "store_reactivated": N_("店舗の利用再開"),
    "application_submitted": N_("加盟店登録の申込"),
    "application_approved": N_("申込の承認"),
    "application_rejected": N_("申込の却下"),
    "business_profile_updated": N_("事業者情報の変更"),
    "bank_account_changed": N_("振込先口座の変更"),
    "store_profile_updated": N_("店舗情報の変更"),
    "store_image_added": N_("店舗画像の追加"),
    "store_image_deleted": N_("店舗画像の削除"),
    "store_images_reordered": N_("店舗画像の並べ替え"),
    "store_published": N_("「使えるお店」に公開"),
    "store_unpublished": N_("「使えるお店」から非公開"),
    "kit_handed_over": N_("加盟店キットの受け渡し"),
    "register.create": N_("レジ追加"),
    "register.rename": N_("レジ名変更"),
    "register.retire": N_("レジの使用終了"),
    "register.qr_reissue": N_("店舗QRコード再発行"),
    "payment_created": N_("決済"),
    "payment_duplicate_asked": N_("同じ金額の決済の確認"),
    "payment_duplicate_confirmed": N_("確認のうえ同じ金額を再決済"),
    "payment_cancelled": N_("取消"),
    "points_granted": N_("ポイント付与"),
    "points_granted_batch": N_("ポイント一括付与"),
    "campaign_created": N_("キャンペーン作成"),
    "campaign_updated": N_("キャンペーン変更"),
    "cards_issued": N_("カード発行"),
    "card_suspended": N_("カード利用停止"),
    "card_replaced": N_("カード再発行（残高移行）"),
    "mail_resend": N_("メール再送"),
    "idempotency_keys_pruned": N_("決済キーの整理"),
    "day_totals_rebuilt": N_("日別・レジ別集計の再作成"),
    "notice_published": N_("お知らせの掲載"),
    "notice_ended": N_("お知らせの掲載終了"),
    "language_changed": N_("表示言語の変更"),
    "public_text_saved": N_("公開ページの文章の保存"),
    "public_text_published": N_("公開ページの文章の公開"),
    "application_updated": N_("申込内容の修正"),
    "settlement_period_closed": N_("精算期間の締め"),
    "transfer_date_set": N_("振込予定日の設定"),
    "transfer_file_prepared": N_("振込データの作成"),
    "settlement_transfers_done": N_("振込完了"),
    "settlement_transfer_failed": N_("振込不能"),
}

# The parts of the product that have a login, by the titles they show (lazy
# words): a login row of the audit log names the one logged into.
PRODUCT_AREA = {name: area.title for name, area in AREAS.items()}

# The fields of a store's or business's details (店舗情報・事業者情報) and of a
# campaign: in the mail telling a business what the counter changed, and in
# the 項目 of an audit row.
FIELD = {
    "name": N_("名称"), "name_kana": N_("名称（フリガナ）"), "representative": N_("代表者名"),
    "postal_code": N_("郵便番号"), "address": N_("所在地"), "phone": N_("電話番号"), "email": N_("メールアドレス"),
    "category": N_("業種"), "area": N_("地区"), "hours": N_("営業時間"), "holidays_text": N_("定休日"),
    "website": N_("ホームページ"), "description": N_("お店の紹介"), "confirm_before_charge": N_("決済前の確認画面"),
    "receipt_width": N_("レシートの幅"),
    "bank": N_("振込先口座"), "starts_on": N_("開始日"), "ends_on": N_("終了日"),
}

# The keys of an audit row's details (内容 of 操作履歴 / 監査ログ). "area" is the
# part of the product a login happened in; a store's 地区 is a FIELD.
AUDIT_DETAIL = {
    "number": N_("取引番号"), "amount": N_("金額"), "member_code": N_("会員コード"), "store": N_("店舗"),
    "store_code": N_("店舗"), "business": N_("事業者"), "login": "ID", "area": N_("画面"), "reason": N_("理由"),
    "fields": N_("項目"), "name": N_("名称"), "old": N_("変更前"), "new": N_("変更後"), "count": N_("件数"),
    "campaign_id": N_("キャンペーン"), "memo": N_("メモ"), "recipient": N_("宛先"), "email": N_("メールアドレス"),
    "adjustment": N_("精算後の取消調整"), "ledger_transaction_id": N_("台帳取引"), "method": N_("決済方法"),
    "audience": N_("掲載先"), "source": N_("申込方法"),
    # 公開ページの文章 and キャンペーン変更
    "page": N_("ページ"), "lang": N_("言語"), "version": N_("版"), "members": N_("会員数"), "points": N_("ポイント"),
    "starts_on": N_("開始日"), "ends_on": N_("終了日"),
    "cancellable_until_end": N_("キャンペーン終了日まで決済の取消を受け付ける"),
    # A change from one value to another (a register's name, the language, a 振込予定日).
    "from": N_("変更前"), "to": N_("変更後"), "before": N_("変更前"), "after": N_("変更後"),
    "title": N_("タイトル"), "subject": N_("件名"), "kind": N_("種別"), "balance": N_("残高"),
    "batch": N_("発行ロット"), "stores": N_("店舗"), "register": N_("レジ"), "image": N_("画像"),
    "bytes": N_("バイト数"), "order": N_("並び順"), "handed_on": N_("受け渡し日"), "items": N_("品目"),
    "old_token_sha256": N_("旧QRコードの識別値"), "days": N_("日数"), "rows": N_("行数"), "lines": N_("行数"),
    "total": N_("合計"), "period": N_("精算期間"), "settlements": N_("精算件数"),
    "fee_rate_permille": N_("手数料率（‰）"), "on": N_("振込日"), "ready": N_("振込件数"),
    "left_out": N_("振込対象外の事業者"), "register_id": N_("レジID"),
    "seconds": N_("経過秒数"), "earlier": N_("先の決済の取引番号"),
}
# The table that words the value of a detail, where the value is one of
# the product's own (a list's items each).
AUDIT_DETAIL_VALUE = {
    "area": "product_area", "fields": "field", "method": "payment_method_short", "audience": "notice_audience",
    "source": "application_source", "lang": "language", "page": "public_text_page",
}
# What an audit row is about (its target's kind, the 対象 of the CSV).
AUDIT_TARGET = {
    "business": N_("事業者"), "store": N_("店舗"), "storeimage": N_("店舗画像"), "register": N_("レジ"),
    "account": N_("アカウント"), "member": N_("会員"), "card": N_("カード"), "campaign": N_("キャンペーン"),
    "payment": N_("決済"), "settlementperiod": N_("精算期間"), "settlement": N_("精算"),
    "merchantapplication": N_("申込"), "outboxmessage": N_("メール"), "notice": N_("お知らせ"),
    "publictext": N_("公開ページの文章"),
}

NOTICE_AUDIENCE = {
    NoticeAudience.MERCHANTS: N_("加盟店（管理サイト・加盟店アプリ）"),
    NoticeAudience.CUSTOMERS: N_("利用者（ウォレット・公開ページ）"),
    NoticeAudience.EVERYONE: N_("すべて"),
}

# The public pages whose text the city edits (公開ページの文章).
PUBLIC_TEXT_PAGE = {
    "faq": N_("よくあるご質問"),
    "not_payable": N_("ISECAで決済できないモノ・サービス"),
    "contact": N_("お問い合わせ先"),
}

# 業種 and 地区 of a store: the fixed lists a store chooses from (the city's
# four districts: 伊勢崎・赤堀・東・境), stored as these Japanese words and
# shown in the reader's language (使えるお店 search).
STORE_CATEGORY = {
    "食料品": N_("食料品"),
    "飲食": N_("飲食"),
    "小売": N_("小売"),
    "衣料品": N_("衣料品"),
    "美容・理容": N_("美容・理容"),
    "医療・健康": N_("医療・健康"),
    "生活サービス": N_("生活サービス"),
    "自動車・交通": N_("自動車・交通"),
    "住まい・建築": N_("住まい・建築"),
    "宿泊・娯楽": N_("宿泊・娯楽"),
    "その他": N_("その他"),
}
STORE_AREA = {
    "伊勢崎地区": N_("伊勢崎地区"),
    "赤堀地区": N_("赤堀地区"),
    "東地区": N_("東地区"),
    "境地区": N_("境地区"),
}
# レシートの幅 (店舗情報): the paper of the store's receipt printer.
RECEIPT_WIDTH = {"58mm": N_("58mm（感熱ロール紙）"), "80mm": N_("80mm（感熱ロール紙）"), "a4": N_("A4（通常のプリンター）")}

TABLES: dict[str, dict] = {
    "product_area": PRODUCT_AREA,
    "field": FIELD,
    "audit_detail": AUDIT_DETAIL,
    "audit_target": AUDIT_TARGET,
    "language": LANGUAGES,  # each language as it names itself
    "store_category": STORE_CATEGORY,
    "store_area": STORE_AREA,
    "receipt_width": RECEIPT_WIDTH,
    "notice_audience": NOTICE_AUDIENCE,
    "public_text_page": PUBLIC_TEXT_PAGE,
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
    word = _BY_TEXT[table].get(_key(value))
    if word is None:
        return _key(value)
    # A lazy word (an area's title) translates itself.
    return gettext(word) if isinstance(word, str) else str(word)


def choices(table: str) -> list[tuple[str, str]]:
    """(stored text, word) pairs of a table, for a form's select. The words
    are lazy: a form defined at import shows them in each reader's language."""
    return [(key, lazy_gettext(word)) for key, word in _BY_TEXT[table].items()]
