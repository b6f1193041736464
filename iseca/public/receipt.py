"""The public receipt page a receipt's QR code opens (/receipt/<token>): no
login, the same fields as the printed receipt and nothing more; a token
that was changed, or names nothing, is a 404 (iseca/web/receipts.py)."""
from __future__ import annotations

from flask import render_template, request

from .. import i18n
from ..web import receipts
from .blueprint import bp


@bp.route("/receipt/<token>")
def receipt(token: str):
    """レシート as the customer opens it from its QR code, in the language they pick."""
    found = receipts.receipt_of_token(token)
    language = i18n.normalise(request.args.get("lang")) or i18n.current()
    response = render_template("receipts/public.html", body=receipts.receipt_html(found, language, with_qr=False),
                               token=token, language=language, languages=receipts.LANGUAGES)
    return response, 200, {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}
