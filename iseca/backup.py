"""Backups of the database while the app serves.

SQLite (the embedded default): SQLite's online backup API copies the
database page by page; writers may go on meanwhile, and the copy is one
consistent moment. PostgreSQL: `pg_dump -Fc` (custom format, restored with
`pg_restore`), consistent while payments go on.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from .extensions import db


class BackupFailed(Exception):
    pass


def backup_sqlite(database: str, target: Path) -> None:
    """Copy the SQLite file `database` into `target` and check the copy."""
    source = sqlite3.connect(database, timeout=30)
    copy = sqlite3.connect(target)
    try:
        # All pages in one step: one read transaction, so one consistent
        # moment; under WAL the writers are not held up meanwhile.
        source.backup(copy)
        result = copy.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        copy.close()
        source.close()
    if result != "ok":
        raise BackupFailed(f"integrity check of the copy: {result}")


def backup_postgresql(url: str, target: Path) -> None:
    """pg_dump -Fc of the database at `url` into `target`; the password goes by environment, not argument."""
    pg_dump = shutil.which("pg_dump")
    if not pg_dump:
        raise BackupFailed("pg_dump not found (apt-get install postgresql-client)")
    parts = make_url(url)
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = parts.password
    command = [pg_dump, "--format=custom", "--file", str(target), "--dbname", parts.database or ""]
    if parts.host:
        command += ["--host", parts.host]
    if parts.port:
        command += ["--port", str(parts.port)]
    if parts.username:
        command += ["--username", parts.username]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupFailed(f"pg_dump failed: {result.stderr.strip()}")


def backup(target: Path) -> str:
    """Back up the app's database into `target` (a new file); returns what was done."""
    if target.exists():
        raise BackupFailed(f"{target} exists: backups never overwrite")
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        backup_sqlite(url.database, target)
        return f"SQLite online backup of {url.database} into {target} (integrity check ok)"
    if url.get_backend_name() == "postgresql":
        backup_postgresql(url.render_as_string(hide_password=False), target)
        return f"pg_dump -Fc of {url.database} into {target} (restore with pg_restore)"
    raise BackupFailed(f"no backup for {url.get_backend_name()}")
