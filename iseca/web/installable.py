"""The terminal and the wallet as installed apps (「ホーム画面に追加」): a web
app manifest, a service worker and the offline page, nested in each of the
two areas so that each is served at the area's root (/terminal/sw.js
controls /terminal/ and nothing else).

The rules the service worker keeps (static/js/service-worker.js):
- it caches the static files (their URLs carry ?v=<hash>, so a cached one is
  never stale) and the offline page, nothing else: never a page with data,
  never an answer to a POST;
- a page is always asked of the network; when the network fails, the
  offline page answers instead of the browser's error page. A charge is
  never queued: a POST that fails is not sent again.

The offline page holds every language of its area, each part marked with
its `lang`; static/js/offline.js shows the one the last page was shown in
(kept in localStorage by app.js), else the browser's. One page for all
languages: the service worker then needs to know nothing of languages, and a
till whose clerk switched to English sees English offline at once."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import Blueprint, current_app, has_request_context, make_response, render_template, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from .. import i18n
from ..areas import area_of_request
from .static_urls import file_version

bp = Blueprint("app", __name__)

THEME_COLOUR = "#0b6e4f"  # --brand of app.css
BACKGROUND_COLOUR = "#f6f7f5"  # --bg of app.css
# What the offline page and every page of an area load, fetched when the
# service worker installs (others are cached the first time a page asks).
PRECACHED = ("css/app.css", "vendor/htmx/htmx.min.js", "js/app.js", "js/print.js", "js/offline.js", "favicon.svg")
PRECACHED_OF_AREA = {"terminal": ("js/scanner.js", "vendor/jsqr/jsQR.js"), "wallet": ("js/scanner.js",)}
ENDPOINTS = ("manifest", "service_worker", "offline")


def public_endpoints(area: str) -> tuple[str, ...]:
    """The endpoints of this blueprint inside `area`: open without a login
    (the browser fetches them without asking, the offline page is fetched
    once for all accounts of the device)."""
    return tuple(f"{area}.app.{name}" for name in ENDPOINTS)


def _area_name() -> str:
    return area_of_request().name


def _icons(area: str) -> list[dict]:
    def icon(filename: str, size: str, kind: str, purpose: str) -> dict:
        return {"src": url_for("static", filename=f"icons/{filename}"), "sizes": size, "type": kind, "purpose": purpose}

    return [
        icon(f"{area}.svg", "any", "image/svg+xml", "any"),
        icon(f"{area}-192.png", "192x192", "image/png", "any"),
        icon(f"{area}-512.png", "512x512", "image/png", "any"),
        icon(f"{area}-maskable-192.png", "192x192", "image/png", "maskable"),
        icon(f"{area}-maskable-512.png", "512x512", "image/png", "maskable"),
    ]


@bp.route("/manifest.webmanifest")
def manifest():
    """The web app manifest: name, icons, standalone display, start at the area's top page."""
    area = area_of_request()
    home = url_for(area.home)
    names = {
        "terminal": (_("ISECA 加盟店アプリ"), _("ISECA加盟店")),
        "wallet": (_("ISECAウォレット"), "ISECA"),
    }[area.name]
    body = {
        "id": home,
        "name": names[0],
        "short_name": names[1],
        "lang": i18n.HTML_LANG.get(i18n.current(), "ja"),
        "start_url": home,
        "scope": home,
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": _icons(area.name),
    }
    response = make_response(json.dumps(body, ensure_ascii=False))
    response.headers["Content-Type"] = "application/manifest+json; charset=utf-8"
    response.headers["Cache-Control"] = "no-cache"
    return response


def worker_settings(area: str) -> dict:
    """What the service worker of `area` is told: its cache's name (new
    whenever a precached file changes, so the worker is new and the old cache
    goes), the offline page and the static files to fetch at installation."""
    files = PRECACHED + PRECACHED_OF_AREA.get(area, ())
    urls = [url_for("static", filename=f) for f in files]
    urls += [i["src"] for i in _icons(area)]
    offline = url_for(f"{area}.app.offline")
    worker = Path(current_app.static_folder) / "js" / "service-worker.js"
    version = file_version(str(worker.parent), worker.name) or ""
    fingerprint = json.dumps([urls, offline, version])
    cache = f"iseca-{area}-" + hashlib.sha256(fingerprint.encode()).hexdigest()[:12]
    return {
        "cache": cache,
        "cachePrefix": f"iseca-{area}-",
        "offline": offline,
        "precache": urls,
        "static": current_app.static_url_path.rstrip("/") + "/",
    }


@bp.route("/sw.js")
def service_worker():
    """The service worker of the area, at the area's root so that its scope is the area."""
    area = _area_name()
    worker = Path(current_app.static_folder) / "js" / "service-worker.js"
    source = "self.ISECA = " + json.dumps(worker_settings(area)) + ";\n" + worker.read_text(encoding="utf-8")
    response = make_response(source)
    response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    # The browser checks for a new worker at each visit; never an old one from a cache.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = url_for(area_of_request().home)
    return response


@bp.route("/offline")
def offline():
    """The offline page: the guide's steps of 「決済時にエラーがでたら」 in every
    language of the area, no data (the service worker keeps it for all accounts)."""
    area = area_of_request()
    sections = []
    for code in i18n.offered(area.name):
        with i18n.force_locale(code):
            sections.append(Markup(render_template(
                "offline_section.html", lang=i18n.HTML_LANG[code], for_area=area.name,
                home=url_for(area.home),
                history=url_for("terminal.history" if area.name == "terminal" else "wallet.history"),
            )))
    response = make_response(render_template(
        "offline.html", sections=sections, for_area=area.name, theme_colour=THEME_COLOUR,
        manifest=url_for(f"{area.name}.app.manifest"),
    ))
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.app_context_processor
def head_links() -> dict:
    """For base.html: the manifest, service worker and theme colour of an installable area's pages."""
    area = area_of_request() if has_request_context() else None
    if area is None or area.name not in ("terminal", "wallet"):
        return {}
    return {
        "app_manifest": url_for(f"{area.name}.app.manifest"),
        "app_worker": url_for(f"{area.name}.app.service_worker"),
        "app_scope": url_for(area.home),
        "theme_colour": THEME_COLOUR,
    }
