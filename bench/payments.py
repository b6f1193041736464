"""Payments benchmark: the app under gunicorn on PostgreSQL, driven through
HTTP by 1, 16 and 32 concurrent tills, beside pgbench's TPC-B-like figure
with as many clients, from the same machine and run. Not a test: it prints
figures.

    .venv/bin/python bench/payments.py [--workers 4] [--tills 1,16,32] [--seconds 15]
        [--client wrk|python] [--url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

It makes two scratch databases (one for the app, one for pgbench) and drops
them at the end. Every till logs in as a store, reads its cards once (as a
clerk does when the customer shows the card), then charges 1 yen at a time
with a fresh idempotency key: the same request path as the 「決済する」 button.

The charges are sent by wrk (`apt-get install wrk`), a load generator in C
as pgbench is on its side, so that the machine's two cores go to the app
and the database rather than to the client; without wrk (or with
--client python) by a thread per till here. With wrk the payments counted
are also counted in the database afterwards ("payments stored").
"""
from __future__ import annotations

import argparse
import http.client
import http.cookies
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
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
    import datetime as dt

    from flask_migrate import upgrade

    from iseca import create_app
    from iseca.accounts import create_account
    from iseca.extensions import db
    from iseca.members.cards import create_member, issue_card
    from iseca.merchants.records import create_business, create_register, create_store
    from iseca.models import AccountKind, Campaign, MemberKind
    from iseca.money import ledger

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


def open_till(port: int, code: str, cards: list[str]) -> tuple[Client, str, list[tuple[str, str]]]:
    """A till logged in as the store `code` that has read `cards` (as a
    clerk does when the customer shows the card): its client, its form's
    CSRF token and the (payer, register) of each card."""
    client = Client(port)
    status, _, page = client.request("GET", "/terminal/login")
    token = CSRF_RE.search(page).group(1)
    status, _, _ = client.request("POST", "/terminal/login", {"csrf_token": token, "code": code, "password": PASSWORD})
    assert status == 303, f"login {status}"
    _, _, page = client.request("GET", "/terminal/pay")
    token = CSRF_RE.search(page).group(1)
    refs = []
    for number in cards:
        status, headers, _ = client.request("POST", "/terminal/pay", {"csrf_token": token, "code": number})
        assert status == 303, f"scan {status}"
        query = parse_qs(urlsplit(headers["Location"]).query)
        refs.append((query["payer"][0], query["register"][0]))
    return client, token, refs


def cards_of_till(numbers: list[str], index: int, clients: int) -> list[str]:
    """Each till its own customers (none shared: no till waits on another's row locks)."""
    return (numbers[index::clients] or numbers)[:20]


WRK_SCRIPT = """
-- {tills} tills over {threads} threads; each thread rotates over its own tills,
-- each till over its own customers; every request a fresh idempotency key.
local tills = {{
{rows}
}}
local next_thread = 0
function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
end
local mine, counter
function init(args)
  mine = {{}}
  for i = thread_index + 1, #tills, {threads} do mine[#mine + 1] = tills[i] end
  counter = 0
end
function request()
  counter = counter + 1
  local till = mine[(counter % #mine) + 1]
  local ref = till.refs[(math.floor(counter / #mine) % #till.refs) + 1]
  local body = till.form .. ref .. "&key=" .. string.format("{nonce}%02d%012d", thread_index, counter)
  return wrk.format("POST", "/terminal/pay/charge",
    {{["Cookie"] = till.cookie, ["Content-Type"] = "application/x-www-form-urlencoded"}}, body)
end
function done(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _lua(text: str) -> str:
    return '"' + "".join(c if (c.isascii() and c.isalnum()) or c in "-_.~%=&;: " else f"\\{ord(c):03d}" for c in text) + '"'


def drive_wrk(port: int, store_codes: list[str], numbers: list[str], clients: int, seconds: float, db_url: str):
    """The tills' charges sent by wrk (a load generator in C, as pgbench is
    for its side): the tills log in and read their cards first, here."""
    from sqlalchemy import create_engine, text

    rows = []
    for index in range(clients):
        client, token, refs = open_till(port, store_codes[index % len(store_codes)], cards_of_till(numbers, index, clients))
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        form = urlencode({"csrf_token": token, "amount": "1"}) + "&"
        payer_refs = ", ".join(_lua(urlencode({"payer": p, "register": r})) for p, r in refs)
        rows.append(f"  {{cookie = {_lua(cookie)}, form = {_lua(form)}, refs = {{{payer_refs}}}}},")
        client.conn.close()
    threads = min(clients, 2)
    script = WRK_SCRIPT.format(tills=clients, threads=threads, rows="\n".join(rows), nonce=secrets.token_hex(3))
    engine = create_engine(db_url)
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM payments")).scalar()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        out = subprocess.run(["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{seconds:g}s", "--timeout", "30s",
                              "-s", f.name, f"http://127.0.0.1:{port}/"], check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(f.name)
    after_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    with engine.connect() as conn:
        made = conn.execute(text("SELECT count(*) FROM payments")).scalar() - before
    engine.dispose()
    requests, duration_us, bad_status, socket_errors, p50, p99 = map(int, re.search(r"RESULT (.*)", out).group(1).split())
    cpu = (after_usage.ru_utime - usage.ru_utime) + (after_usage.ru_stime - usage.ru_stime)
    return {"elapsed": duration_us / 1e6, "ok": requests - bad_status, "made": made, "p50": p50 / 1000, "p99": p99 / 1000,
            "statuses": {"3xx": requests - bad_status, "other": bad_status, "socket errors": socket_errors}, "cpu": cpu}


def drive(port: int, store_codes: list[str], numbers: list[str], clients: int, seconds: float):
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)
    go = threading.Event()
    stop_at = [0.0]

    def till(index: int):
        client, token, refs = open_till(port, store_codes[index % len(store_codes)], cards_of_till(numbers, index, clients))
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
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default=None,
                        help="gunicorn's worker class (default: sync, gthread when --threads > 1)")
    parser.add_argument("--tills", default="1,16,32", help="numbers of concurrent tills, one run each")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--stores", type=int, default=8)
    parser.add_argument("--cards", type=int, default=200)
    parser.add_argument("--client", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python",
                        help="what sends the charges: wrk (Debian's package; the default when installed) or "
                             "Python threads (more CPU of the machine's own per request)")
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
        worker_class = args.worker_class or ("gthread" if args.threads > 1 else "sync")
        if worker_class == "gthread":
            command += ["-k", "gthread", "--threads", str(args.threads)]
        server = subprocess.Popen(command + ["app:app"], env=env, start_new_session=True)
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)
        for clients in tills:
            if args.client == "wrk":
                drive_wrk(port, store_codes, numbers, clients, 2, db_url)  # warm-up: connections, caches
                run = drive_wrk(port, store_codes, numbers, clients, args.seconds, db_url)
            else:
                drive(port, store_codes, numbers, clients, 2)
                cpu_before = time.process_time()
                latencies, statuses, elapsed = drive(port, store_codes, numbers, clients, args.seconds)
                latencies.sort()
                run = {"elapsed": elapsed, "ok": statuses.get(303, 0), "made": None, "statuses": dict(sorted(statuses.items())),
                       "p50": statistics.median(latencies) * 1000 if latencies else float("nan"),
                       "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000 if latencies else float("nan"),
                       "cpu": time.process_time() - cpu_before}
            runs.append((clients, run, os.getloadavg()[0]))
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
          f"{os.getloadavg()[0]:.2f} at the end; gunicorn {args.workers} {worker_class} workers x {args.threads} threads; {args.seconds:.0f} s per run")
    print(f"load generator: {args.client}")
    print(f"{'tills':>5} {'payments/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'pgbench tps':>12} {'ratio':>6}  statuses, load average, load generator CPU")
    for clients, run, load in runs:
        rate = run["ok"] / run["elapsed"]
        made = "" if run["made"] is None else f", {run['made']} payments stored"
        print(f"{clients:>5} {rate:>11.1f} {run['p50']:>8.1f} {run['p99']:>8.1f} {tps[clients]:>12.1f} {rate / tps[clients]:>6.3f}  "
              f"{run['statuses']}{made}, {load:.2f}, {run['cpu'] / max(run['ok'], 1) * 1000:.2f} ms per payment")
    print(f"rows in payments incl. warm-ups: {payments}")
    print(f"books: negative member balances {negative}, unbalanced transactions {unbalanced}")
    return 0 if negative == 0 and unbalanced == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
