"""`flask --app app payments …`: maintenance of the payment records."""
from __future__ import annotations

import datetime as dt

import click
from flask.cli import AppGroup

from .. import audit
from ..database import one_snapshot
from ..extensions import db
from ..money import day_totals, idempotency, ledger

group = AppGroup("payments", help="Payments: idempotency keys and the books.")


@group.command("prune-keys")
@click.option("--days", default=30, show_default=True, type=click.IntRange(min=1), help="keep keys this many days")
def prune_keys(days: int) -> None:
    """Delete idempotency keys older than DAYS (payments themselves stay)."""
    count = idempotency.prune(dt.timedelta(days=days))
    audit.record("idempotency_keys_pruned", None, {"days": days, "count": count}, actor_label="cli")
    db.session.commit()
    click.echo(f"Deleted {count} idempotency keys older than {days} days.")


@group.command("verify-books")
def verify_books() -> None:
    """Check that every ledger transaction sums to zero, every balance agrees
    with its entries, and the day totals of the registers agree with the payments
    (all read from one snapshot: safe while tills pay)."""
    with one_snapshot():  # the sums and the balances of one moment, while tills pay
        problems = ledger.verify_books() + day_totals.differences()
    for problem in problems:
        click.echo(problem)
    if problems:
        raise click.ClickException(f"{len(problems)} problems in the books")
    click.echo("The books balance.")


@group.command("rebuild-day-totals")
def rebuild_day_totals() -> None:
    """Write the per-day, per-register totals afresh from the payments (after
    payments were loaded around the app, or when verify-books disagrees)."""
    rows = day_totals.rebuild()
    audit.record("day_totals_rebuilt", None, {"rows": rows}, actor_label="cli")
    db.session.commit()
    click.echo(f"Wrote {rows} day totals from the payments.")
