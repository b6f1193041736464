"""Versioned static URLs: url_for('static', filename=…) adds ?v=<hash of
the file's content>, so nginx (or a browser) may keep static files for a
year and a new release is still fetched at once."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import Flask

_versions: dict[str, tuple[float, str]] = {}


def file_version(folder: str, filename: str) -> str | None:
    """The first 12 hex digits of the file's SHA-256 (re-read when its mtime changes)."""
    path = Path(folder) / filename
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return None
    cached = _versions.get(str(path))
    if cached and cached[0] == mtime:
        return cached[1]
    version = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    _versions[str(path)] = (mtime, version)
    return version


def init_app(app: Flask) -> None:
    @app.url_defaults
    def _static_version(endpoint, values):
        if endpoint == "static" and "filename" in values and "v" not in values and app.static_folder:
            version = file_version(app.static_folder, values["filename"])
            if version:
                values["v"] = version
