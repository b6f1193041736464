"""`flask --app app send-mail`: send what is due (for a cron job or systemd timer)."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..outbox import is_configured, send_pending


@click.command("send-mail")
@with_appcontext
@click.option("--limit", default=500, show_default=True, help="at most this many messages in one run")
def send_mail_command(limit: int) -> None:
    """Send the e-mails waiting in the outbox (due ones only; failures are retried later)."""
    if not is_configured():
        raise click.ClickException("ISECA_MAIL_SERVER is not set: the messages stay in the outbox")
    counts = send_pending(limit=limit)
    click.echo(f"sent {counts['sent']}, failed {counts['failed']}")
    if counts["failed"]:
        raise SystemExit(1)
