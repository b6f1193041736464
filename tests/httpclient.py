"""A small HTTP client over real sockets (stdlib only): cookies, no
redirect following, for tests that drive a server the way tills do."""
from __future__ import annotations

import http.client
import http.cookies
import re
import ssl
from urllib.parse import urlencode, urlsplit

CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


class Till:
    """One device: its own connection and cookies."""

    def __init__(self, base_url: str, timeout: float = 60, headers: dict[str, str] | None = None,
                 ssl_context: ssl.SSLContext | None = None):
        self.headers = dict(headers or {})  # sent with every request (e.g. the BASIC gate's Authorization)
        parts = urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        self.host, self.port = parts.hostname, parts.port
        self.timeout = timeout
        self.ssl_context = ssl_context  # https (a browser's Referer is then sent: Flask-WTF checks it)
        self.cookies: dict[str, str] = {}
        self.conn = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        if self.ssl_context is not None:
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self.ssl_context)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def request(self, method: str, path: str, data: dict | None = None) -> tuple[int, dict, str]:
        body = urlencode(data) if data is not None else None
        headers = {**self.headers, "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            if self.ssl_context is not None:
                headers.setdefault("Referer", self.base_url + path)
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                text = resp.read().decode("utf-8", "replace")
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = self._connect()
                if attempt:
                    raise
        for header in resp.headers.get_all("Set-Cookie") or []:
            cookie = http.cookies.SimpleCookie(header)
            for name, morsel in cookie.items():
                if morsel.value == "" or morsel["expires"].startswith("Thu, 01 Jan 1970"):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return resp.status, dict(resp.headers), text

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, data: dict):
        return self.request("POST", path, data)

    def csrf(self, path: str) -> str:
        status, _, text = self.get(path)
        match = CSRF_RE.search(text)
        assert match, f"no CSRF token on {path} ({status})"
        return match.group(1)

    def login(self, area: str, code: str, password: str, **extra) -> int:
        token = self.csrf(f"/{area}/login")
        status, _, _ = self.post(f"/{area}/login", {"csrf_token": token, "code": code, "password": password, **extra})
        return status

    def close(self):
        self.conn.close()
