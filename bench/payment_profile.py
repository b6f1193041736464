"""One 「決済する」 request taken apart: the SQL statements it sends and the
Python time it spends, in-process (Flask's test client) on PostgreSQL; and
the CPU of a trivial page logged in beside the same page anonymous (what the
login costs every request). Not a test: it prints figures.

    .venv/bin/python bench/payment_profile.py [--requests 1000] [--show-sql] [--profile]
        [--url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Python time is the request's wall time minus the time spent waiting for the
database (measured around each statement's execution). --profile times
functions by this process's CPU (waiting for PostgreSQL is left out).
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import secrets
import statistics
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from payments import PASSWORD, admin_engine, seed  # noqa: E402

CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("ISECA_BENCH_DATABASE_URL",
                                                        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--show-sql", action="store_true", help="print the statements of one request")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    parser.add_argument("--dump", help="with --profile: also write the cProfile data to this file")
    parser.add_argument("--trivial-path", default="/bank-names",
                        help="the trivial page timed logged in and anonymous (public, no database of its own but the notices)")
    args = parser.parse_args()

    from sqlalchemy import event, text
    from sqlalchemy.engine import make_url

    name = f"iseca_profile_{uuid.uuid4().hex[:8]}"
    admin = admin_engine(args.url)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = make_url(args.url).set(database=name).render_as_string(hide_password=False)
    try:
        store_codes, numbers = seed(db_url, 1, 20)
        from iseca import create_app
        from iseca.extensions import db

        # The request log is off as in bench/payments.py: the figures, not a line per request.
        app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "profile",
                          "PUBLIC_BASE_URL": "http://localhost", "REQUEST_LOG": False})
        client = app.test_client()
        page = client.get("/terminal/login").get_data(as_text=True)
        token = CSRF_RE.search(page).group(1)
        response = client.post("/terminal/login", data={"csrf_token": token, "code": store_codes[0], "password": PASSWORD})
        assert response.status_code == 303, response.status_code
        page = client.get("/terminal/pay").get_data(as_text=True)
        token = CSRF_RE.search(page).group(1)
        refs = []
        for number in numbers:
            response = client.post("/terminal/pay", data={"csrf_token": token, "code": number})
            assert response.status_code == 303, response.status_code
            query = parse_qs(urlsplit(response.headers["Location"]).query)
            refs.append((query["payer"][0], query["register"][0]))

        statements: list[str] = []
        db_time = [0.0]
        started_at: list[float] = []

        with app.app_context():
            engine = db.engine

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)
            started_at.append(time.perf_counter())

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, executemany):
            db_time[0] += time.perf_counter() - started_at.pop()

        def charge(i: int):
            reference, register = refs[i % len(refs)]
            form = {"csrf_token": token, "payer": reference, "register": register, "amount": "1", "key": secrets.token_urlsafe(18)}
            response = client.post("/terminal/pay/charge", data=form)
            assert response.status_code == 303, (response.status_code, response.get_data(as_text=True)[:500])

        for i in range(30):  # warm-up
            charge(i)
        statements.clear()
        charge(0)
        one_request = list(statements)
        # BEGIN/COMMIT are not cursor executions: count them apart.
        statements.clear()
        db_time[0] = 0.0
        # Timed by the CPU of this process: waiting for PostgreSQL is not what is to be removed.
        profiler = cProfile.Profile(time.process_time) if args.profile else None
        wall = time.perf_counter()
        cpu = time.process_time()
        if profiler:
            profiler.enable()
        rounds = []  # CPU per charge of each run of 100: the least is the one other processes disturbed least
        for i in range(args.requests):
            if i % 100 == 0:
                round_cpu = time.process_time()
            charge(i)
            if i % 100 == 99:
                rounds.append((time.process_time() - round_cpu) / 100)
        if profiler:
            profiler.disable()
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
        n = args.requests
        db_wait = db_time[0]
        # After the charges: its queries (the notices) are not counted with theirs.
        logged_in, anonymous = trivial_cpu(client, app.test_client(), args.trivial_path)
        print(f"load average (1 min): {os.getloadavg()[0]:.2f}")
        print(f"statements per payment request: {len(one_request)} (plus COMMIT)")
        if args.show_sql:
            for s in one_request:
                print("  -", " ".join(s.split())[:int(os.environ.get("SQL_WIDTH", "200"))])
        print(f"per request: {wall / n * 1000:.2f} ms wall, {db_wait / n * 1000:.2f} ms waiting for PostgreSQL, "
              f"{(wall - db_wait) / n * 1000:.2f} ms Python (test client included); "
              f"CPU of this process {cpu / n * 1000:.2f} ms (steadier than wall time on a busy machine)")
        if rounds:
            print(f"CPU per charge in runs of 100: least {min(rounds) * 1000:.2f} ms, "
                  f"median {statistics.median(rounds) * 1000:.2f} ms ({len(rounds)} runs)")
        print(f"trivial request GET {args.trivial_path}: logged in {logged_in:.2f} ms CPU, anonymous {anonymous:.2f} ms CPU "
              f"({logged_in / anonymous:.2f}x)")
        if profiler:
            if args.dump:
                profiler.dump_stats(args.dump)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


def trivial_cpu(logged_in, anonymous, path: str, rounds: int = 10, requests: int = 200) -> tuple[float, float]:
    """CPU ms per request of `path` for a logged-in client and an anonymous
    one, alternating in rounds; the least of the rounds (the one the other
    processes on the machine disturbed least)."""
    best = {"in": float("inf"), "out": float("inf")}
    for _ in range(rounds):
        for name, client in (("in", logged_in), ("out", anonymous)):
            for _ in range(20):
                client.get(path)
            cpu = time.process_time()
            for _ in range(requests):
                response = client.get(path)
            best[name] = min(best[name], (time.process_time() - cpu) / requests * 1000)
            assert response.status_code == 200, response.status_code
    return best["in"], best["out"]


if __name__ == "__main__":
    sys.exit(main())
