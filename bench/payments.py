"""Payments benchmark: the app under gunicorn on PostgreSQL, driven through
HTTP by 1, 16 and 32 concurrent tills, beside pgbench's TPC-B-like figure
with as many clients, from the same machine and run. Not a test: it prints
figures.

    .venv/bin/python bench/payments.py [--workers 4] [--tills 1,16,32] [--seconds 15]
        [--url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

It makes two scratch databases (one for the app, one for pgbench) and drops
them at the end. Every till logs in as a store, reads its cards once (as a
clerk does when the customer shows the card), then charges 1 yen at a time
with a fresh idempotency key: the same request path as the 「決済する」 button.
"""
from __future__ import annotations

import argparse
import http.client
import http.cookies
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
PASSWORD = "benchmark passphrase long enough"


class Client:
    """One till: a keep-alive connection and its cookies."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, data: dict | None = None):
        body = urlencode(data) if data is not None else None
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
        for header in resp.headers.get_all("Set-Cookie") or []:
            for name, morsel in http.cookies.SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return resp.status, resp.headers, text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admin_engine(url: str):
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def seed(db_url: str, stores: int, cards: int) -> tuple[list[str], list[str]]:
    """Migrate the scratch database; make stores (with logins) and funded cards."""
    from flask_migrate import upgrade

    from iseca import create_app, ledger
    from iseca.accounts import create_account
    from iseca.extensions import db
    from iseca.members import create_member, issue_card
    from iseca.merchants import create_business, create_register, create_store
    from iseca.models import AccountKind, Campaign, MemberKind
    import datetime as dt

    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "bench", "ARGON2_TIME_COST": 1,
                      "ARGON2_MEMORY_COST": 1024})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        campaign = Campaign(name="bench", starts_on=dt.date(2020, 1, 1), ends_on=dt.date(2099, 12, 31))
        db.session.add(campaign)
        db.session.flush()
        business = create_business(name="ベンチ事業者")
        store_codes = []
        for i in range(stores):
            store = create_store(business, name=f"ベンチ店舗{i}")
            create_account(AccountKind.STORE, store.code, password=PASSWORD, initial=False, store_id=store.id,
                           business_id=business.id)
            create_register(store)
            store_codes.append(store.code)
        numbers = []
        for _ in range(cards):
            member = create_member(MemberKind.CARD)
            card = issue_card(member, batch="bench")
            ledger.grant(member.id, campaign, 10_000_000)
            numbers.append(card.number)
        db.session.commit()
        db.engine.dispose()
    return store_codes, numbers


def pgbench(url: str, clients_list: list[int], seconds: int) -> dict[int, float]:
    """pgbench's default TPC-B-like script on a scratch database, at each
    number of clients: transactions per second."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    u = make_url(url)
    name = f"iseca_pgbench_{uuid.uuid4().hex[:8]}"
    engine = admin_engine(url)
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    env = {**os.environ, "PGHOST": u.host or "127.0.0.1", "PGPORT": str(u.port or 5432), "PGUSER": u.username or "postgres"}
    if u.password:
        env["PGPASSWORD"] = u.password
    tps = {}
    try:
        subprocess.run(["pgbench", "-i", "-q", "-s", "10", name], env=env, check=True, capture_output=True)
        for clients in clients_list:
            out = subprocess.run(["pgbench", "-n", "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds), name],
                                 env=env, check=True, capture_output=True, text=True).stdout
            match = re.search(r"tps = ([0-9.]+)", out)
            tps[clients] = float(match.group(1)) if match else float("nan")
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
    return tps


def drive(port: int, store_codes: list[str], numbers: list[str], clients: int, seconds: float):
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)
    go = threading.Event()
    stop_at = [0.0]

    def till(index: int):
        client = Client(port)
        code = store_codes[index % len(store_codes)]
        status, _, page = client.request("GET", "/terminal/login")
        token = CSRF_RE.search(page).group(1)
        status, _, _ = client.request("POST", "/terminal/login", {"csrf_token": token, "code": code, "password": PASSWORD})
        assert status == 303, f"login {status}"
        _, _, page = client.request("GET", "/terminal/pay")
        token = CSRF_RE.search(page).group(1)
        refs = []
        mine = numbers[index::clients] or numbers
        for number in mine[:20]:
            status, headers, _ = client.request("POST", "/terminal/pay", {"csrf_token": token, "code": number})
            assert status == 303, f"scan {status}"
            query = parse_qs(urlsplit(headers["Location"]).query)
            refs.append((query["payer"][0], query["register"][0]))
        ready.wait()
        go.wait()
        mine_lat, mine_status = [], {}
        i = 0
        while time.perf_counter() < stop_at[0]:
            reference, register = refs[i % len(refs)]
            i += 1
            form = {"csrf_token": token, "payer": reference, "register": register, "amount": "1", "key": secrets.token_urlsafe(18)}
            started = time.perf_counter()
            status, _, _ = client.request("POST", "/terminal/pay/charge", form)
            mine_lat.append(time.perf_counter() - started)
            mine_status[status] = mine_status.get(status, 0) + 1
        with lock:
            latencies.extend(mine_lat)
            for k, v in mine_status.items():
                statuses[k] = statuses.get(k, 0) + v

    threads = [threading.Thread(target=till, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    ready.wait()
    started = time.perf_counter()
    stop_at[0] = started + seconds
    go.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return latencies, statuses, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("ISECA_BENCH_DATABASE_URL",
                                                        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (gthread when > 1)")
    parser.add_argument("--tills", default="1,16,32", help="numbers of concurrent tills, one run each")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--stores", type=int, default=8)
    parser.add_argument("--cards", type=int, default=200)
    args = parser.parse_args()
    tills = [int(n) for n in args.tills.split(",")]

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    load_before = os.getloadavg()
    name = f"iseca_bench_{uuid.uuid4().hex[:8]}"
    engine = admin_engine(args.url)
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = make_url(args.url).set(database=name).render_as_string(hide_password=False)
    server = None
    runs = []
    try:
        store_codes, numbers = seed(db_url, args.stores, args.cards)
        port = free_port()
        env = {**os.environ, "ISECA_SQLALCHEMY_DATABASE_URI": db_url, "ISECA_SECRET_KEY": "bench-" + secrets.token_hex(8),
               "ISECA_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
               # The figures, not a line per request (a few microseconds each), go to the console.
               "ISECA_REQUEST_LOG": "false"}
        command = [str(ROOT / ".venv/bin/gunicorn"), "--chdir", str(ROOT), "-w", str(args.workers), "-b", f"127.0.0.1:{port}",
                   "--log-level", "warning", "--keep-alive", "30"]
        if args.threads > 1:
            command += ["-k", "gthread", "--threads", str(args.threads)]
        server = subprocess.Popen(command + ["app:app"], env=env, start_new_session=True)
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("gunicorn did not start")
                time.sleep(0.2)
        for clients in tills:
            drive(port, store_codes, numbers, clients, 2)  # warm-up: connections, caches
            cpu_before = time.process_time()
            latencies, statuses, elapsed = drive(port, store_codes, numbers, clients, args.seconds)
            runs.append((clients, latencies, statuses, elapsed, time.process_time() - cpu_before, os.getloadavg()[0]))
        check = create_engine(db_url)
        with check.connect() as conn:
            negative = conn.execute(text("SELECT count(*) FROM ledger_accounts WHERE kind = 'member' AND balance < 0")).scalar()
            unbalanced = conn.execute(text(
                "SELECT count(*) FROM (SELECT transaction_id FROM ledger_entries GROUP BY transaction_id HAVING sum(amount) <> 0) t")).scalar()
            payments = conn.execute(text("SELECT count(*) FROM payments")).scalar()
        check.dispose()
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    tps = pgbench(args.url, tills, int(args.seconds))
    engine.dispose()
    print(f"machine: {os.cpu_count()} cores; load average (1 min) {load_before[0]:.2f} at the start, "
          f"{os.getloadavg()[0]:.2f} at the end; gunicorn {args.workers} workers x {args.threads} threads; {args.seconds:.0f} s per run")
    print(f"{'tills':>5} {'payments/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'pgbench tps':>12} {'ratio':>6}  statuses, load average, load generator CPU")
    for clients, latencies, statuses, elapsed, client_cpu, load in runs:
        ok = statuses.get(303, 0)
        latencies.sort()
        p50 = statistics.median(latencies) * 1000 if latencies else float("nan")
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000 if latencies else float("nan")
        rate = ok / elapsed
        print(f"{clients:>5} {rate:>11.1f} {p50:>8.1f} {p99:>8.1f} {tps[clients]:>12.1f} {rate / tps[clients]:>6.3f}  "
              f"{dict(sorted(statuses.items()))}, {load:.2f}, {client_cpu / max(ok, 1) * 1000:.1f} ms per payment")
    print(f"rows in payments incl. warm-ups: {payments}")
    print(f"books: negative member balances {negative}, unbalanced transactions {unbalanced}")
    return 0 if negative == 0 and unbalanced == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
