"""「ホーム画面に追加」 of the terminal and the wallet (iseca/web/installable.py):
each area's manifest, icons, service worker and offline page, as the browser
fetches them. The browser's own checks (installability, what the worker
caches, the offline page shown offline) are in tests/browser/test_installable.py."""
from __future__ import annotations

import io
import json
import re
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image
from sqlalchemy import update

from iseca.extensions import db
from iseca.models import Account
from tests import factories
from tests.i18n.test_pages_in_language import JAPANESE
from tests.support.client import login

ROOT = Path(__file__).resolve().parents[2]
AREAS = {"terminal": ("ja", "en"), "wallet": ("ja", "en", "pt-BR", "vi")}
GUIDE_STEPS = ("Wi-Fi接続やスマホの電波環境を確認してください", "店舗利用履歴を確認し、決済が完了したか必ず確認してください",
               "決済の履歴がない場合は、再度決済を実施してください",
               "上記で解決しない場合は、ISECAでの決済を中止し現金等の決済を促してください")


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


@pytest.mark.parametrize("area", AREAS)
def test_manifest_starts_at_the_areas_top_standalone_with_icons_that_exist(client, area):
    response = client.get(f"/{area}/manifest.webmanifest")
    assert response.status_code == 200 and response.mimetype == "application/manifest+json"
    manifest = json.loads(response.get_data(as_text=True))
    assert manifest["start_url"] == manifest["scope"] == f"/{area}/"
    assert manifest["display"] == "standalone" and manifest["theme_color"] == "#0b6e4f"
    assert manifest["name"] and manifest["short_name"]
    sizes = set()
    for icon in manifest["icons"]:
        path = urlsplit(icon["src"]).path
        assert path.startswith("/static/icons/")
        file = ROOT / path.lstrip("/")
        assert client.get(icon["src"]).status_code == 200
        if icon["type"] == "image/png":
            with Image.open(io.BytesIO(file.read_bytes())) as image:
                assert f"{image.width}x{image.height}" == icon["sizes"]
            sizes.add((icon["sizes"], icon["purpose"]))
    assert sizes == {("192x192", "any"), ("512x512", "any"), ("192x192", "maskable"), ("512x512", "maskable")}
    assert any(i["type"] == "image/svg+xml" for i in manifest["icons"])


def test_manifest_names_the_app_in_the_readers_language(client):
    client.set_cookie("lang", "en")
    assert json.loads(client.get("/terminal/manifest.webmanifest").get_data(as_text=True))["name"] == "ISECA Merchant app"
    client.set_cookie("lang", "vi")
    assert json.loads(client.get("/wallet/manifest.webmanifest").get_data(as_text=True))["lang"] == "vi"


@pytest.mark.parametrize("area", AREAS)
def test_service_worker_is_served_at_the_areas_root_and_precaches_only_static_files_and_the_offline_page(client, area):
    response = client.get(f"/{area}/sw.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    body = response.get_data(as_text=True)
    settings = json.loads(re.match(r"self\.ISECA = (\{.*?\});\n", body).group(1))
    assert settings["offline"] == f"/{area}/offline"
    assert settings["precache"] and all(re.fullmatch(r"/static/[\w./-]+\?v=[0-9a-f]{12}", url) for url in settings["precache"])
    assert settings["cache"].startswith(f"iseca-{area}-")
    # The worker itself follows (what it caches is checked in the browser).
    assert "addEventListener(\"fetch\"" in body


def test_service_worker_changes_when_a_static_file_does(client, app, tmp_path, monkeypatch):
    first = client.get("/terminal/sw.js").get_data(as_text=True).splitlines()[0]
    from iseca.web import static_urls

    monkeypatch.setattr(static_urls, "file_version", lambda folder, name: "0123456789ab")
    second = client.get("/terminal/sw.js").get_data(as_text=True).splitlines()[0]
    assert json.loads(first[len("self.ISECA = "):-1])["cache"] != json.loads(second[len("self.ISECA = "):-1])["cache"]


def test_an_account_that_must_change_its_password_still_gets_the_worker_and_offline_page(client):
    store = factories.make_store()
    assert login(client, store.code, factories.PASSWORD, area="terminal", kind=None).status_code == 303
    db.session.execute(update(Account).where(Account.login == store.code).values(must_change_password=True))
    db.session.commit()
    assert client.get("/terminal/").status_code == 302
    for path in ("/terminal/sw.js", "/terminal/manifest.webmanifest", "/terminal/offline"):
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("area", AREAS)
def test_offline_page_has_every_language_of_its_area_translated_and_no_data(client, area):
    store = factories.make_store(name="いせさき青果店")
    assert login(client, store.code, factories.PASSWORD, area="terminal", kind=None).status_code == 303
    response = client.get(f"/{area}/offline")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    # Nothing of the account: it is kept on the device for whoever logs in next.
    assert "いせさき青果店" not in html and store.code not in html and "csrf" not in html.lower()
    sections = dict(re.findall(r'<section class="offline" lang="([^"]+)" data-offline-lang>(.*?)</section>', html, re.S))
    assert tuple(sections) == AREAS[area]
    assert "通信できません" in sections["ja"] and "決済時にエラーがでたら" in sections["ja"]
    for lang, section in sections.items():
        if lang != "ja":
            assert JAPANESE.findall(text_of(section)) == [], (lang, text_of(section))
    if area == "terminal":
        ja = text_of(sections["ja"])
        assert all(step in ja for step in GUIDE_STEPS)
        assert "決済が保留されて、あとで行われることはありません" in ja
        assert 'href="/terminal/history"' in sections["ja"]
        assert "Store payment history" in text_of(sections["en"])
    else:
        assert "利用履歴で決済が完了したか必ず確認してください" in text_of(sections["ja"])
        assert 'href="/wallet/history"' in sections["ja"]


@pytest.mark.parametrize("area,path", [("terminal", "/terminal/"), ("terminal", "/terminal/login"),
                                       ("wallet", "/wallet/"), ("wallet", "/wallet/login")])
def test_area_pages_link_the_manifest_and_theme_colour_and_say_the_guides_steps_when_offline(client, area, path):
    if path.endswith("/"):
        if area == "terminal":
            store = factories.make_store()
            assert login(client, store.code, factories.PASSWORD, area="terminal", kind=None).status_code == 303
        else:
            member, account = factories.make_app_member(100)
            assert login(client, account.login, factories.PASSWORD, area="wallet", kind=None).status_code == 303
    html = client.get(path).get_data(as_text=True)
    assert f'<link rel="manifest" href="/{area}/manifest.webmanifest" data-service-worker="/{area}/sw.js" data-scope="/{area}/">' in html
    assert '<meta name="theme-color" content="#0b6e4f">' in html
    help_box = text_of(re.search(r'<template id="network-help">(.*?)</template>', html, re.S).group(1))
    assert "通信できませんでした。" in help_box and "Wi-Fi接続やスマホの電波環境を確認してください" in help_box
    if area == "terminal":
        assert all(step in help_box for step in GUIDE_STEPS)
    else:
        assert "お店の方に伝えて現金等でお支払いください" in help_box


def test_other_areas_are_not_installable(client, staff_client):
    assert 'rel="manifest"' not in client.get("/cms/login").get_data(as_text=True)
    assert 'rel="manifest"' not in staff_client.get("/counter/").get_data(as_text=True)
    assert client.get("/cms/sw.js").status_code == 404


def test_faq_gives_the_install_steps_for_iphone_and_android(client, app):
    app.config["PUBLIC_BASE_URL"] = "https://iseca.example.jp"
    page = text_of(client.get("/faq").get_data(as_text=True))
    assert "加盟店アプリのインストール手順" in page
    assert "iPhone（Safari） Safariで加盟店アプリ（https://iseca.example.jp/terminal/）を開く" in page
    assert "Android（Chrome） Chromeで加盟店アプリ（https://iseca.example.jp/terminal/）を開く" in page
    for step in ("「ホーム画面に追加」をタップし、右上の「追加」をタップ", "Chromeで加盟店アプリ（https://iseca.example.jp/terminal/）を開く",
                 "「ホーム画面に追加」または「アプリをインストール」をタップし、「インストール」をタップ",
                 "ISECAウォレット（https://iseca.example.jp/wallet/）も、同じ手順でホーム画面に追加できます。"):
        assert step in page
    # FAQ 4: no app store; 「ホーム画面に追加」 in Safari or Chrome.
    assert "加盟店アプリはApp StoreやGoogle Playからのインストールは不要です" in page
    client.set_cookie("lang", "pt_BR")
    assert "Como instalar o aplicativo do estabelecimento" in text_of(client.get("/faq").get_data(as_text=True))
