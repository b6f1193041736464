"""レシート: the receipt page of a payment or of its 取消, for the browser's
print dialog, in the terminal's 店舗利用履歴 (/terminal/history/<id>/receipt)
and the management site's 利用状況一覧 (/cms/usage/<id>/receipt). A nested
blueprint like 取消: the parent's login guard runs first and the payment
must be one of the account's stores (another store's: 404).

The receipt is written in the language the clerk picks for the customer
(ja, en, pt_BR, vi), whatever the clerk's own page speaks, and printed at
the store's 「レシートの幅」 (店舗情報): 58 mm or 80 mm thermal rolls, or A4.
Its QR code opens the public receipt page (/receipt/<token>): the token is
the payment and the kind of receipt, signed with the app's secret, so a
changed token is a 404; that page shows nothing the printed receipt does not."""
from __future__ import annotations

import functools

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import Markup

from .. import i18n
from ..extensions import db
from ..models import Payment
from ..money import receipts
from .access import get_store_payment_or_404
from .history import safe_back
from .pages import qr_data_uri

bp = Blueprint("receipt", __name__)

WIDTHS = ("58mm", "80mm", "a4")
# The languages a receipt is printed in: the residents' languages.
LANGUAGES = tuple(i18n.LANGUAGES)


@functools.lru_cache(maxsize=4)
def _serializer_of(secret_key: str) -> URLSafeSerializer:
    # Made once per key, not at every receipt.
    return URLSafeSerializer(secret_key, salt="receipt")


def _serializer() -> URLSafeSerializer:
    return _serializer_of(current_app.config["SECRET_KEY"])


def public_token(payment_id: int, kind: str) -> str:
    """The signed reference of a receipt, for its public page."""
    return _serializer().dumps([payment_id, receipts.KINDS.index(kind)])


def public_url(receipt: receipts.Receipt) -> str:
    """The public page of a receipt at the address customers reach (the QR code's)."""
    path = url_for("public.receipt", token=public_token(receipt.payment_id, receipt.kind))
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path


def receipt_of_token(token: str) -> receipts.Receipt:
    """The receipt a public token names; 404 for a changed token or one that names nothing."""
    try:
        value = _serializer().loads(token)
    except BadSignature:
        abort(404)
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            and 0 <= value[1] < len(receipts.KINDS)):
        abort(404)
    payment = db.session.get(Payment, value[0])
    if payment is None:
        abort(404)
    try:
        return receipts.receipt_of(payment, receipts.KINDS[value[1]])
    except receipts.NoReceipt:
        abort(404)


def receipt_html(receipt: receipts.Receipt, language: str, *, with_qr: bool = True) -> Markup:
    """The receipt itself, written in `language` (the page around it keeps the reader's)."""
    qr = qr_data_uri(public_url(receipt), box_size=4, border=2) if with_qr else None
    with i18n.force_locale(language):
        return Markup(render_template("receipts/_receipt.html", receipt=receipt, qr=qr,
                                      receipt_lang=i18n.HTML_LANG[language]))


def _choice(name: str, allowed: tuple[str, ...], default: str) -> str:
    value = request.args.get(name, "")
    return value if value in allowed else default


@bp.route("/<int:payment_id>/receipt")
def page(payment_id: int, list_endpoint: str):
    """The receipt page: 「印刷する」, the customer's language, the paper width."""
    payment = get_store_payment_or_404(current_user, payment_id)
    kind = _choice("kind", receipts.KINDS, receipts.PAYMENT)
    try:
        receipt = receipts.receipt_of(payment, kind)
    except receipts.NoReceipt:
        abort(404)
    # Until the clerk picks the customer's language, the receipt speaks the clerk's.
    language = i18n.normalise(request.args.get("lang")) or i18n.current()
    width = _choice("width", WIDTHS, payment.store.receipt_width if payment.store.receipt_width in WIDTHS else "a4")
    list_url = url_for(list_endpoint)
    # 「戻る」: the page the clerk came from in the same area (決済完了, 履歴の詳細, the list).
    back_url = safe_back(list_url.rsplit("/", 1)[0] + "/", list_url)
    args = dict(payment_id=payment.id, kind=kind, lang=language, width=width, back=back_url)
    return render_template(
        "receipts/page.html",
        receipt=receipt,
        body=receipt_html(receipt, language),
        width=width,
        language=language,
        languages=LANGUAGES,
        widths=WIDTHS,
        args=args,
        back_url=back_url,
        other_kind=(receipts.CANCELLATION if kind == receipts.PAYMENT else receipts.PAYMENT) if receipt.cancelled else None,
    )
