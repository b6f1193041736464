"""専用カードの残高確認: the page whose address is printed on the card
(card number + secret). No login; wrong secrets are throttled per address."""
from __future__ import annotations

import hmac

from flask import current_app, g, render_template
from flask_babel import gettext
from sqlalchemy import select

from ..extensions import db, limiter
from ..models import Card, CardStatus, Payment
from ..money import ledger
from ..numbers import is_ascii_digits
from .blueprint import bp

RECENT_USES = 10


def _wrong_secret(response) -> bool:
    return bool(g.get("card_secret_wrong"))


@bp.route("/card/<number>/<secret>")
@limiter.limit(lambda: current_app.config.get("CARD_PAGE_FAILURES_PER_ADDRESS", "10 per 15 minutes"),
               deduct_when=_wrong_secret, scope="card-page")
def card_balance(number: str, secret: str):
    """残高と最近のご利用: balance and recent uses of one card."""
    card = db.session.scalar(select(Card).where(Card.number == number[:20])) if is_ascii_digits(number) else None
    if card is None or not hmac.compare_digest(card.secret.encode(), secret.encode()[:100]):
        g.card_secret_wrong = True
        page = render_template("errors/error.html", code=404, title=gettext("カードが見つかりません"),
                               message=gettext("カード裏面のアドレスをそのまま入力するか、QRコードを読み取ってください。"))
        return page, 404
    uses = list(db.session.scalars(
        select(Payment).where(Payment.member_id == card.member_id).order_by(Payment.created_at.desc(), Payment.id.desc()).limit(RECENT_USES)
    ))
    balance = ledger.member_balance(card.member_id) if card.status == CardStatus.ACTIVE else None
    response = current_app.make_response(render_template("public/card.html", card=card, balance=balance, uses=uses))
    # The address carries the card's secret: keep it out of caches and referrers.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
