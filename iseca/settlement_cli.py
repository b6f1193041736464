"""`flask --app app settlement …`: closing periods and the transfer schedule."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from . import ledger, settlement

group = AppGroup("settlement", help="精算: close ended periods, import the transfer schedule.")


@group.command("close")
def close() -> None:
    """Close every settlement period that has ended (safe to run twice, or twice at once)."""
    outcomes = settlement.close_ended_periods(actor_label="cli")
    closed = [o for o in outcomes if o.closed_now]
    for o in closed:
        click.echo(f"Closed {o.period.starts_on}–{o.period.ends_on}: {o.settlements} settlements, {o.total} yen to transfer.")
    if not closed:
        click.echo("No period to close.")
    problems = ledger.verify_books()
    if problems:
        raise click.ClickException(f"{len(problems)} problems in the books after closing: {problems[:3]}")


def register(app: Flask) -> None:
    app.cli.add_command(group)
