"""The Flask test client as a browser uses the site: past the BASIC gate,
forms posted with their page's CSRF token, logins through the real form."""
from __future__ import annotations

import base64
import contextvars
import re

from flask import has_app_context
from flask.testing import FlaskClient

from iseca.extensions import db


class IsolatedClient(FlaskClient):
    """A test client whose requests run in their own app context, as in a
    real server: the test's own context (and its `g` and db session) is not
    shared with the request."""

    def open(self, *args, **kwargs):
        # End the test's own transaction first: it must not hold an old
        # snapshot (SQLite) or locks while the request runs, and what it
        # reads afterwards is what the request left.
        # A redirect followed (follow_redirects) comes back here inside the
        # request's own context, where the test's context is not pushed.
        if has_app_context():
            db.session.commit()
        return contextvars.Context().run(super().open, *args, **kwargs)


def basic_auth_header(user: str = "guest", password: str = "guest") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def login(client, code: str, password: str, *, area: str = "cms", kind: str | None = "store", remember: bool = False):
    """Log in through the real login form; returns the response (not followed)."""
    page = client.get(f"/{area}/login")
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "code": code, "password": password}
    if area == "cms" and kind:
        data["kind"] = kind
    if remember:
        data["remember"] = "y"
    return client.post(f"/{area}/login", data=data)


def post_form(client, url: str, data: dict, *, page_url: str | None = None, **kwargs):
    """POST a form the way a browser does: with the CSRF token of its page."""
    page = client.get(page_url or url)
    return client.post(url, data={"csrf_token": csrf_from(page.get_data(as_text=True)), **data}, **kwargs)
