"""Who pays: what the terminal reads (a wallet QR, a card QR, a typed or
scanned card number) turned into a member and, for cards, the card.

- A wallet QR is short-lived: `ISECA1.<member code>.<unix time>.<signature>`,
  signed with the member's `qr_secret`; it is valid for WALLET_QR_TTL_SECONDS,
  so a screenshot of it cannot be used later.
- A card's QR is its balance-page address (…/card/<number>/<secret>).
- A card number (16 digits, Luhn) may be typed or sent by a handheld scanner.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import re
import time
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import bindparam, select

from ..extensions import db
from ..models import Card, Member
from ..money.payments import PaymentRefused, check_payer
from ..numbers import NumberInvalid, fold_digits, is_ascii_digits, parse_whole_number
from .cards import is_valid_card_number

WALLET_PREFIX = "ISECA1"
_CARD_PATH_RE = re.compile(r"/card/([0-9]{16})/([A-Za-z0-9_-]{16,64})/?$")


class PayerUnknown(PaymentRefused):
    """Nothing on record matches what was read."""


@dataclass
class Payer:
    member: Member
    card: Card | None = None

    @property
    def label(self) -> str:
        return _("専用カード") if self.card is not None else _("アプリ会員")


def _wallet_signature(member: Member, issued: int) -> str:
    mac = hmac.new(member.qr_secret.encode(), f"{member.code}.{issued}".encode(), hashlib.sha256)
    return mac.hexdigest()[:20]


def wallet_qr_ttl() -> int:
    return int(current_app.config.get("WALLET_QR_TTL_SECONDS", 60))


def wallet_qr_text(member: Member, now: float | None = None) -> str:
    """What the wallet's QR carries at `now`."""
    issued = int(now if now is not None else time.time())
    return f"{WALLET_PREFIX}.{member.code}.{issued}.{_wallet_signature(member, issued)}"


def card_qr_text(card: Card) -> str:
    """What a card's QR carries: the address of its balance page."""
    # Printed on cards: built from PUBLIC_BASE_URL, never from the host of
    # the request that happens to print it (the path is the public route's).
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}/card/{card.number}/{card.secret}"


def normalize_scan(raw: str) -> str:
    """Full-width characters folded, spaces and hyphens of a card number dropped.
    A card number is read from 0-9 and ０-９ only: NFKC would also make one of
    ①②… or ¹²…, which are refused."""
    value = unicodedata.normalize("NFKC", raw or "").strip()
    compact = re.sub(r"[\s\-]", "", value)
    if is_ascii_digits(compact):
        if not is_ascii_digits(re.sub(r"[\s\-－]", "", fold_digits(raw).strip())):
            raise PayerUnknown(_("カード番号は数字（0〜9）で入力してください。"))
        return compact
    return value


def identify(raw: str, *, now: float | None = None) -> Payer:
    """The payer behind what the terminal read. Raises PaymentRefused (or
    PayerUnknown) with a message for the clerk."""
    value = normalize_scan(raw)
    if not value:
        raise PayerUnknown(_("QRコードを読み取るか、カード番号を入力してください。"))
    if value.startswith(WALLET_PREFIX + "."):
        payer = _identify_wallet(value, now)
    elif is_ascii_digits(value):
        if len(value) != 16 or not is_valid_card_number(value):
            raise PayerUnknown(_("カード番号が正しくありません。16桁の番号をご確認ください。"))
        card = db.session.scalar(select(Card).where(Card.number == value))
        if card is None:
            raise PayerUnknown(_("このカード番号は登録されていません。"))
        payer = Payer(card.member, card)
    else:
        match = _CARD_PATH_RE.search(urlsplit(value).path) if "/card/" in value else None
        if match is None:
            raise PayerUnknown(_("ISECAのQRコードではありません。お客様のアプリのQRコードかカードを読み取ってください。"))
        card = db.session.scalar(select(Card).where(Card.number == match.group(1)))
        if card is None or not hmac.compare_digest(card.secret.encode(), match.group(2).encode()):
            raise PayerUnknown(_("このカードは登録されていません。"))
        payer = Payer(card.member, card)
    check_payer(payer.member, payer.card)
    return payer


def _identify_wallet(value: str, now: float | None) -> Payer:
    parts = value.split(".")
    unreadable = PayerUnknown(_("QRコードを読み取れませんでした。もう一度読み取ってください。"))
    if len(parts) != 4 or not is_ascii_digits(parts[1]) or len(parts[1]) > 20:
        raise unreadable
    _prefix, code, issued_text, signature = parts
    try:
        issued = parse_whole_number(issued_text, maximum=10**12)  # unix seconds
    except NumberInvalid:
        raise unreadable from None
    member = db.session.scalar(select(Member).where(Member.code == code))
    if member is None or not member.qr_secret:
        raise PayerUnknown(_("この会員は登録されていません。"))
    if not hmac.compare_digest(_wallet_signature(member, issued).encode(), signature.encode()):
        raise PayerUnknown(_("QRコードが正しくありません。もう一度読み取ってください。"))
    current = now if now is not None else time.time()
    if issued > current + 30 or current - issued > wallet_qr_ttl():
        raise PaymentRefused(_("QRコードの有効期限が切れています。お客様のアプリで新しいQRコードを表示してもらってください。"))
    return Payer(member, None)


# The payer read at the till travels to the amount and confirmation screens
# as a signed, short-lived reference (never the card's secret).
_PAYER_SALT = "terminal-payer"
PAYER_MAX_AGE = 15 * 60


def _serializer() -> URLSafeTimedSerializer:
    return _serializer_of(current_app.config["SECRET_KEY"])


@functools.lru_cache(maxsize=4)
def _serializer_of(secret_key: str) -> URLSafeTimedSerializer:
    # Made once per key, not at every charge.
    return URLSafeTimedSerializer(secret_key, salt=_PAYER_SALT)


def payer_reference(payer: Payer, store_id: int) -> str:
    """A signed reference to the payer, bound to the store that read it."""
    return _serializer().dumps({"m": payer.member.id, "c": payer.card.id if payer.card else None, "s": store_id})


_CARD_AND_MEMBER = select(Card, Member).join(Member, Card.member_id == Member.id).where(Card.id == bindparam("card_id"))


def payer_from_reference(reference: str, store_id: int) -> Payer:
    """The payer of a reference made by `payer_reference` for this store.
    Not checked here: a payment checks its payer (payments.pay_once), a page
    that only shows the payer calls payments.check_payer."""
    try:
        data = _serializer().loads(reference or "", max_age=PAYER_MAX_AGE)
    except BadSignature:
        raise PayerUnknown(_("読み取りから時間が経ちました。もう一度QRコードを読み取ってください。")) from None
    if not isinstance(data, dict) or data.get("s") != store_id:
        raise PayerUnknown(_("もう一度QRコードを読み取ってください。"))
    if data.get("c"):
        # One query for the card and its member (`card.member` is then found in the session).
        row = db.session.execute(_CARD_AND_MEMBER, {"card_id": data["c"]}).first()
        card = row.Card if row is not None else None
        member = row.Member if row is not None and card.member_id == data.get("m") else None
    else:
        card = None
        member = db.session.get(Member, data.get("m"))
    if member is None:
        raise PayerUnknown(_("この会員は登録されていません。"))
    return Payer(member, card)
