"""Members (会員) and cards (専用カード)."""
from __future__ import annotations

import csv
import io
import secrets
import unicodedata

from flask_babel import gettext
from sqlalchemy import func, select, update

from .. import amounts, audit, i18n
from ..database import contains_text
from ..extensions import db
from ..models import Account, AccountKind, Card, CardStatus, Member, MemberKind, MemberStatus, utcnow
from ..money import ledger
from ..money.grants import GRANT_MAX_AMOUNT, GrantBatch, GrantLine
from ..numbers import fold_digits, is_ascii_digits


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


def is_member_code(text: str) -> bool:
    """A 会員コード: 10 digits, 0-9 only."""
    return len(text) == 10 and is_ascii_digits(text)


def is_valid_card_number(number: str) -> bool:
    return len(number) == 16 and is_ascii_digits(number) and luhn_check_digit(number[:-1]) == number[-1]


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


# ---------------------------------------------------------------------------
# The counter's work on members and cards (ISECA窓口)
# ---------------------------------------------------------------------------

MAX_BATCH = 500


class MemberError(Exception):
    """A counter action that cannot be done, with a message for the clerk."""


def issue_card_members(count: int, *, batch: str, name: str = "") -> list[Card]:
    """新規カード発行: `count` card members, each with a card, in one batch."""
    if not 1 <= count <= MAX_BATCH:
        raise MemberError(gettext("一度に発行できるのは1〜%(max)s枚です。", max=i18n.number(MAX_BATCH)))
    cards = []
    for _ in range(count):
        member = create_member(MemberKind.CARD, name=name)
        cards.append(issue_card(member, batch=batch))
    return cards


def create_app_member(email: str, name: str) -> tuple[Member, Account, str]:
    """アプリ会員の登録: a member and its wallet login; returns the initial password."""
    from ..accounts import AccountExists, create_account

    email = unicodedata.normalize("NFKC", email or "").strip().lower()
    member = create_member(MemberKind.APP, name=name, email=email)
    try:
        account, password = create_account(AccountKind.MEMBER, email, name=name, email=email, member_id=member.id)
    except AccountExists:
        raise MemberError(gettext("このメールアドレスはすでに登録されています。")) from None
    return member, account, password


def suspend_card(card: Card, *, actor: Account | None = None) -> None:
    """紛失・盗難: the card can no longer pay; its balance stays with the member.
    Decided by one conditional UPDATE, so two clerks at once stop it once."""
    result = db.session.execute(
        update(Card).where(Card.id == card.id, Card.status == CardStatus.ACTIVE)
        .values(status=CardStatus.SUSPENDED, suspended_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise MemberError(gettext("このカードはすでに利用停止または再発行済みです。"))
    db.session.refresh(card)
    audit.record("card_suspended", card, {"number": card.number}, actor=actor)


def replace_card(card: Card, *, actor: Account | None = None) -> Card:
    """再発行: a new card for the same member; the old one stops for good.

    Points belong to the member (the ledger keeps them per member and
    campaign), so the whole balance goes with the new card and no points
    move between ledger accounts. One conditional UPDATE decides which of
    several requests at once replaces the card: only that one issues a new
    card, so a member never holds two active replacements."""
    result = db.session.execute(
        update(Card).where(Card.id == card.id, Card.status != CardStatus.REPLACED)
        .values(status=CardStatus.REPLACED, suspended_at=func.coalesce(Card.suspended_at, utcnow()))
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise MemberError(gettext("このカードはすでに再発行済みです。"))
    # A batch of its own: the card sheet of a batch lists every card's
    # balance-page secret, so a replacement must not join anyone else's.
    new_card = issue_card(card.member, batch=f"replacement-{card.number}")
    db.session.execute(update(Card).where(Card.id == card.id).values(replaced_by_id=new_card.id)
                       .execution_options(synchronize_session=False))
    db.session.refresh(card)
    audit.record("card_replaced", card, {"old": card.number, "new": new_card.number,
                                         "balance": ledger.member_balance(card.member_id)}, actor=actor)
    return new_card


def find_members(query: str, limit: int = 50) -> list[Member]:
    """Members by member code, card number, e-mail or name."""
    from sqlalchemy import or_

    text = unicodedata.normalize("NFKC", query or "").strip()
    stmt = select(Member).order_by(Member.id.desc()).limit(limit)
    if text:
        digits = text.replace("-", "").replace(" ", "")
        card_members = select(Card.member_id).where(Card.number == digits)
        stmt = stmt.where(or_(Member.code == digits, Member.id.in_(card_members), Member.email == text.lower(),
                              contains_text(Member.name, text)))
    return list(db.session.scalars(stmt))


def parse_grant_amount(raw: str) -> int:
    """A grant amount: positive whole points, typed as a yen amount is."""
    try:
        return amounts.parse_yen(raw, maximum=GRANT_MAX_AMOUNT, unit="points",
                                 too_large=lambda: gettext("1回の付与は%(points)sポイントまでです。", points=i18n.number(GRANT_MAX_AMOUNT)))
    except amounts.AmountInvalid as invalid:
        raise MemberError(str(invalid)) from None


def decode_csv(data: bytes) -> str:
    """CSV text from Excel (CP932) or UTF-8 (with or without BOM)."""
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise MemberError(gettext("CSVの文字コードを読み取れません。UTF-8またはShift_JIS（CP932）で保存してください。"))


def parse_grant_csv(text: str, max_lines: int = 10_000) -> GrantBatch:
    """Lines of 会員コード,ポイント (a header line is allowed)."""
    batch = GrantBatch()
    rows = list(csv.reader(io.StringIO(text)))
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        # Digits folded, not NFKC: NFKC would read "①⓪" as 10 points.
        cells = [fold_digits(c).strip() for c in row]
        if not any(cells):
            continue
        if number == 1 and cells and not is_ascii_digits(cells[0].replace("-", "")):
            continue  # header
        if len(batch.lines) >= max_lines:
            batch.error = gettext("一度に取り込めるのは%(max)s行までです。", max=i18n.number(max_lines))
            break
        code = cells[0] if cells else ""
        line = GrantLine(line=number, code=code, amount=None)
        batch.lines.append(line)
        if len(cells) < 2:
            line.error = gettext("「会員コード,ポイント」の2列が必要です。")
            continue
        try:
            line.amount = parse_grant_amount(cells[1])
        except MemberError as error:
            line.error = str(error)
            continue
        member = db.session.scalar(select(Member).where(Member.code == code)) if is_member_code(code) else None
        if member is None:
            line.error = gettext("この会員コードは登録されていません。")
        elif member.status != MemberStatus.ACTIVE:
            line.error = gettext("この会員は利用停止中です。")
        elif code in seen:
            line.error = gettext("%(line)s行目と同じ会員コードです。", line=seen[code])
        else:
            line.member = member
            seen[code] = number
    if not batch.lines and not batch.error:
        batch.error = gettext("付与する行がありません。")
    return batch


