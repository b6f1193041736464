"""`flask --app app backup FILE`: a copy of the database while the app serves."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from ..backup import BackupFailed, backup


@click.command("backup")
@with_appcontext
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(target: Path) -> None:
    """Back up the database into TARGET while the app serves (SQLite online backup, or pg_dump -Fc)."""
    try:
        click.echo(backup(target))
    except BackupFailed as error:
        raise click.ClickException(str(error)) from error
