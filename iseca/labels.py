"""The words the screens, CSV files and mails use for each status, kind and
method: every label table of the product, read by pages through the one
template filter `label` (`{{ payment.status|label("payment_status") }}`)."""
from __future__ import annotations

import enum

from .models import (
    AccountKind, AccountType, ApplicationStatus, KitItem, OutboxStatus, PaymentMethod, PaymentStatus,
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

TABLES: dict[str, dict] = {
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
