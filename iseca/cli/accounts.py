"""`flask --app app create-staff`: the first counter staff accounts."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from .. import audit
from ..accounts import AccountExists, create_account
from ..extensions import db
from ..models import AccountKind


@click.command("create-staff")
@with_appcontext
@click.option("--login", required=True, help="職員ID (the staff member's login name)")
@click.option("--password", required=True, help="initial password; must be changed at first login")
@click.option("--name", default="", help="display name")
def create_staff(login: str, password: str, name: str) -> None:
    """Create an ISECA counter staff account."""
    try:
        account, _ = create_account(AccountKind.STAFF, login.strip(), password=password, name=name or login)
    except AccountExists:
        raise click.ClickException(f"staff account {login!r} already exists") from None
    audit.record("staff_created", account, actor_label="cli")
    db.session.commit()
    click.echo(f"Created counter staff account {account.login!r}; the password must be changed at first login.")
    click.echo(f"Log in at {current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/counter/login")
