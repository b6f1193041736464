"""The e-mail outbox: stored with the change, sent over real SMTP, failures
kept and retried, visible and resendable in the console."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from iseca import outbox
from iseca.extensions import db
from iseca.extensions import mail as flask_mail
from iseca.models import OutboxMessage, OutboxStatus, utcnow
from tests.support.client import post_form
from tests.support.servers import free_port


def test_queued_mail_is_sent_with_japanese_subject_and_body(app, smtp):
    message = outbox.queue("shop@example.jp", "【ISECA】店舗アカウント開設が完了しました", "店舗ID：S00001\n本文です。")
    db.session.commit()
    assert outbox.send_pending() == {"sent": 1, "failed": 0}
    received = smtp.messages[0]
    assert received["Subject"] == "【ISECA】店舗アカウント開設が完了しました"
    assert received["To"] == "shop@example.jp"
    assert "iseca@city.isesaki.example" in received["From"]
    assert "店舗ID：S00001" in smtp.body(received)
    db.session.refresh(message)
    assert message.status == OutboxStatus.SENT and message.sent_at is not None and message.attempts == 1


def test_rolled_back_change_sends_no_mail(app, smtp):
    outbox.queue("shop@example.jp", "件名", "本文")
    db.session.rollback()
    assert outbox.send_pending() == {"sent": 0, "failed": 0}
    assert smtp.messages == []


def test_without_smtp_server_mail_stays_pending(app):
    assert not outbox.is_configured()
    message = outbox.queue("shop@example.jp", "件名", "本文")
    db.session.commit()
    assert outbox.send_pending() == {"sent": 0, "failed": 0}
    assert db.session.get(OutboxMessage, message.id).status == OutboxStatus.PENDING


def test_sent_mail_is_not_sent_again(app, smtp):
    outbox.queue("shop@example.jp", "件名", "本文")
    db.session.commit()
    outbox.send_pending()
    outbox.send_pending()
    assert len(smtp.messages) == 1


def test_claimed_message_is_not_sent_by_a_second_sender(app, smtp):
    message = outbox.queue("shop@example.jp", "件名", "本文")
    db.session.commit()
    assert outbox._claim(message.id, utcnow())
    # Another worker looks now: the message is taken for the next minutes.
    assert outbox.send_pending() == {"sent": 0, "failed": 0}
    assert smtp.messages == []


def test_unreachable_server_keeps_the_failure_and_retries_later(app):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_SUPPRESS_SEND=False, MAIL_TIMEOUT=2)
    flask_mail.init_app(app)
    message = outbox.queue("shop@example.jp", "件名", "本文")
    db.session.commit()
    assert outbox.send_pending() == {"sent": 0, "failed": 1}
    db.session.refresh(message)
    assert message.status == OutboxStatus.FAILED and message.attempts == 1
    assert "ConnectionRefusedError" in message.last_error
    assert message.next_attempt_at > utcnow()
    # Not due yet: nothing is tried.
    assert outbox.send_pending() == {"sent": 0, "failed": 0}
    assert db.session.get(OutboxMessage, message.id).attempts == 1


def test_refused_message_is_retried_when_due_and_then_sent(app, smtp):
    smtp.refuse = True
    message = outbox.queue("shop@example.jp", "件名", "本文")
    db.session.commit()
    assert outbox.send_pending()["failed"] == 1
    assert "554" in db.session.get(OutboxMessage, message.id).last_error
    smtp.refuse = False
    db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow() - dt.timedelta(seconds=1)))
    db.session.commit()
    assert outbox.send_pending() == {"sent": 1, "failed": 0}
    db.session.refresh(message)
    assert message.status == OutboxStatus.SENT and message.attempts == 2 and message.last_error == ""


def test_retries_stop_after_the_configured_attempts(app, smtp):
    app.config["MAIL_MAX_ATTEMPTS"] = 2
    smtp.refuse = True
    message = outbox.queue("shop@example.jp", "件名", "本文")
    db.session.commit()
    for _ in range(4):
        db.session.execute(update(OutboxMessage).values(next_attempt_at=None))
        db.session.commit()
        outbox.send_pending()
    assert db.session.get(OutboxMessage, message.id).attempts == 2


def test_retry_delay_grows_and_is_capped():
    assert outbox.retry_delay(1) == dt.timedelta(minutes=1)
    assert outbox.retry_delay(3) == dt.timedelta(minutes=4)
    assert outbox.retry_delay(30) == dt.timedelta(hours=6)


def test_console_lists_messages_by_status_and_shows_the_body(app, staff_client):
    outbox.queue("a@example.jp", "【ISECA】未送信のメール", "本文A")
    failed = outbox.queue("b@example.jp", "【ISECA】失敗したメール", "本文B")
    failed.status, failed.attempts, failed.last_error = OutboxStatus.FAILED, 1, "SMTPRecipientsRefused: 550"
    db.session.commit()
    html = staff_client.get("/counter/outbox").get_data(as_text=True)
    assert "【ISECA】未送信のメール" in html and "【ISECA】失敗したメール" in html
    assert "SMTPサーバーが設定されていない" in html
    only_failed = staff_client.get("/counter/outbox?status=failed").get_data(as_text=True)
    assert "【ISECA】失敗したメール" in only_failed and "【ISECA】未送信のメール" not in only_failed
    assert "550" in only_failed
    detail = staff_client.get(f"/counter/outbox/{failed.id}").get_data(as_text=True)
    assert "本文B" in detail and "b@example.jp" in detail


def test_console_resend_sends_a_failed_message(app, smtp, staff_client):
    message = outbox.queue("b@example.jp", "【ISECA】再送するメール", "本文")
    message.status, message.attempts = OutboxStatus.FAILED, 8
    message.next_attempt_at = utcnow() + dt.timedelta(hours=1)
    db.session.commit()
    resp = post_form(staff_client, f"/counter/outbox/{message.id}/resend", {}, page_url=f"/counter/outbox/{message.id}")
    assert resp.status_code == 303
    assert smtp.with_subject("【ISECA】再送するメール")
    assert db.session.get(OutboxMessage, message.id).status == OutboxStatus.SENT
    assert "メールを送信しました" in staff_client.get(resp.headers["Location"]).get_data(as_text=True)


def test_console_send_now_sends_everything_due(app, smtp, staff_client):
    for i in range(3):
        outbox.queue(f"m{i}@example.jp", f"件名{i}", "本文")
    db.session.commit()
    resp = post_form(staff_client, "/counter/outbox/send", {}, page_url="/counter/outbox")
    assert resp.status_code == 303
    assert len(smtp.messages) == 3
    assert "成功 3通" in staff_client.get("/counter/outbox").get_data(as_text=True)


def test_send_mail_command_sends_pending_messages(app, smtp, runner):
    outbox.queue("shop@example.jp", "件名", "本文")
    db.session.commit()
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code == 0, result.output
    assert "sent 1, failed 0" in result.output
    assert len(smtp.messages) == 1


def test_send_mail_command_says_when_no_server_is_configured(app, runner):
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code != 0
    assert "ISECA_MAIL_SERVER" in result.output


def test_pending_count_is_in_the_outbox_tabs(app, staff_client):
    outbox.queue("a@example.jp", "件名", "本文")
    db.session.commit()
    assert "未送信（1）" in staff_client.get("/counter/outbox").get_data(as_text=True)
    assert db.session.scalar(select(OutboxMessage.status)) == OutboxStatus.PENDING
