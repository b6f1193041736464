"""Whole numbers as people type them, the one place that decides what a
digit is.

Only ASCII digits and their full-width forms (０-９, as a Japanese input
method types them) count. Python's own `str.isdigit()` / `int()` and NFKC
accept far more: `"²".isdigit()` is true and NFKC turns `①⓪` into "10", so a
till would charge 10 yen for two circled numbers; `int()` of an Arabic-Indic
digit succeeds, and `int()` of 5,000 digits raises. Every number read from a
request goes through `parse_whole_number`, which checks the characters and
bounds the length before it converts.
"""
from __future__ import annotations

import re

# Ids are PostgreSQL `integer` columns: anything larger cannot be a row and
# would make the database refuse the query ("integer out of range").
DB_INT_MAX = 2**31 - 1

FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_ASCII_DIGITS = re.compile(r"[0-9]+")


class NumberInvalid(ValueError):
    """Not a whole number written with 0-9 (or ０-９)."""


class NumberTooLarge(NumberInvalid):
    """A whole number above the maximum the caller allows."""


def is_ascii_digits(text: str) -> bool:
    """True for a non-empty run of 0-9 only (not ², ①, ٣ or 𐩀)."""
    return _ASCII_DIGITS.fullmatch(text) is not None


def fold_digits(text: str) -> str:
    """Full-width digits as ASCII digits; nothing else changes."""
    return text.translate(FULL_WIDTH_DIGITS)


def parse_whole_number(raw: object, *, maximum: int = DB_INT_MAX) -> int:
    """`raw` as a whole number from 0 to `maximum`: ASCII or full-width
    digits, surrounding spaces allowed, leading zeros ignored ("007" is 7).
    Raises NumberInvalid, or NumberTooLarge above `maximum`; int() never
    sees more digits than `maximum` has."""
    if not isinstance(raw, str):
        raise NumberInvalid(raw)
    text = fold_digits(raw.strip())
    if not is_ascii_digits(text):
        raise NumberInvalid(raw)
    significant = text.lstrip("0") or "0"
    if len(significant) > len(str(maximum)):
        raise NumberTooLarge(raw)
    value = int(significant)
    if value > maximum:
        raise NumberTooLarge(raw)
    return value
