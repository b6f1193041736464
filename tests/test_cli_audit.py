"""No command edits the audit log: every `flask --app app …` command of the
app (found by walking `app.cli`, so a new command joins by itself) runs its
normal work on a database with data, and the 監査ログ rows before it are all
still there afterwards, unchanged: commands only ever append."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from sqlalchemy import func, select

from iseca import outbox
from iseca.extensions import db
from iseca.models import AuditLog, IdempotencyKey, OutboxMessage, PeriodStatus, SettlementPeriod, utcnow
from iseca.timeutil import today_jst
from tests import factories

GUIDE_TABLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "transfer-schedule.csv"

# Commands that are not run here, and why.
NOT_RUN = {
    ("db", "downgrade"): "takes the schema back (drops tables): tests/test_migrations.py runs it on its own databases",
    ("db", "stamp"): "rewrites the schema's recorded version only",
    ("db", "init"): "creates a migrations folder in the source tree",
    ("db", "migrate"): "writes a new migration file into the source tree",
    ("db", "revision"): "writes a new migration file into the source tree",
    ("db", "merge"): "writes a new migration file into the source tree",
    ("db", "edit"): "opens an editor",
    ("db", "list-templates"): "lists Alembic's file templates",
}


def arguments(tmp_path: Path) -> dict[tuple[str, ...], list[str]]:
    """What each command is run with: enough to do its normal work."""
    return {
        ("demo",): [],  # first: loads the demo merchants, members and payments
        ("create-staff",): ["--login", "cli-staff", "--password", "a long first password 7", "--name", "窓口 次郎"],
        ("send-mail",): ["--limit", "100"],
        ("payments", "prune-keys"): ["--days", "1"],
        ("payments", "verify-books"): [],
        ("payments", "rebuild-day-totals"): [],
        ("settlement", "import-schedule"): [str(GUIDE_TABLE)],
        ("settlement", "close"): [],
        ("backup",): [str(tmp_path / "iseca-backup")],
        ("db", "upgrade"): [],
        ("db", "current"): [],
        ("db", "heads"): [],
        ("db", "branches"): [],
        ("db", "history"): [],
        ("db", "show"): ["head"],
        ("db", "check"): [],
    }


def commands(group: click.Group, ctx: click.Context, path: tuple[str, ...] = ()):
    """Every command under `group`, as its path of names."""
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            yield from commands(command, click.Context(command, parent=ctx), path + (name,))
        else:
            yield path + (name,)


def audit_rows() -> list[tuple]:
    db.session.expire_all()
    table = AuditLog.__table__
    return [tuple(row) for row in db.session.execute(table.select().order_by(table.c.id)).all()]


def test_every_command_has_arguments_or_a_reason(app, tmp_path):
    found = set(commands(app.cli, click.Context(app.cli)))
    missing = sorted(found - set(arguments(tmp_path)) - set(NOT_RUN))
    assert missing == [], f"commands with neither arguments nor a reason in tests/test_cli_audit.py: {missing}"
    stale = sorted((set(arguments(tmp_path)) | set(NOT_RUN)) - found)
    assert stale == [], f"entries for commands that no longer exist: {stale}"


def test_no_command_changes_or_deletes_an_audit_row(app, runner, tmp_path, smtp):
    # Beyond the demo data: an ended period with a payment to close, an old
    # payment key to prune, a mail waiting to be sent.
    store = factories.make_store()
    member, _ = factories.make_card_member(5_000)
    factories.make_payment_at(store.registers[0], member, 700, utcnow() - dt.timedelta(days=40))
    staff = factories.make_staff()
    db.session.add(IdempotencyKey(account_id=staff.id, key="old-key", request_hash="x", created_at=utcnow() - dt.timedelta(days=90)))
    outbox.queue("shop@example.jp", "件名", "本文")
    db.session.commit()

    order = list(arguments(tmp_path))
    found = list(commands(app.cli, click.Context(app.cli)))
    walk = [path for path in order if path in found] + [p for p in found if p not in order and p not in NOT_RUN]
    ran = []
    for path in walk:
        before = audit_rows()
        result = runner.invoke(args=[*path, *arguments(tmp_path)[path]])
        assert result.exit_code == 0, f"{' '.join(path)}: {result.output}"
        after = audit_rows()
        assert after[:len(before)] == before, f"`flask {' '.join(path)}` changed or deleted audit rows"
        ran.append((path, len(after) - len(before)))
    # The commands did their work: the staff account and the closing wrote rows of their own,
    # the old key is gone, the mail went out.
    added = dict(ran)
    assert added[("create-staff",)] >= 1 and added[("settlement", "close")] >= 1, ran
    assert db.session.scalar(select(func.count()).select_from(SettlementPeriod)
                             .where(SettlementPeriod.status == PeriodStatus.OPEN, SettlementPeriod.ends_on < today_jst() - dt.timedelta(days=1))) == 0
    assert db.session.scalar(select(func.count()).select_from(IdempotencyKey).where(IdempotencyKey.key == "old-key")) == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.sent_at.is_(None))) == 0
