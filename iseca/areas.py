"""The areas of the product that have a login, and which one a request is in.

A leaf: the request's language, the session store and the web layer all ask
it, so it imports nothing of the package but the models."""
from __future__ import annotations

from dataclasses import dataclass

from flask import request
from flask_babel import lazy_gettext as _l

from .models import AccountKind


@dataclass(frozen=True)
class Area:
    name: str
    title: str  # lazy: shown in the reader's language
    kinds: tuple[AccountKind, ...]
    home: str  # endpoint


AREAS: dict[str, Area] = {
    "cms": Area("cms", _l("管理サイト"), (AccountKind.STORE, AccountKind.BUSINESS), "cms.index"),
    "terminal": Area("terminal", _l("加盟店アプリ"), (AccountKind.STORE,), "terminal.index"),
    "counter": Area("counter", _l("ISECA窓口"), (AccountKind.STAFF,), "counter.index"),
    "wallet": Area("wallet", _l("ISECAウォレット"), (AccountKind.MEMBER,), "wallet.index"),
}


def area_of_request() -> Area | None:
    """The area the current request belongs to, by its blueprint (the
    outermost one, for pages nested in an area) or path."""
    if request.view_args and request.view_args.get("area") in AREAS:
        return AREAS[request.view_args["area"]]
    if request.blueprints and request.blueprints[-1] in AREAS:
        return AREAS[request.blueprints[-1]]
    first = request.path.strip("/").split("/", 1)[0]
    return AREAS.get(first)
