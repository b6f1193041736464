"""The SMTP server down: nothing is lost, /readyz shows the backlog growing
older, and the send-mail timer delivers everything once it is back."""
from __future__ import annotations

import datetime as dt

from aiosmtpd.controller import Controller
from sqlalchemy import update

from iseca import outbox
from iseca.extensions import db
from iseca.extensions import mail as flask_mail
from iseca.models import OutboxMessage, OutboxStatus, utcnow
from tests.support.mail import Inbox
from tests.support.servers import free_port


def test_mail_queued_while_smtp_is_down_is_sent_once_when_it_is_back(app, client, runner, backend):
    port = free_port()  # nothing listens here yet: the SMTP server is down
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_SUPPRESS_SEND=False, MAIL_TIMEOUT=2)
    flask_mail.init_app(app)
    subjects = [f"【ISECA】お知らせ {i}" for i in range(3)]
    for subject in subjects:
        outbox.queue("shop@example.jp", subject, "本文")
    db.session.commit()

    down = runner.invoke(args=["send-mail"])
    assert down.exit_code != 0 and "failed 3" in down.output  # the timer's run shows as failed in systemctl
    messages = list(db.session.scalars(db.select(OutboxMessage)))
    assert [m.status for m in messages] == [OutboxStatus.FAILED] * 3
    assert all("ConnectionRefusedError" in m.last_error for m in messages)
    # Ten minutes of outage: /readyz still ready, showing the backlog and its age.
    db.session.execute(update(OutboxMessage).values(created_at=utcnow() - dt.timedelta(minutes=10)))
    db.session.commit()
    report = client.get("/readyz").json
    assert report["ready"] is True and report["outbox"]["unsent"] == 3
    assert report["outbox"]["oldest_unsent_age_seconds"] >= 600

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        # The retry falls due (1 minute after the first failure) and the timer runs again, twice.
        db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow() - dt.timedelta(seconds=1)))
        db.session.commit()
        first, second = runner.invoke(args=["send-mail"]), runner.invoke(args=["send-mail"])
        assert first.exit_code == second.exit_code == 0
    finally:
        controller.stop()
    assert sorted(m["Subject"] for m in inbox.messages) == sorted(subjects)  # each once
    db.session.expire_all()
    assert {m.status for m in db.session.scalars(db.select(OutboxMessage))} == {OutboxStatus.SENT}
    assert client.get("/readyz").json["outbox"]["unsent"] == 0
    print(f"checked on {backend}: 3 mails queued while SMTP was down stayed (failed, kept), /readyz showed "
          f"backlog 3 aged ≥ 600 s; with SMTP back the timer sent each once: {first.output.strip()!r}")
