"""Benchmark of 利用状況一覧 on PostgreSQL: a store with 1,000,000 payments.

Prints the time of filtered pages (the whole request: totals, one page of
rows, the HTML) and the CSV export rate of the app beside PostgreSQL's own
`COPY (the same query) TO STDOUT WITH CSV` on the same data.

    .venv/bin/python bench/history.py                # 1,000,000 payments
    .venv/bin/python bench/history.py --payments 200000 --keep

The database (default postgresql+psycopg://postgres@127.0.0.1:5432/iseca_bench_history)
is created fresh and dropped at the end unless --keep is given.
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import event, text  # noqa: E402

from bench.pgdb import finish, fresh_database  # noqa: E402
from iseca import create_app  # noqa: E402
from iseca.accounts import create_account  # noqa: E402
from iseca.extensions import db  # noqa: E402
from iseca.merchants import create_business, create_register, create_store  # noqa: E402
from iseca.models import AccountKind, Campaign  # noqa: E402
from iseca.timeutil import today_jst  # noqa: E402

PASSWORD = "benchmark passphrase long enough"
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def generate(count: int, noise: int) -> dict:
    """The merchants through the app's own functions; members and payments
    with generate_series (a payment every 63 seconds back from now, 2 % of
    them cancelled an hour later)."""
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
    first_member = db.session.scalar(text("SELECT min(id) FROM members"))

    def insert(store_id, register_ids, how_many, prefix):
        db.session.execute(text(f"""
            INSERT INTO payments (number, business_id, store_id, register_id, member_id, campaign_id, method, amount,
                                  status, created_at, created_by_account_id, cancelled_at, cancelled_by_account_id)
            SELECT '{prefix}' || lpad(g::text, 12, '0'), :business, :store,
                   (ARRAY{register_ids})[1 + g % {len(register_ids)}],
                   :first_member + (g * 7919) % 5000, :campaign,
                   CASE WHEN g % 3 = 0 THEN 'customer_scan' ELSE 'store_scan' END,
                   100 + (g * 37) % 9900,
                   CASE WHEN g % 50 = 0 THEN 'cancelled' ELSE 'completed' END,
                   (now() at time zone 'utc') - g * interval '63 seconds', :account,
                   CASE WHEN g % 50 = 0 THEN (now() at time zone 'utc') - g * interval '63 seconds' + interval '1 hour' END,
                   CASE WHEN g % 50 = 0 THEN :account END
            FROM generate_series(1::bigint, {how_many}) g"""),
            dict(business=business.id, store=store_id, first_member=first_member, campaign=campaign.id,
                 account=account.id))

    started = time.perf_counter()
    insert(store.id, [registers[0].id, registers[1].id], count, "P")
    insert(other.id, [registers[2].id], noise, "Q")
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    print(f"generated {count:,} payments of one store (+{noise:,} of another) in {time.perf_counter() - started:.1f} s")
    return dict(store=store.code, register=registers[1].id, member=str(1000000000 + 1234))


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/iseca_bench_history")
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--noise", type=int, default=200_000, help="payments of another store")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    fresh_database(args.url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": args.url, "SECRET_KEY": "bench", "ARGON2_TIME_COST": 1,
                      "ARGON2_MEMORY_COST": 1024, "WTF_CSRF_SSL_STRICT": False})
    app.logger.setLevel("WARNING")
    try:
        with app.app_context():
            upgrade()
            facts = generate(args.payments, args.noise)
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = "Basic Z3Vlc3Q6Z3Vlc3Q="  # guest:guest
        with app.app_context():
            login(client, facts["store"])

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
            ("日計, 今月", f"/cms/usage/daily?date_from={month}&date_to={today}"),
        ]
        print(f"\nfiltered page (whole request, median of {args.repeat}):")
        for label, url in pages:
            with app.app_context():
                client.get(url)  # warm
                seconds, response = timed(lambda: client.get(url), args.repeat)
            found = re.search(r"全([\d,]+)件中", response.get_data(as_text=True))
            rows = found.group(1) if found else "-"
            print(f"  {label:38} {seconds * 1000:8.1f} ms   matching rows {rows:>9}   status {response.status_code}")

        print("\nCSV export, same rows: the app (streamed, CP932) vs PostgreSQL COPY ... TO STDOUT WITH CSV")
        for label, query in [("1 year", f"date_from={year_ago}&date_to={today}"), ("all time", "date_from=&date_to=")]:
            captured = []
            with app.app_context():
                def capture(conn, cursor, statement, parameters, context, executemany):
                    if "FROM payments JOIN members" in statement:
                        captured.append((statement, parameters))

                event.listen(db.engine, "before_cursor_execute", capture)
                started = time.perf_counter()
                response = client.get(f"/cms/usage.csv?{query}", buffered=False)
                size = lines = 0
                for chunk in response.response:
                    size += len(chunk)
                    lines += chunk.count(b"\r\n")
                response.close()
                app_seconds = time.perf_counter() - started
                event.remove(db.engine, "before_cursor_execute", capture)
                statement, parameters = captured[-1]
                raw = db.engine.raw_connection()
                try:
                    cursor = raw.cursor()
                    started = time.perf_counter()
                    copied = copy_lines = 0
                    with cursor.copy(f"COPY ({statement}) TO STDOUT WITH CSV", parameters) as copy:
                        for block in copy:
                            copied += len(block)
                            copy_lines += bytes(block).count(b"\n")
                    copy_seconds = time.perf_counter() - started
                finally:
                    raw.close()
            rows = lines - 1
            print(f"  {label:9} app  {rows:>9,} rows {app_seconds:7.2f} s {rows / app_seconds:>10,.0f} rows/s {size / 1e6:7.1f} MB")
            print(f"  {'':9} COPY {copy_lines:>9,} rows {copy_seconds:7.2f} s {copy_lines / copy_seconds:>10,.0f} rows/s {copied / 1e6:7.1f} MB")
    finally:
        finish(app, args.url, args.keep)


if __name__ == "__main__":
    main()
