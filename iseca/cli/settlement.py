"""`flask --app app settlement …`: closing periods and the transfer schedule."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from ..database import one_snapshot
from ..extensions import db
from ..members import cards
from ..money import ledger, schedule, settlement

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
    with one_snapshot():  # tills keep paying while the timer closes
        problems = ledger.verify_books()
    if problems:
        raise click.ClickException(f"{len(problems)} problems in the books after closing: {problems[:3]}")


@group.command("import-schedule")
@click.argument("file", type=click.File("rb"))
def import_schedule(file) -> None:
    """Import the 振込スケジュール from a CSV (period_start,period_end,transfer_date[,period_text,transfer_text])."""
    try:
        parsed = schedule.parse_schedule_csv(cards.decode_csv(file.read()))
        changed = schedule.import_schedule(parsed, actor_label="cli")
    except (schedule.ScheduleError, cards.MemberError) as error:
        db.session.rollback()
        raise click.ClickException(f"nothing imported:\n{error}") from error
    db.session.commit()
    dated = sum(1 for row in parsed.rows if row.transfer_date)
    click.echo(f"Imported {len(parsed.rows)} periods ({dated} with a transfer date, "
               f"{len(parsed.rows) - dated} 未定); {changed} changed.")

