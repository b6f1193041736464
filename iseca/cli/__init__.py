"""Every `flask --app app …` command of the product, one module per group:
accounts (create-staff), backup, demo, mail (send-mail), payments
(prune-keys, verify-books), settlement (close, import-schedule). Commands call domain functions; they hold no rules."""
from __future__ import annotations

from flask import Flask

from . import accounts, backup, demo, mail, payments, settlement


def register_cli(app: Flask) -> None:
    """Add the commands to `flask`."""
    app.cli.add_command(accounts.create_staff)
    app.cli.add_command(backup.backup_command)
    app.cli.add_command(demo.demo_command)
    app.cli.add_command(mail.send_mail_command)
    app.cli.add_command(payments.group)
    app.cli.add_command(settlement.group)
