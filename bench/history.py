"""Benchmark of 利用状況一覧 on PostgreSQL as a store's history grows:
10,000, then 100,000, then 1,000,000 payments (one seed, grown further back
in time between the measurements, so today's payments stay the same).

At each size prints the time of filtered pages (the whole request: totals,
one page of rows, the HTML) and the CSV export rate of the app beside
PostgreSQL's own `COPY (the same query) TO STDOUT WITH CSV` on the same data,
so that flat costs and growing ones can be told apart.

    .venv/bin/python bench/history.py                       # 10k, 100k, 1M
    .venv/bin/python bench/history.py --sizes 10000,200000 --keep

The database (default postgresql+psycopg://postgres@127.0.0.1:5432/iseca_bench_history)
is created fresh and dropped at the end unless --keep is given.
"""
from __future__ import annotations

import argparse
import logging
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.pgdb import finish, fresh_database  # noqa: E402
from iseca import create_app  # noqa: E402
from iseca.accounts import create_account  # noqa: E402
from iseca.bulk import copy_csv_records  # noqa: E402
from iseca.extensions import db  # noqa: E402
from iseca.merchants.records import create_business, create_register, create_store  # noqa: E402
from iseca.models import AccountKind, Campaign  # noqa: E402
from iseca.money import day_totals, usage  # noqa: E402
from iseca.money.usage import UsageFilter  # noqa: E402
from iseca.timeutil import today_jst  # noqa: E402

PASSWORD = "benchmark passphrase long enough"
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def setup() -> dict:
    """The merchants through the app's own functions; members with generate_series."""
    business = create_business(name="ベンチマーク商事", email="bench@example.jp")
    store = create_store(business, name="ベンチ本店")
    other = create_store(business, name="ベンチ支店")
    registers = [create_register(store, "レジ1"), create_register(store, "レジ2"), create_register(other, "レジ1")]
    account, _ = create_account(AccountKind.STORE, store.code, password=PASSWORD, initial=False,
                                business_id=business.id, store_id=store.id)
    campaign = Campaign(name="ベンチ", starts_on=today_jst().replace(year=today_jst().year - 5),
                        ends_on=today_jst().replace(year=today_jst().year + 1))
    db.session.add(campaign)
    db.session.commit()
    db.session.execute(text(
        "INSERT INTO members (code, kind, name, email, status, qr_secret, created_at) "
        "SELECT (1000000000 + g)::text, 'card', '', '', 'active', '', now() at time zone 'utc' "
        "FROM generate_series(1, 5000) g"))
    db.session.commit()
    return dict(store=store.code, store_id=store.id, other_id=other.id, business=business.id, account=account.id,
                campaign=campaign.id, registers=[r.id for r in registers], register=registers[1].id,
                member=str(1000000000 + 1234), first_member=db.session.scalar(text("SELECT min(id) FROM members")),
                now=db.session.scalar(text("SELECT now() at time zone 'utc'")), count=0, noise=0)


def grow(facts: dict, count: int, noise: int) -> None:
    """Payments with generate_series up to `count` for the store (+`noise` for
    another store): a payment every 63 seconds back from the seed's start, 2 %
    of them cancelled an hour later; then the day totals rebuilt from them
    (the rows were written around the app) and the tables analysed."""

    def insert(store_id, register_ids, first, last, prefix):
        db.session.execute(text(f"""
            INSERT INTO payments (number, business_id, store_id, register_id, member_id, campaign_id, method, amount,
                                  status, created_at, created_by_account_id, cancelled_at, cancelled_by_account_id)
            SELECT '{prefix}' || lpad(g::text, 12, '0'), :business, :store,
                   (ARRAY{register_ids})[1 + g % {len(register_ids)}],
                   :first_member + (g * 7919) % 5000, :campaign,
                   CASE WHEN g % 3 = 0 THEN 'customer_scan' ELSE 'store_scan' END,
                   100 + (g * 37) % 9900,
                   CASE WHEN g % 50 = 0 THEN 'cancelled' ELSE 'completed' END,
                   :now - g * interval '63 seconds', :account,
                   CASE WHEN g % 50 = 0 THEN :now - g * interval '63 seconds' + interval '1 hour' END,
                   CASE WHEN g % 50 = 0 THEN :account END
            FROM generate_series({first}::bigint, {last}) g"""),
            dict(business=facts["business"], store=store_id, first_member=facts["first_member"],
                 campaign=facts["campaign"], account=facts["account"], now=facts["now"]))

    started = time.perf_counter()
    insert(facts["store_id"], facts["registers"][:2], facts["count"] + 1, count, "P")
    insert(facts["other_id"], facts["registers"][2:], facts["noise"] + 1, noise, "Q")
    facts["count"], facts["noise"] = count, noise
    db.session.commit()
    rows = day_totals.rebuild()
    db.session.commit()
    # As a database that has lived with its rows: vacuumed and analysed, the
    # bulk load's dirty pages written out, so that no autovacuum or
    # checkpoint of the load runs during the measurements.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE)"))
        conn.execute(text("CHECKPOINT"))
    print(f"grown to {count:,} payments of one store (+{noise:,} of another; {rows:,} day totals) "
          f"in {time.perf_counter() - started:.1f} s")


def login(client, code: str) -> None:
    page = client.get("/cms/login").get_data(as_text=True)
    response = client.post("/cms/login", data={"csrf_token": CSRF_RE.search(page).group(1), "kind": "store",
                                               "code": code, "password": PASSWORD})
    assert response.status_code == 303, response.status_code


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def measure(app, client, facts: dict, repeat: int) -> None:
    """Every page and both exports at the current size."""
    today = today_jst()
    month = today.replace(day=1).isoformat()
    year_ago = today.replace(year=today.year - 1).isoformat()
    week_ago = today.fromordinal(today.toordinal() - 6).isoformat()
    pages = [
        ("今月 (default)", "/cms/usage"),
        ("今月, page 20", f"/cms/usage?date_from={month}&date_to={today}&page=20"),
        ("今月 + register", f"/cms/usage?date_from={month}&date_to={today}&register={facts['register']}"),
        ("1 year + member code", f"/cms/usage?date_from={year_ago}&date_to={today}&member_code={facts['member']}"),
        ("今月 + 取消済", f"/cms/usage?date_from={month}&date_to={today}&status=cancelled"),
        ("1 week + amount 1000-2000 + method", f"/cms/usage?date_from={week_ago}&date_to={today}&amount_min=1000&amount_max=2000&method=store_scan"),
        ("all time (totals over every row)", "/cms/usage?date_from=&date_to="),
        ("all time, last page", "/cms/usage?date_from=&date_to=&page=999999"),
        ("日計, 今月", f"/cms/usage/daily?date_from={month}&date_to={today}"),
        ("日計, all time", "/cms/usage/daily?date_from=&date_to="),
    ]
    print(f"\nfiltered page (whole request, median of {repeat}):")
    for label, url in pages:
        with app.app_context():
            client.get(url)  # warm
            seconds, response = timed(lambda url=url: client.get(url), repeat)
        found = re.search(r"全([\d,]+)件中", response.get_data(as_text=True))
        rows = found.group(1) if found else "-"
        print(f"  {label:38} {seconds * 1000:8.1f} ms   matching rows {rows:>9}   status {response.status_code}")

    print("\nCSV export, same rows: the app (streamed, CP932) vs PostgreSQL COPY ... TO STDOUT WITH CSV "
          "(both read as iseca.bulk.copy_csv_records does: JIT off; best of 3 each, alternating)")
    for label, first in [("1 year", today.replace(year=today.year - 1)), ("all time", None)]:
        query = f"date_from={first.isoformat()}&date_to={today}" if first else "date_from=&date_to="
        f = UsageFilter(own_store_id=facts["store_id"], date_from=first, date_to=today if first else None)
        app_seconds = copy_seconds = float("inf")
        for _ in range(3):  # alternating, so that both sides meet the same machine
            with app.app_context():
                started = time.perf_counter()
                response = client.get(f"/cms/usage.csv?{query}", buffered=False)
                size = lines = 0
                for chunk in response.response:
                    size += len(chunk)
                    lines += chunk.count(b"\r\n")
                response.close()
                app_seconds = min(app_seconds, time.perf_counter() - started)
                # The baseline: the rows of the same filter as COPY writes them, nothing else done.
                started = time.perf_counter()
                copied = copy_lines = 0
                for block in copy_csv_records(usage.rows_statement(f)):
                    copied += len(block)
                    copy_lines += bytes(block).count(b"\n")
                copy_seconds = min(copy_seconds, time.perf_counter() - started)
                db.session.rollback()
        rows = lines - 1
        print(f"  {label:9} app  {rows:>9,} rows {app_seconds:7.2f} s {rows / app_seconds:>10,.0f} rows/s {size / 1e6:7.1f} MB"
              f"   {rows / app_seconds / (copy_lines / copy_seconds) * 100:5.1f} % of COPY")
        print(f"  {'':9} COPY {copy_lines:>9,} rows {copy_seconds:7.2f} s {copy_lines / copy_seconds:>10,.0f} rows/s {copied / 1e6:7.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/iseca_bench_history")
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="payments of the store at each measurement, growing")
    parser.add_argument("--noise", type=float, default=0.2, help="payments of another store, per payment of the store")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    sizes = sorted(int(n) for n in args.sizes.split(","))

    fresh_database(args.url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": args.url, "SECRET_KEY": "bench", "ARGON2_TIME_COST": 1,
                      "ARGON2_MEMORY_COST": 1024, "WTF_CSRF_SSL_STRICT": False})
    app.logger.setLevel("WARNING")
    logging.getLogger("iseca.requests").setLevel("WARNING")  # one line per request otherwise
    try:
        with app.app_context():
            upgrade()
            facts = setup()
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = "Basic Z3Vlc3Q6Z3Vlc3Q="  # guest:guest
        with app.app_context():
            login(client, facts["store"])
        for size in sizes:
            load = " ".join(f"{v:.2f}" for v in os.getloadavg())
            print(f"\n=== {size:,} payments (load average {load}) ===")
            with app.app_context():
                grow(facts, size, int(size * args.noise))
            measure(app, client, facts, args.repeat)
    finally:
        finish(app, args.url, args.keep)


if __name__ == "__main__":
    main()
