"""決済する, as the terminal and the wallet both submit it: the typed amount
charged once per key and committed, or the refusal rolled back and turned
into the page that explains it (one place for both areas)."""
from __future__ import annotations

from collections.abc import Callable

from flask import Response

from ..extensions import db
from ..models import Account, Card, Member, PaymentMethod, Register
from ..money import idempotency, ledger, payments

# (error next to the amount field, available points when short, status) -> the amount page again
AmountPage = Callable[..., tuple[str, int]]
# (message, status) -> the refusal page
RefusedPage = Callable[[str, int], tuple[str, int]]
# (the question: an earlier payment like this one, status) -> 「もう一度決済しますか？」
DuplicatePage = Callable[[payments.DuplicateSuspected, int], tuple[str, int]]


def charge(
    actor: Account,
    key: str,
    member: Member,
    register: Register,
    amount_text: str,
    method: PaymentMethod,
    *,
    card: Card | None = None,
    amount_page: AmountPage,
    refused_page: RefusedPage,
    duplicate_page: DuplicatePage,
    confirmed: int | None = None,
) -> payments.PaymentResult | tuple[str, int] | Response:
    """Pay `amount_text` once per (actor, key) and commit. Returns the
    result, or (nothing charged) the amount page with the field's message or
    the shortfall (422), the question about a like payment made moments
    before (409, audited; `confirmed` is the earlier payment's id once the
    clerk said 「もう一度決済する」), or the refusal page: 409 while the same
    request is still running, 422 otherwise."""
    try:
        amount = payments.parse_amount(amount_text)
        result = payments.pay_once(actor, key, member, register, amount, method, card=card, confirmed=confirmed)
        # Nothing is read after the commit but ids: no need to reload every
        # object of the session from the database.
        db.session().expire_on_commit = False
        db.session.commit()
        return result
    except payments.AmountInvalid as invalid:
        db.session.rollback()
        return amount_page(error=str(invalid), status=422)
    except ledger.InsufficientBalance as short:
        db.session.rollback()
        return amount_page(insufficient=short.available, status=422)
    except payments.DuplicateSuspected as suspected:
        db.session.rollback()
        payments.record_duplicate_question(actor, suspected, register)
        db.session.commit()
        return duplicate_page(suspected, 409)
    except idempotency.RequestInFlight as busy:
        db.session.rollback()
        return refused_page(str(busy), 409)
    except (payments.PaymentRefused, idempotency.KeyRefused) as refused:
        db.session.rollback()
        return refused_page(str(refused), 422)
