"""Members (会員) and cards (専用カード)."""
from __future__ import annotations

import secrets

from sqlalchemy import select

from .extensions import db
from .models import Card, Member, MemberKind


def luhn_check_digit(digits: str) -> str:
    """The Luhn check digit, so a mistyped card number is caught at once."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def is_valid_card_number(number: str) -> bool:
    return len(number) == 16 and number.isdigit() and luhn_check_digit(number[:-1]) == number[-1]


def _unique(column, make) -> str:
    while True:
        value = make()
        if db.session.scalar(select(column).where(column == value)) is None:
            return value


def create_member(kind: MemberKind, *, name: str = "", email: str = "") -> Member:
    """A member with a random 10-digit member code (会員コード)."""
    code = _unique(Member.code, lambda: f"{secrets.randbelow(9 * 10**9) + 10**9}")
    member = Member(code=code, kind=kind, name=name, email=email, qr_secret=secrets.token_urlsafe(32))
    db.session.add(member)
    db.session.flush()
    return member


def issue_card(member: Member, *, batch: str = "") -> Card:
    """A card: a 16-digit number (ISECA prefix 9392, Luhn digit) and a long secret."""

    def number() -> str:
        body = "9392" + f"{secrets.randbelow(10**11):011d}"
        return body + luhn_check_digit(body)

    card = Card(
        member_id=member.id,
        number=_unique(Card.number, number),
        secret=_unique(Card.secret, lambda: secrets.token_urlsafe(24)),
        batch=batch,
    )
    db.session.add(card)
    db.session.flush()
    return card
