"""`flask --app app demo`: load the demo data once and print its logins."""
from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import db
from ..models import Business
from . import demo_data


@click.command("demo")
@with_appcontext
@click.option("--password", default=None, help="give every demo account this password, with no forced change")
@click.option("--json", "as_json", is_flag=True, help="print the demo accounts as JSON")
@click.option("--if-empty", is_flag=True, help="do nothing when the database already holds businesses")
def demo_command(password: str | None, as_json: bool, if_empty: bool) -> None:
    """Load the demo data (once; safe to run again) and print its logins."""
    if if_empty and not demo_data.is_loaded() and db.session.scalar(db.select(Business.id).limit(1)) is not None:
        click.echo("The database already holds data; demo data not loaded.")
        return
    existed = demo_data.is_loaded()
    items = demo_data.load(password)
    db.session.commit()
    if as_json:
        click.echo(json.dumps(demo_data.as_dicts(items), ensure_ascii=False, indent=2))
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
