"""Onboarding fixtures: a real SMTP server in-process (aiosmtpd), a logged-in
counter clerk, and a valid application to start from."""
from __future__ import annotations

import email
import email.policy
import re
import socket
import threading

import pytest
from aiosmtpd.controller import Controller

from iseca.extensions import mail as flask_mail
from tests import factories
from tests.conftest import basic_auth_header, login


class Inbox:
    """What the SMTP server received, parsed as e-mail messages."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()
        self.refuse = False  # answer every message with a permanent error

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "554 5.7.1 refused for the test"
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def with_subject(self, subject: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["Subject"] == subject]

    def body(self, message) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(app):
    """A real SMTP server on 127.0.0.1; the app is configured to send to it."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_SUPPRESS_SEND=False, MAIL_TIMEOUT=5)
    flask_mail.init_app(app)
    inbox.port = port
    yield inbox
    controller.stop()


@pytest.fixture
def staff_client(app):
    """A counter clerk, logged in to the console."""
    client = app.test_client()
    factories.make_staff()
    resp = login(client, "staff1", factories.PASSWORD, area="counter", kind=None)
    assert resp.status_code == 303, resp.get_data(as_text=True)
    return client


@pytest.fixture
def gate_client(app):
    """A browser that has passed the BASIC gate (a second, independent one)."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
    return client


def application_form(stores: int = 2, **overrides) -> dict[str, str]:
    """A complete, valid application as the form posts it."""
    data = {
        "name": "株式会社いせさきテスト",
        "name_kana": "カブシキガイシャイセサキテスト",
        "representative": "伊勢崎 花子",
        "postal_code": "372-8501",
        "address": "群馬県伊勢崎市今泉町2-410",
        "phone": "0270-24-5111",
        "email": "owner@isesaki-test.example.jp",
        "bank_code": "0001",
        "branch_code": "001",
        "account_type": "1",
        "account_number": "1234567",
        "account_holder_kana": "カブシキガイシャ　イセサキテスト",
        "eligibility_1": "y", "eligibility_2": "y", "eligibility_3": "y", "eligibility_4": "y", "eligibility_5": "y",
        "agree": "y",
    }
    names = ["いせさき駅前ベーカリー", "あかぼり珈琲店", "さかい花店"]
    kanas = ["イセサキエキマエベーカリー", "アカボリコーヒーテン", "サカイハナテン"]
    categories = ["食料品", "飲食", "小売"]
    areas = ["伊勢崎地区", "赤堀地区", "境地区"]
    for i in range(stores):
        data.update({
            f"stores-{i}-name": names[i], f"stores-{i}-name_kana": kanas[i],
            f"stores-{i}-category": categories[i], f"stores-{i}-area": areas[i],
            f"stores-{i}-postal_code": "372-0042", f"stores-{i}-address": f"群馬県伊勢崎市中央町{i + 1}-1",
            f"stores-{i}-phone": f"0270-11-000{i}", f"stores-{i}-hours": "9:00〜18:00",
            f"stores-{i}-holidays_text": "水曜日",
        })
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


LOGIN_RE = {
    "store_id": re.compile(r"店舗ID：(S\d+)"),
    "store_password": re.compile(r"店舗パスワード：(\S+)"),
    "business_id": re.compile(r"事業者ID：(B\d+)"),
    "business_password": re.compile(r"事業者パスワード：(\S+)"),
}


def credentials(body: str, kind: str) -> tuple[str, str]:
    """The ID and initial password a mail carries."""
    return LOGIN_RE[f"{kind}_id"].search(body).group(1), LOGIN_RE[f"{kind}_password"].search(body).group(1)
