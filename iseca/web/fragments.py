"""Page or fragment: one rule for every view that serves both."""
from __future__ import annotations

import hashlib

from flask import request


def wants_fragment() -> bool:
    """htmx asked for a part of the page (not a boosted navigation, not the
    back button's history restore, which needs the whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def content_version(parts) -> str:
    """A short fingerprint of what a polled fragment shows: the next poll sends
    it back (`v=`), and the view answers 204 when nothing changed."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]
