"""The deploy folder as a small host runs it: Debian's nginx with
deploy/nginx/iseca.conf terminating https in front of gunicorn started with
deploy/gunicorn.conf.py, in production mode. A till pays through it."""
from __future__ import annotations

import gzip
import http.client
import re
import secrets
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from iseca.config import DEFAULTS
from iseca.web import CSP
from tests import factories
from tests.httpclient import Till
from tests.support.servers import (
    DEPLOY,
    app_environment,
    client_tls,
    free_port,
    need_redis,
    pay,
    seed_shop,
    start_gunicorn,
    start_nginx,
    stop,
    wait_until,
)


@pytest.fixture(scope="module")
def site(tmp_path_factory, pg_databases):
    """nginx (https) → gunicorn (2 workers) → PostgreSQL; one for the module
    (starting it is most of the time)."""
    redis = need_redis()
    tmp_path = tmp_path_factory.mktemp("deploy")
    url = pg_databases.create()
    [shop] = seed_shop(url)
    app = start_gunicorn(tmp_path, app_environment(url, ISECA_RATELIMIT_STORAGE_URI=redis, ISECA_PROXY_FIX_HOPS="1"))
    nginx = None
    try:
        nginx = start_nginx(tmp_path, [app.port])
        yield nginx, app, shop
    finally:
        if nginx:
            stop(nginx.process)
        stop(app.process)


def _get(nginx, path: str, headers: dict | None = None, *, https: bool = True):
    if https:
        conn = http.client.HTTPSConnection("127.0.0.1", nginx.https_port, timeout=30, context=client_tls(nginx.cert))
    else:
        conn = http.client.HTTPConnection("127.0.0.1", nginx.http_port, timeout=30)
    conn.request("GET", path, headers=headers or {})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp, body


def test_a_till_pays_over_https_through_nginx_and_gunicorn(site):
    nginx, app, shop = site
    till = Till(nginx.url, ssl_context=client_tls(nginx.cert))
    assert till.login("terminal", shop.store_code, factories.PASSWORD) == 303
    status, headers, _ = pay(till, shop, 1_200, secrets.token_urlsafe(24))
    assert status == 303, headers
    receipt = headers["Location"]
    status, headers, html = till.get(receipt)
    assert status == 200 and "1,200円" in html
    # The app saw https from nginx's X-Forwarded-Proto (ISECA_PROXY_FIX_HOPS=1):
    # a form posted with another site's Referer is refused by the https-only check.
    csrf = till.csrf("/terminal/pay")
    till.headers["Referer"] = "https://evil.example/terminal/pay"
    status, _, _ = till.post("/terminal/pay", {"csrf_token": csrf, "code": shop.card_number})
    assert status == 400
    till.close()
    print(f"checked: a till paid 1,200円 over https via nginx:{nginx.https_port} → gunicorn:{app.port} "
          f"(receipt {urlsplit(receipt).path}); a foreign Referer is refused (the app sees https)")


def test_security_headers_and_request_id_from_nginx(site):
    nginx, app, _ = site
    resp, body = _get(nginx, "/terminal/login")
    assert resp.status == 200
    headers = {k.lower(): v for k, v in resp.getheaders()}
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["strict-transport-security"] == "max-age=31536000"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["server"] == "nginx"  # server_tokens off: no version
    assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"])  # nginx's $request_id, kept by the app
    assert "Secure" in headers.get("set-cookie", "Secure")
    assert headers["x-request-id"] in app.log_text()
    print("checked: CSP, X-Frame-Options DENY, nosniff, HSTS, Referrer-Policy, Server without version; "
          f"nginx's request id {headers['x-request-id']} is in the app's log line")


def test_http_redirects_to_https(site):
    nginx, _, _ = site
    resp, _ = _get(nginx, "/terminal/login?x=1", https=False)
    assert resp.status == 301
    assert resp.getheader("Location") == "https://127.0.0.1/terminal/login?x=1"
    print(f"checked: http://…:{nginx.http_port}/terminal/login → 301 {resp.getheader('Location')}")


def test_pages_and_static_files_are_gzipped(site):
    nginx, _, _ = site
    plain, plain_body = _get(nginx, "/")
    zipped, zipped_body = _get(nginx, "/", {"Accept-Encoding": "gzip"})
    assert plain.getheader("Content-Encoding") is None
    assert zipped.getheader("Content-Encoding") == "gzip"
    # The same page (but for its per-session CSRF token), smaller.
    token = re.compile(rb'[A-Za-z0-9._-]{60,}')
    assert token.sub(b"", gzip.decompress(zipped_body)) == token.sub(b"", plain_body)
    assert len(zipped_body) < len(plain_body) * 0.6
    figures = [f"/ {len(plain_body)} → {len(zipped_body)} bytes"]
    for path in ("/static/css/app.css", "/static/vendor/htmx/htmx.min.js"):
        resp, body = _get(nginx, path, {"Accept-Encoding": "gzip"})
        assert resp.status == 200 and resp.getheader("Content-Encoding") == "gzip", path
        assert len(body) < len(gzip.decompress(body)) * 0.4, path
        figures.append(f"{path} {len(gzip.decompress(body))} → {len(body)} bytes")
    print("checked: gzip for HTML, CSS and JS:", "; ".join(figures))


def test_static_files_come_from_nginx_with_a_long_cache(site):
    nginx, app, _ = site
    html = _get(nginx, "/")[1].decode()
    [css] = re.findall(r'href="(/static/css/app\.css\?v=[0-9a-f]{12})"', html)
    resp, body = _get(nginx, css)
    assert resp.status == 200
    assert body == (Path(DEPLOY.parent) / "static/css/app.css").read_bytes()
    assert resp.getheader("X-Served-By") == "nginx"
    assert resp.getheader("Cache-Control") == "public, max-age=31536000, immutable"
    assert resp.getheader("X-Request-ID") is None  # the app never saw it
    assert "/static/" not in app.log_text()
    print(f"checked: {css} served by nginx (X-Served-By, Cache-Control immutable 1 year), absent from the app's log")


def test_request_size_limit_is_the_apps(site):
    nginx, _, _ = site
    site_text = (DEPLOY / "nginx" / "iseca.conf").read_text()
    [limit] = re.findall(r"client_max_body_size (\d+)m;", site_text)
    assert int(limit) * 1024 * 1024 == DEFAULTS["MAX_CONTENT_LENGTH"]
    # A body over the limit is refused by nginx before it reaches a worker.
    with socket.create_connection(("127.0.0.1", nginx.https_port), timeout=30) as raw:
        with client_tls(nginx.cert).wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.sendall(b"POST /terminal/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
                        + f"Content-Length: {DEFAULTS['MAX_CONTENT_LENGTH'] + 1}\r\nConnection: close\r\n\r\n".encode())
            answer = tls.recv(200).decode("latin-1")
    assert answer.startswith("HTTP/1.1 413"), answer
    print(f"checked: client_max_body_size {limit}m equals MAX_CONTENT_LENGTH; a larger body gets 413 from nginx")


def test_card_secrets_stay_out_of_nginx_and_app_logs(site):
    nginx, app, shop = site
    secret = "S3cr3t" + secrets.token_hex(8)
    resp, _ = _get(nginx, f"/card/{shop.card_number}/{secret}?again={secret}")
    assert resp.status == 404
    resp, _ = _get(nginx, f"/wallet/pay/{secret}")
    access = nginx.access_log()
    assert "/card/*** " in access or '/card/***"' in access, access
    for text in (access, app.log_text()):
        assert secret not in text and shop.card_number not in text
    print("checked: a card's number and secret and a wallet token appear in neither nginx's access log nor the app's")


SECURITY_HEADERS = ("content-security-policy", "x-frame-options", "x-content-type-options",
                    "strict-transport-security", "referrer-policy", "permissions-policy")


def _raw_get(nginx, path: str, method: str = "GET") -> tuple[int, list[tuple[str, str]], str]:
    """A request of any length (http.client refuses none, but keeps the header list as sent)."""
    with socket.create_connection(("127.0.0.1", nginx.https_port), timeout=30) as raw:
        with client_tls(nginx.cert).wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            body = b"x=1" if method == "POST" else b""
            tls.sendall(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n".encode()
                        + (b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n" if body else b"")
                        + b"\r\n" + body)
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
    head, _, content = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = [(k.strip().lower(), v.strip()) for k, v in (line.split(":", 1) for line in lines[1:])]
    return int(lines[0].split()[1]), headers, content.decode("utf-8")


def _check_own_page(status: int, headers: list[tuple[str, str]], page: str, words: tuple[str, ...]) -> str:
    names = [k for k, _ in headers]
    for name in SECURITY_HEADERS:
        assert names.count(name) == 1, (name, headers)
    values = dict(headers)
    assert values["content-security-policy"] == CSP
    assert values["x-frame-options"] == "DENY" and values["x-content-type-options"] == "nosniff"
    assert values["referrer-policy"] == "same-origin" and values["strict-transport-security"] == "max-age=31536000"
    assert values["content-type"] == "text/html; charset=utf-8"
    request_id = values["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    # Our page in both languages, with the same number as the header (SSI ran), not nginx's English one.
    assert "nginx" not in page and "<!--#" not in page
    assert page.count(request_id) == 2, page
    for word in words:
        assert word in page, word
    return request_id


def test_a_too_long_address_gets_our_page_with_the_security_headers(site):
    nginx, _, _ = site
    status, headers, page = _raw_get(nginx, "/stores?q=" + "a" * 20_000)
    assert status == 414
    request_id = _check_own_page(status, headers, page, ("アドレスが長すぎます", "The address is too long", "0270-27-2708"))
    print(f"checked: a 20,000-character address → 414 with our Japanese and English page, the security headers "
          f"and お問い合わせ番号 {request_id}")


def test_the_apps_own_answers_keep_their_headers_once(site):
    nginx, app, _ = site
    status, headers, _ = _raw_get(nginx, "/terminal/login")
    assert status == 200
    names = [k for k, _ in headers]
    assert all(names.count(name) == 1 for name in SECURITY_HEADERS + ("x-request-id",)), headers
    assert dict(headers)["x-request-id"] in app.log_text()  # the app's, not a second one of nginx
    print("checked: the app's pages through nginx carry each security header and X-Request-ID once")


def test_the_app_down_gets_our_page_with_the_security_headers(tmp_path):
    nginx = start_nginx(tmp_path, [free_port()])  # nothing listens there
    try:
        for method in ("GET", "POST"):
            status, headers, page = _raw_get(nginx, "/terminal/pay", method)
            assert status == 502, (method, status)
            request_id = _check_own_page(status, headers, page, ("ただいま表示できません", "not available right now",
                                                                 "店舗利用履歴", "0270-27-2708"))
            # nginx writes its access log line after the answer has left.
            wait_until(lambda rid=request_id: rid in nginx.access_log(), 10, f"request {request_id} in nginx's access log")
    finally:
        stop(nginx.process)
    print(f"checked: the app down → 502 (GET and POST) with our page, the security headers and the id of nginx's "
          f"access log ({request_id})")
