"""Command-line tools: `flask --app app create-staff …`, `flask --app app demo`."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask, current_app

from . import audit, demo
from .accounts import AccountExists, create_account
from .extensions import db
from .models import AccountKind, Business


def register_cli(app: Flask) -> None:
    from . import outbox

    outbox.register_cli(app)

    from . import payments_cli

    payments_cli.register(app)

    @app.cli.command("backup")
    @click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
    def backup_command(target: Path) -> None:
        """Back up the database into TARGET while the app serves (SQLite online backup, or pg_dump -Fc)."""
        from .backup import BackupFailed, backup

        try:
            click.echo(backup(target))
        except BackupFailed as error:
            raise click.ClickException(str(error))

    @app.cli.command("create-staff")
    @click.option("--login", required=True, help="職員ID (the staff member's login name)")
    @click.option("--password", required=True, help="initial password; must be changed at first login")
    @click.option("--name", default="", help="display name")
    def create_staff(login: str, password: str, name: str) -> None:
        """Create an ISECA counter staff account."""
        try:
            account, _ = create_account(AccountKind.STAFF, login.strip(), password=password, name=name or login)
        except AccountExists:
            raise click.ClickException(f"staff account {login!r} already exists")
        audit.record("staff_created", account, actor_label="cli")
        db.session.commit()
        click.echo(f"Created counter staff account {account.login!r}; the password must be changed at first login.")
        click.echo(f"Log in at {current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/counter/login")

    @app.cli.command("demo")
    @click.option("--password", default=None, help="give every demo account this password, with no forced change")
    @click.option("--json", "as_json", is_flag=True, help="print the demo accounts as JSON")
    @click.option("--if-empty", is_flag=True, help="do nothing when the database already holds businesses")
    def demo_command(password: str | None, as_json: bool, if_empty: bool) -> None:
        """Load the demo data (once; safe to run again) and print its logins."""
        if if_empty and not demo.is_loaded() and db.session.scalar(db.select(Business.id).limit(1)) is not None:
            click.echo("The database already holds data; demo data not loaded.")
            return
        existed = demo.is_loaded()
        items = demo.load(password)
        db.session.commit()
        if as_json:
            click.echo(json.dumps(demo.as_dicts(items), ensure_ascii=False, indent=2))
            return
        base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
        click.echo("Demo data was already loaded." if existed else "Demo data loaded.")
        user, pw = current_app.config["BASIC_AUTH_USERNAME"], current_app.config["BASIC_AUTH_PASSWORD"]
        click.echo(f"\n管理サイト  {base}/cms/   (BASIC gate: {user} / {pw})")
        click.echo(f"加盟店アプリ {base}/terminal/")
        click.echo(f"ISECA窓口   {base}/counter/")
        click.echo(f"ウォレット  {base}/wallet/\n")
        if not password:
            click.echo("Initial passwords must be changed at first login (unless already changed).")
        click.echo(f"{'kind':9} {'code / login':34} {'password':22} name")
        for item in items:
            click.echo(f"{item.kind:9} {item.code:34} {item.password:22} {item.name}")
