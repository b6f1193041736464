"""One JSON log line per request, with no card number, card secret or
payment token in it; the request id in a header and on error pages."""
from __future__ import annotations

import json
import logging

import pytest

from iseca.web.requestlog import logger as request_logger
from tests import factories
from tests.support.client import login


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def log_lines():
    handler = _Lines()
    request_logger.addHandler(handler)
    yield handler.lines
    request_logger.removeHandler(handler)


def test_one_json_line_per_request_with_id_route_status_duration(client, log_lines):
    response = client.get("/faq")
    assert response.status_code == 200
    [line] = log_lines
    entry = json.loads(line)
    assert set(entry) == {"time", "request_id", "method", "route", "path", "status", "duration_ms", "account_kind"}
    assert entry["request_id"] == response.headers["X-Request-ID"]
    assert len(entry["request_id"]) == 32
    assert (entry["route"], entry["status"], entry["account_kind"]) == ("/faq", 200, None)
    assert entry["duration_ms"] >= 0 and entry["time"].endswith("+00:00")
    print(f"checked: {line}")


def test_card_numbers_secrets_and_payment_tokens_never_reach_the_log(client, log_lines):
    campaign = factories.make_campaign()
    _, card = factories.make_card_member(1_000, campaign)
    client.get(f"/card/{card.number}/{card.secret}?x={card.secret}")
    client.get(f"/card/{card.number}/wrong-secret-123")
    client.get("/wallet/pay/TOKEN-abcdefghijklmnop")
    client.get(f"/card/{card.number}")  # matches no route: masked by shape
    assert len(log_lines) == 4
    text = "\n".join(log_lines)
    for secret in (card.number, card.secret, "wrong-secret-123", "TOKEN-abcdefghijklmnop"):
        assert secret not in text
    entries = [json.loads(line) for line in log_lines]
    assert [e["path"] for e in entries] == ["/card/***/***", "/card/***/***", "/wallet/pay/***", "/card/***/***"]
    assert entries[0]["route"] == "/card/<number>/<secret>"
    print("checked: card number, card secret, query string and wallet token are masked:", [e["path"] for e in entries])


def test_account_kind_is_logged_for_a_signed_in_store(client, log_lines):
    store = factories.make_store()
    assert login(client, store.code, factories.PASSWORD, area="terminal", kind=None).status_code == 303
    log_lines.clear()
    assert client.get("/terminal/pay").status_code == 200
    entry = json.loads(log_lines[-1])
    assert (entry["account_kind"], entry["route"]) == ("store", "/terminal/pay")
    print(f"checked: account_kind={entry['account_kind']} on {entry['route']}")


@pytest.mark.parametrize("incoming, kept", [
    ("0123456789abcdef0123456789abcdef", True),  # nginx's $request_id
    ("3f2b1c9e-8d7a-4b6c-9e5f-1a2b3c4d5e6f", True),  # a UUID
    ("short", False),
    ("x" * 65, False),
    ('abc"def ghi<script>', False),
])
def test_a_sane_incoming_request_id_is_kept_others_replaced(client, log_lines, incoming, kept):
    response = client.get("/healthz", headers={"X-Request-ID": incoming})
    returned = response.headers["X-Request-ID"]
    assert (returned == incoming) is kept
    assert json.loads(log_lines[-1])["request_id"] == returned
    print(f"checked: incoming {incoming[:40]!r} → {returned!r}")


def test_error_pages_show_the_request_id_to_quote_at_the_counter(client):
    response = client.get("/no-such-page", headers={"X-Request-ID": "abcdef0123456789"})
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "お問い合わせ番号: <span>abcdef0123456789</span>" in html
    print("checked: 404 page shows お問い合わせ番号 abcdef0123456789")


def test_static_urls_carry_the_file_version(client):
    html = client.get("/").get_data(as_text=True)
    assert "/static/css/app.css?v=" in html and "/static/vendor/htmx/htmx.min.js?v=" in html
    print("checked: static URLs are versioned (?v=<sha256 prefix>)")
