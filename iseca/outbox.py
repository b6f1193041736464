"""E-mail through an outbox.

`queue` stores a message in the caller's transaction, so a mail exists if
and only if the change that causes it was committed. `send_pending` sends
what is due over SMTP (Flask-Mail), outside any long transaction: each
message is first claimed with a conditional UPDATE (so two workers or hosts
never send it twice), then sent, then marked sent or failed. A failure is
kept with its error and retried later with a growing delay; after
MAIL_MAX_ATTEMPTS it waits for a person to press 「再送」 in the console.

With no MAIL_SERVER configured nothing is sent: the messages stay pending
and the console shows them. The text of every mail is a template under
templates/mail/ (`mail_body`); `queue_mail` writes subject and body in the
recipient's language (`locale_of_business`, `locale_of_account`).
"""
from __future__ import annotations

import datetime as dt
import smtplib
from collections.abc import Iterable

from flask import current_app
from flask_babel import gettext
from flask_mail import Connection, Message
from sqlalchemy import or_, select, update

from . import i18n
from .extensions import db
from .models import Account, AccountKind, Business, OutboxMessage, OutboxStatus, utcnow

# How long a claimed message is left to its sender before another may try.
CLAIM_SECONDS = 120


def queue(recipient: str, subject: str, body: str) -> OutboxMessage:
    """Add an e-mail to the outbox, in the current transaction."""
    message = OutboxMessage(recipient=recipient.strip(), subject=subject, body=body, status=OutboxStatus.PENDING)
    db.session.add(message)
    db.session.flush()
    return message


def locale_of_account(account: Account | None) -> str:
    """The language an account chose (Japanese when it chose none)."""
    return i18n.normalise(getattr(account, "locale", None)) or i18n.DEFAULT


def locale_of_business(business: Business | None) -> str:
    """The language a business reads its mail in: its business account's
    choice (Japanese when it chose none)."""
    if business is None or business.id is None:
        return i18n.DEFAULT
    account = db.session.scalar(
        select(Account).where(Account.business_id == business.id, Account.kind == AccountKind.BUSINESS)
        .order_by(Account.id).limit(1))
    return locale_of_account(account)


def queue_mail(recipient: str, subject: str, template: str, *, locale: str | None = None,
               **context) -> OutboxMessage:
    """Render templates/mail/<template>.txt and `subject` (a Japanese msgid)
    in `locale` (None: Japanese) and add the mail to the outbox."""
    with i18n.force_locale(i18n.normalise(locale) or i18n.DEFAULT):
        return queue(recipient, gettext(subject), mail_body(template, **context))


def mail_body(name: str, **context) -> str:
    """The text of templates/mail/<name>.txt, ending with a line break. Every
    mail may use `urls`: the addresses and the BASIC gate login of the sites."""
    base = str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/")
    urls = {
        "cms": f"{base}/cms/",
        "terminal": f"{base}/terminal/",
        "gate_user": str(current_app.config["BASIC_AUTH_USERNAME"]),
        "gate_password": str(current_app.config["BASIC_AUTH_PASSWORD"]),
    }
    # The app's template environment (filters such as `label`, the guide's
    # dates `wareki` and `period_text`), without the page context: a mail is
    # also written outside any request (CLI, jobs).
    return current_app.jinja_env.get_template(f"mail/{name}.txt").render(urls=urls, **context) + "\n"


def is_configured() -> bool:
    """True when an SMTP server is configured (else mails wait in the outbox)."""
    return bool(current_app.config.get("MAIL_SERVER"))


def retry_delay(attempts: int) -> dt.timedelta:
    """Wait after the n-th failed attempt: 1, 2, 4 … minutes, at most 6 hours."""
    return dt.timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


class _TimedConnection(Connection):
    """Flask-Mail's connection with a socket timeout, so a dead SMTP server
    cannot hold a request or the sender forever."""

    def configure_host(self):
        timeout = float(current_app.config.get("MAIL_TIMEOUT", 10))
        if self.mail.use_ssl:
            host = smtplib.SMTP_SSL(self.mail.server, self.mail.port, timeout=timeout)
        else:
            host = smtplib.SMTP(self.mail.server, self.mail.port, timeout=timeout)
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host


def _due(now: dt.datetime):
    max_attempts = int(current_app.config.get("MAIL_MAX_ATTEMPTS", 8))
    return (
        or_(
            OutboxMessage.status == OutboxStatus.PENDING,
            (OutboxMessage.status == OutboxStatus.FAILED) & (OutboxMessage.attempts < max_attempts),
        ),
        or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
    )


def _claim(message_id: int, now: dt.datetime) -> bool:
    """Take a due message for sending; False when someone else has it."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, *_due(now))
        .values(next_attempt_at=now + dt.timedelta(seconds=CLAIM_SECONDS))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def send_pending(ids: Iterable[int] | None = None, *, limit: int = 100) -> dict[str, int]:
    """Send the due messages (only `ids` when given); returns counts of
    sent and failed. Commits its own small transactions."""
    counts = {"sent": 0, "failed": 0}
    if not is_configured():
        return counts
    db.session.commit()  # never mix with the caller's unfinished work
    now = utcnow()
    stmt = select(OutboxMessage.id).where(*_due(now)).order_by(OutboxMessage.id).limit(limit)
    if ids is not None:
        ids = list(ids)
        if not ids:
            return counts
        stmt = stmt.where(OutboxMessage.id.in_(ids))
    candidates = list(db.session.scalars(stmt))
    if not candidates:
        return counts
    state = current_app.extensions["mail"]
    connection: _TimedConnection | None = None
    try:
        for message_id in candidates:
            if not _claim(message_id, utcnow()):
                continue
            message = db.session.get(OutboxMessage, message_id, populate_existing=True)
            try:
                if connection is None:
                    connection = _TimedConnection(state)
                    connection.__enter__()
                connection.send(Message(
                    subject=message.subject,
                    recipients=[message.recipient],
                    body=message.body,
                    sender=current_app.config.get("MAIL_DEFAULT_SENDER"),
                    charset="utf-8",
                ))
            except Exception as exc:  # SMTP, socket and address errors alike
                message.attempts += 1
                message.status = OutboxStatus.FAILED
                message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                message.next_attempt_at = utcnow() + retry_delay(message.attempts)
                db.session.commit()
                counts["failed"] += 1
                current_app.logger.warning("mail %s to %s failed: %s", message.id, message.recipient, exc)
                if connection is not None:
                    _close(connection)
                    connection = None
                continue
            message.attempts += 1
            message.status = OutboxStatus.SENT
            message.sent_at = utcnow()
            message.last_error = ""
            message.next_attempt_at = None
            db.session.commit()
            counts["sent"] += 1
    finally:
        if connection is not None:
            _close(connection)
    return counts


def _close(connection: Connection) -> None:
    try:
        if connection.host is not None:
            connection.host.quit()
    except Exception:  # the server may already have hung up
        pass
    connection.host = None


def send_after_commit(messages: Iterable[OutboxMessage]) -> None:
    """Best effort, after the request's commit: try to send these now. Never
    fails the request; what is not sent stays in the outbox for the
    `send-mail` command or a resend."""
    ids = [m.id for m in messages if m is not None]
    if not ids or not is_configured():
        return
    try:
        send_pending(ids)
    except Exception:  # noqa: BLE001 - the change is committed; mail can wait
        db.session.rollback()
        current_app.logger.exception("sending mail after commit failed; left in the outbox")


def resend(message: OutboxMessage) -> None:
    """Put a message back in the queue now (the console's 「再送」)."""
    message.status = OutboxStatus.PENDING
    message.next_attempt_at = None
