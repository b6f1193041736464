"""Backup while payments go on, restore into a new database: the books
balance and the store's 利用状況一覧 shows the same totals."""
from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
import threading

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from iseca import create_app
from iseca.extensions import db
from iseca.models import (
    LedgerAccount,
    LedgerAccountKind,
    Member,
    Payment,
    PaymentMethod,
    Register,
    Store,
    utcnow,
)
from iseca.money import payments
from tests import factories
from tests.support.client import basic_auth_header, login
from tests.support.database import TEST_CONFIG, migrate_database
from tests.support.servers import ROOT, app_environment, need_program, seed_shop

TOKEN = re.compile(r"[A-Za-z0-9._-]{60,}")


def _flask(url: str, *args: str) -> subprocess.CompletedProcess:
    env = app_environment(url, ISECA_PRODUCTION="false")
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def _in_process(url: str, *args: str):
    """The same command through Flask's CLI runner (no new interpreter: faster)."""
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        result = app.test_cli_runner().invoke(args=list(args))
        db.engine.dispose()
    return result


def _backup_in_process(url: str, target):
    return _in_process(url, "backup", str(target))


def _verify_books(url: str) -> str:
    """`flask payments verify-books` on `url`: its output, once it says the books balance."""
    books = _in_process(url, "payments", "verify-books")
    assert books.exit_code == 0 and "The books balance." in books.output, books.output
    return books.output.strip()


def _pay_in_background(url: str, stop: threading.Event, made: list[int]) -> threading.Thread:
    """Payments of 1 yen from another connection for as long as the backup runs."""
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})

    def run():
        with app.app_context():
            register = db.session.scalars(select(Register)).first()
            members = list(db.session.scalars(select(Member)))
            for i in range(2_000):
                if stop.is_set():
                    break
                payments.pay(members[i % len(members)], register, 1, PaymentMethod.STORE_SCAN)
                db.session.commit()
                made.append(1)
            db.engine.dispose()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _figures(url: str) -> dict:
    """Totals an auditor compares, and the store's 利用状況一覧 as a signed-in store sees it."""
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        balance = lambda kind: db.session.scalar(  # noqa: E731
            select(func.coalesce(func.sum(LedgerAccount.balance), 0)).where(LedgerAccount.kind == kind))
        figures = {
            "payments": db.session.scalar(select(func.count(Payment.id))),
            "paid": db.session.scalar(select(func.coalesce(func.sum(Payment.amount), 0))),
            "member_balances": balance(LedgerAccountKind.MEMBER),
            "store_balances": balance(LedgerAccountKind.STORE),
        }
        store = db.session.scalars(select(Store).order_by(Store.id)).first()
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
        assert login(client, store.code, factories.PASSWORD).status_code == 303
        today = dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).date()
        page = client.get(f"/cms/usage?date_from={today - dt.timedelta(days=5)}&date_to={today}").get_data(as_text=True)
        figures["store_paid"] = db.session.scalar(
            select(func.coalesce(func.sum(Payment.amount), 0)).where(Payment.store_id == store.id))
        assert f"{figures['store_paid']:,}円" in page, "the store's total is on its 利用状況一覧"
        figures["usage_totals"] = re.findall(r"[\d,]+円", page)
        figures["usage_page"] = TOKEN.sub("", page)
        db.engine.dispose()
    return figures


def _seed_with_history(url: str) -> None:
    seed_shop(url, balance=50_000, stores=2)
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        registers = list(db.session.scalars(select(Register)))
        members = list(db.session.scalars(select(Member)))
        now = utcnow()
        for i in range(40):
            factories.make_payment_at(registers[i % 2], members[i % 2], 100 + i * 37, now - dt.timedelta(hours=i))
        db.engine.dispose()


def _check_restored(source_url: str, restored_url: str, paid_during_backup: int, label: str) -> tuple[dict, dict]:
    books = _verify_books(restored_url)
    restored = _figures(restored_url)
    source = _figures(source_url)
    # The copy is one moment of the running database: at least the history, at
    # most everything paid meanwhile, and consistent in itself.
    assert 40 <= restored["payments"] <= source["payments"]
    assert restored["store_balances"] == restored["paid"]
    assert restored["member_balances"] + restored["paid"] == 100_000
    print(f"checked on {label}: backup during {paid_during_backup} concurrent payments; restored copy has "
          f"{restored['payments']} payments, {restored['paid']:,} yen paid; verify-books: {books}")
    return restored, source


def test_postgresql_backup_restores_with_balanced_books_and_same_totals(pg_databases, tmp_path):
    """pg_dump's snapshot is PostgreSQL's own guarantee; what is ours is that the
    command and the documented restore give back the same books and pages."""
    need_program("pg_dump", "postgresql-client")
    pg_restore = need_program("pg_restore", "postgresql-client")
    url = pg_databases.create()
    _seed_with_history(url)
    dump = tmp_path / "iseca.dump"
    result = _flask(url, "backup", str(dump))
    assert result.returncode == 0, result.stderr
    assert dump.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format

    restored_url = pg_databases.create(migrate=False)
    target = make_url(restored_url)
    subprocess.run([pg_restore, "--no-owner", "--exit-on-error", "-h", target.host, "-p", str(target.port or 5432),
                    "-U", target.username, "-d", target.database, str(dump)], check=True, capture_output=True, timeout=120)
    books = _verify_books(restored_url)
    restored, source = _figures(restored_url), _figures(url)
    assert restored == source
    print(f"checked on PostgreSQL: flask backup (pg_dump -Fc) → pg_restore into a new database: verify-books "
          f"'{books}', {restored['payments']} payments, {restored['paid']:,} yen, the same "
          f"balances and the same 利用状況一覧 ({restored['store_paid']:,}円 for the store)")


def test_sqlite_online_backup_restores_with_balanced_books_and_same_totals(tmp_path):
    url = f"sqlite:///{tmp_path}/iseca.sqlite3"
    migrate_database(url)
    _seed_with_history(url)
    copy = tmp_path / "backup.sqlite3"
    stop, made = threading.Event(), []
    payer = _pay_in_background(url, stop, made)
    try:
        result = _flask(url, "backup", str(copy))
    finally:
        stop.set()
        payer.join(timeout=60)
    assert result.returncode == 0 and "integrity check ok" in result.stdout, result.stderr
    restored_url = f"sqlite:///{copy}"
    _check_restored(url, restored_url, len(made), "SQLite")
    # A quiet database: the copy is the same, page included; and a backup never overwrites.
    quiet = tmp_path / "quiet.sqlite3"
    assert _backup_in_process(url, quiet).exit_code == 0
    assert _figures(f"sqlite:///{quiet}") == _figures(url)
    refused = _backup_in_process(url, quiet)
    assert refused.exit_code != 0 and "never overwrite" in refused.output
    print("checked: SQLite online backup of a quiet database gives the same totals and 利用状況一覧; an existing file is not overwritten")
