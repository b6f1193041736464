"""What a real SMTP server (aiosmtpd) received, and what the mails say."""
from __future__ import annotations

import email
import email.policy
import re
import threading


class Inbox:
    """What the SMTP server received, parsed as e-mail messages."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.refuse = False  # answer every message with a permanent error

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "554 5.7.1 refused for the test"
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self.arrived:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.arrived.notify_all()
        return "250 OK"

    def with_subject(self, subject: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["Subject"] == subject]

    def wait_for_subject(self, subject: str, timeout: float = 10) -> list[email.message.EmailMessage]:
        """The messages with `subject`, once at least one has arrived (a mail
        sent by the app's sender after the request); fails after `timeout` s."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: self.with_subject(subject), timeout=timeout):
                raise AssertionError(f"no mail {subject!r} within {timeout} s: {[m['Subject'] for m in self.messages]}")
            return self.with_subject(subject)

    def body(self, message) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()


LOGIN_RE = {
    "store_id": re.compile(r"店舗ID：(S\d+)"),
    "store_password": re.compile(r"店舗パスワード：(\S+)"),
    "business_id": re.compile(r"事業者ID：(B\d+)"),
    "business_password": re.compile(r"事業者パスワード：(\S+)"),
}


def credentials(body: str, kind: str) -> tuple[str, str]:
    """The ID and initial password a mail carries."""
    return LOGIN_RE[f"{kind}_id"].search(body).group(1), LOGIN_RE[f"{kind}_password"].search(body).group(1)
