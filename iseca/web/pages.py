"""Answers that several areas give the same way: the whole page or its
htmx fragment (and the version of a polled one), a stored image, a QR code
as a data: URI."""
from __future__ import annotations

import base64
import hashlib
import io

import qrcode
from flask import make_response, render_template, request
from jinja2_fragments.flask import render_block

from ..models import StoreImage


def wants_fragment() -> bool:
    """htmx asked for just the swapped part: not a boosted navigation (which
    shows a whole page), and not the back button's history restore (which
    needs the whole page too)."""
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def page_or_fragment(template: str, block: str, **context) -> str:
    """One URL, page or block: the whole `template` for a navigation, only its
    `block` for an htmx swap."""
    if wants_fragment():
        return render_block(template, block, **context)
    return render_template(template, **context)


def content_version(parts) -> str:
    """A short fingerprint of what a polled fragment shows: the next poll sends
    it back (`v=`), and the view answers 204 when nothing changed."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def image_response(image: StoreImage, *, public: bool):
    """The stored bytes with their own content type; never rendered as anything else."""
    response = make_response(image.data)
    response.headers["Content-Type"] = image.content_type
    response.headers["Content-Disposition"] = "inline"
    response.headers["Cache-Control"] = "public, max-age=300" if public else "private, no-store"
    return response


def qr_data_uri(text: str, *, box_size: int = 8, border: int = 4) -> str:
    """A QR code of `text` as a PNG data: URI, for an <img> that changes with
    the page (a member's short-lived code, a card on its sheet)."""
    image = qrcode.make(text, box_size=box_size, border=border, error_correction=qrcode.constants.ERROR_CORRECT_M)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()

