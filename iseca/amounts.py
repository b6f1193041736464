"""Yen amounts as a person types them (1 point = 1 yen): the one parser
behind the till's and the wallet's 金額, the counter's 付与ポイント and the
grant CSV, and the amount range of 利用状況一覧.

Accepted: ASCII or full-width digits, thousands commas (, or ，), a leading
¥ / ￥, a trailing 円, spaces around. Leading zeros are ignored
("00000000000001" is 1 yen, as a calculator reads it). Everything else gets
a message for the field and is never charged: `²` or `①⓪` are not digits
(NFKC would read them as 2 and 10), `1e3` is not a number a person types.
"""
from __future__ import annotations

import re

from .numbers import NumberTooLarge, parse_whole_number

_FOLD = str.maketrans("０１２３４５６７８９，．￥", "0123456789,.¥")
_MINUS = "-－−ー‐"
_YEN = re.compile(
    rf"(?P<minus>[{_MINUS}])?\s*¥?\s*(?P<minus_after_sign>[{_MINUS}])?\s*"
    r"(?P<number>[0-9][0-9,]*)(?P<fraction>\.[0-9]*)?\s*円?"
)
_GROUPED = re.compile(r"[0-9]+(?:,[0-9]+)*")


class AmountInvalid(ValueError):
    """The amount typed is not a whole number of yen within the limits; the
    message is what the field shows."""


def parse_yen(raw: object, *, maximum: int, minimum: int = 1, name: str = "金額", unit: str = "円",
              too_large: str | None = None) -> int:
    """The whole-yen amount in `raw`, from `minimum` to `maximum`. Raises
    AmountInvalid with the message shown next to the field (`too_large`
    replaces the default message above `maximum`)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if raw is None:
        raw = ""
    not_a_number = AmountInvalid(f"{name}は数字で入力してください（例: 1,000）。")
    if not isinstance(raw, str):
        raise not_a_number
    text = raw.strip().translate(_FOLD)
    if not text:
        raise AmountInvalid(f"{name}を入力してください。")
    below = AmountInvalid(f"{name}は{minimum:,}{unit}以上で入力してください。")
    above = AmountInvalid(too_large or f"{name}は{maximum:,}{unit}以下で入力してください。")
    match = _YEN.fullmatch(text)
    if match is None or not _GROUPED.fullmatch(match["number"]):
        raise not_a_number
    if match["fraction"] is not None:
        raise AmountInvalid(f"{name}は1{unit}単位の整数で入力してください（小数は使えません）。")
    negative = bool(match["minus"] or match["minus_after_sign"])
    try:
        value = parse_whole_number(match["number"].replace(",", ""), maximum=maximum)
    except NumberTooLarge:
        raise (below if negative else above) from None
    if negative and value:
        raise below
    if value < minimum:
        raise below
    return value
