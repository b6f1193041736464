"""Yen amounts as a person types them (1 point = 1 yen): the one parser
behind the till's and the wallet's 金額, the counter's 付与ポイント and the
grant CSV, and the amount range of 利用状況一覧.

Accepted: ASCII or full-width digits, thousands commas (, or ，: every
three digits from the right, as 1,000 or 12,345,678; "2,00" or "1,0000" is
refused, since 2,00 may be 2 yen or 200), a leading
¥ / ￥, a trailing 円, spaces around. Leading zeros are ignored
("00000000000001" is 1 yen, as a calculator reads it). Everything else gets
a message for the field and is never charged: `²` or `①⓪` are not digits
(NFKC would read them as 2 and 10), `1e3` is not a number a person types.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

from flask_babel import gettext as _

from .i18n import number, yen
from .numbers import NumberTooLarge, parse_whole_number

_FOLD = str.maketrans("０１２３４５６７８９，．￥", "0123456789,.¥")
_MINUS = "-－−ー‐"
_YEN = re.compile(
    rf"(?P<minus>[{_MINUS}])?\s*¥?\s*(?P<minus_after_sign>[{_MINUS}])?\s*"
    r"(?P<number>[0-9][0-9,]*)(?P<fraction>\.[0-9]*)?\s*円?"
)
_GROUPED = re.compile(r"[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+")


class AmountInvalid(ValueError):
    """The amount typed is not a whole number of yen within the limits; the
    message is what the field shows."""


def _messages(unit: str) -> dict[str, callable]:
    """What the field says, for an amount of yen (金額) or of points (ポイント)."""
    if unit == "points":
        return {
            "not_a_number": lambda: _("ポイントは数字で入力してください（例: %(example)s）。", example=number(1000)),
            "empty": lambda: _("ポイントを入力してください。"),
            "below": lambda n: _("ポイントは%(points)sポイント以上で入力してください。", points=number(n)),
            "above": lambda n: _("ポイントは%(points)sポイント以下で入力してください。", points=number(n)),
            "fraction": lambda: _("ポイントは1ポイント単位の整数で入力してください（小数は使えません）。"),
            "grouping": lambda: _("カンマ（,）は3桁ごとの区切りにだけ使えます（例: %(example)s）。", example=number(1000)),
        }
    return {
        "not_a_number": lambda: _("金額は数字で入力してください（例: %(example)s）。", example=number(1000)),
        "empty": lambda: _("金額を入力してください。"),
        "below": lambda n: _("金額は%(amount)s以上で入力してください。", amount=yen(n)),
        "above": lambda n: _("金額は%(amount)s以下で入力してください。", amount=yen(n)),
        "fraction": lambda: _("金額は1円単位の整数で入力してください（小数は使えません）。"),
        "grouping": lambda: _("カンマ（,）は3桁ごとの区切りにだけ使えます（例: %(example)s）。", example=number(1000)),
    }


def parse_yen(raw: object, *, maximum: int, minimum: int = 1, unit: str = "yen",
              too_large: Callable[[], str] | None = None) -> int:
    """The whole amount in `raw`, from `minimum` to `maximum`, of yen (`unit`
    "yen": 金額) or of points ("points"). Raises AmountInvalid with the message
    shown next to the field, in the reader's language (`too_large` makes the
    message above `maximum` in place of the default one, only when needed: a
    formatted amount costs more than the parsing)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if raw is None:
        raw = ""
    say = _messages(unit)
    if not isinstance(raw, str):
        raise AmountInvalid(say["not_a_number"]())
    text = raw.strip().translate(_FOLD)
    if not text:
        raise AmountInvalid(say["empty"]())
    match = _YEN.fullmatch(text)
    if match is None or ",," in match["number"] or match["number"].endswith(","):
        raise AmountInvalid(say["not_a_number"]())
    if not _GROUPED.fullmatch(match["number"]):
        raise AmountInvalid(say["grouping"]())
    if match["fraction"] is not None:
        raise AmountInvalid(say["fraction"]())
    negative = bool(match["minus"] or match["minus_after_sign"])
    try:
        value = parse_whole_number(match["number"].replace(",", ""), maximum=maximum)
    except NumberTooLarge:
        raise AmountInvalid(say["below"](minimum) if negative else (too_large or partial(say["above"], maximum))()) from None
    if (negative and value) or value < minimum:
        raise AmountInvalid(say["below"](minimum))
    return value
