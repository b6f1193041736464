"""URL converters of the whole app.

`int` is replaced app-wide: every `<int:…>` in a route is an id of a row,
and an id is a PostgreSQL `integer`. Werkzeug's own converter accepts any
length of digits, so `/cms/usage/99999999999/cancel` reached the database and
failed there ("integer out of range", a 500); here it is a 404 like any id
that does not exist, and only ASCII digits are read.
"""
from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

from ..numbers import DB_INT_MAX


class IdConverter(IntegerConverter):
    """`<int:name>`: 1 … 2³¹−1, ASCII digits, else 404."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map, fixed_digits: int = 0, min: int | None = 1, max: int | None = DB_INT_MAX,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
        self.regex = IdConverter.regex


def init_app(app: Flask) -> None:
    """Register before any blueprint: rules are compiled as they are added."""
    app.url_map.converters["int"] = IdConverter
