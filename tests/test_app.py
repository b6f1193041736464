"""Configuration, production rules, security headers and public pages."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from iseca import create_app
from tests import factories
from tests.support.client import login
from tests.support.database import TEST_CONFIG

ROOT = Path(__file__).resolve().parents[1]


def test_configuration_comes_from_iseca_environment_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("ISECA_BASIC_AUTH_USERNAME", "isesaki")
    monkeypatch.setenv("ISECA_MAIL_PORT", "2525")
    monkeypatch.setenv("ISECA_SQLALCHEMY_DATABASE_URI", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    app = create_app({"SECRET_KEY": "x"})
    assert app.config["BASIC_AUTH_USERNAME"] == "isesaki"
    assert app.config["MAIL_PORT"] == 2525
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("x.sqlite3")


def test_default_database_is_sqlite_in_instance_folder(monkeypatch):
    monkeypatch.delenv("ISECA_SQLALCHEMY_DATABASE_URI", raising=False)
    app = create_app({"SECRET_KEY": "x"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{ROOT / 'instance' / 'iseca.sqlite3'}"


def test_development_secret_key_is_generated_once_and_kept(monkeypatch):
    monkeypatch.delenv("ISECA_SECRET_KEY", raising=False)
    first = create_app().config["SECRET_KEY"]
    second = create_app().config["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert (ROOT / "instance" / "secret_key").read_text().strip() == first


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.delenv("ISECA_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="ISECA_SECRET_KEY"):
        create_app({"PRODUCTION": True, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15"})


def test_production_refuses_per_process_throttling_storage():
    with pytest.raises(RuntimeError, match="RATELIMIT_STORAGE_URI"):
        create_app({"PRODUCTION": True, "SECRET_KEY": "k" * 64})


def test_production_cookies_are_secure():
    app = create_app({"PRODUCTION": True, "SECRET_KEY": "k" * 64, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15"})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]


def test_security_headers_on_every_page(client):
    for url in ("/", "/cms/login", "/terminal/login", "/faq"):
        headers = client.get(url).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


def test_pages_have_no_inline_scripts(store_client):
    html = store_client.get("/cms/").get_data(as_text=True)
    import re

    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag
    assert " onclick=" not in html and " style=" not in html


def test_logged_in_pages_are_not_cached(store_client):
    assert store_client.get("/cms/").headers["Cache-Control"] == "no-store"


def test_htmx_is_vendored_with_its_licence():
    vendor = ROOT / "static" / "vendor" / "htmx"
    assert (vendor / "htmx.min.js").stat().st_size > 10_000
    assert "Zero-Clause" in (vendor / "LICENSE").read_text() or "BSD" in (vendor / "LICENSE").read_text()


def test_public_pages_show_the_guides_texts(client):
    faq = client.get("/faq").get_data(as_text=True)
    assert "加盟店アプリは同じアカウントで複数台利用可能ですか？" in faq
    items = client.get("/not-payable").get_data(as_text=True)
    assert "各種商品券、切手、印紙、くじ、プリペイドカード等換金性の高いもの" in items
    assert items.count("<li>") >= 7
    contact = client.get("/contact").get_data(as_text=True)
    assert "0270-27-2708" in contact and "企画部 事務管理課" in contact


def test_unknown_page_is_a_japanese_404(client):
    resp = client.get("/no-such-page")
    assert resp.status_code == 404 and "ページが見つかりません" in resp.get_data(as_text=True)


@pytest.mark.skipif(not os.environ.get("ISECA_TEST_REDIS_URL"), reason="needs ISECA_TEST_REDIS_URL (Redis)")
def test_throttling_is_shared_across_worker_processes(app, databases, backend):
    """Failures counted by one worker process lock the account in another."""
    store = factories.make_store()
    prefix = f"iseca-test-{uuid.uuid4().hex[:8]}"
    config = {**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": databases.url(backend),
              "RATELIMIT_STORAGE_URI": os.environ["ISECA_TEST_REDIS_URL"], "RATELIMIT_KEY_PREFIX": prefix}
    script = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from iseca import create_app
from tests.support.client import login
app = create_app({config!r})
client = app.test_client()
codes = [login(client, {store.code!r}, "wrong wrong wrong", area="terminal").status_code for _ in range(5)]
print(codes)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.stdout.strip() == "[200, 200, 200, 200, 200]", out.stderr
    other_worker = create_app(config)
    resp = login(other_worker.test_client(), store.code, factories.PASSWORD, area="terminal")
    assert resp.status_code == 429
