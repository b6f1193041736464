"""The translation catalogues the app reads, built for a run without make."""
from __future__ import annotations

import os
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]


def compile_catalogues() -> None:
    """The translations as `make translations` builds them, for a suite run
    without make (each .mo replaced in one step: test workers start at once)."""
    for po in ROOT.glob("iseca/translations/*/*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with open(po, "rb") as f:
            catalogue = read_po(f)
        partial = mo.with_suffix(f".{os.getpid()}.tmp")
        with open(partial, "wb") as f:
            write_mo(f, catalogue)
        os.replace(partial, mo)
