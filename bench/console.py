"""Benchmark of the counter console's front page (窓口TOP) on PostgreSQL:
1,000,000 payments over 2,000 stores (a payment every 63 seconds back from
now, about two years; 2 % cancelled an hour later), 5,000 members holding
points of three campaigns, 20,000 grants.

Prints the server time of the whole request (today's actions, every figure
and chart, the HTML; median of --repeat) for the default 30 days, a quarter
and the longest range the page takes (366 days), and each figure's own SQL.

    .venv/bin/python bench/console.py                     # 1,000,000 payments, 2,000 stores
    .venv/bin/python bench/console.py --payments 200000 --keep

The database (default postgresql+psycopg://postgres@127.0.0.1:5432/iseca_bench_console)
is created fresh and dropped at the end unless --keep is given.
"""
from __future__ import annotations

import argparse
import datetime as dt
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import event, text  # noqa: E402

from bench.pgdb import finish, fresh_database  # noqa: E402
from iseca import create_app
from iseca.accounts import create_account  # noqa: E402
from iseca.city import figures  # noqa: E402
from iseca.extensions import db  # noqa: E402
from iseca.labels import STORE_AREA, STORE_CATEGORY  # noqa: E402
from iseca.models import AccountKind  # noqa: E402
from iseca.money import day_totals
from iseca.timeutil import today_jst  # noqa: E402

PASSWORD = "benchmark passphrase long enough"
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
MEMBERS = 5_000


def generate(payments: int, stores: int) -> None:
    """Businesses (4 stores each), stores with a 業種 and 地区, one register
    each, members, campaigns, grants and payments, all with generate_series."""
    today = today_jst()
    categories = "ARRAY[" + ",".join(f"'{c}'" for c in STORE_CATEGORY) + "]"
    areas = "ARRAY[" + ",".join(f"'{a}'" for a in STORE_AREA) + "]"
    businesses = (stores + 3) // 4
    started = time.perf_counter()
    run = lambda sql, **p: db.session.execute(text(sql), p)  # noqa: E731
    run(f"""INSERT INTO businesses (code, name, name_kana, representative, postal_code, address, phone, email,
                                    bank_code, branch_code, account_type, account_number, account_holder_kana,
                                    status, created_at, updated_at)
            SELECT 'B' || lpad(g::text, 5, '0'), '事業者' || g, 'ジギョウシャ', '代表 太郎', '372-8501',
                   '群馬県伊勢崎市今泉町2-410', '0270-24-5111', 'b' || g || '@example.jp',
                   '0001', '001', '1', lpad(g::text, 7, '0'), 'ｼﾞｷﾞｮｳｼｬ', 'active', now() at time zone 'utc', now() at time zone 'utc'
            FROM generate_series(1, {businesses}) g""")
    run(f"""INSERT INTO stores (business_id, code, name, name_kana, category, area, postal_code, address, phone,
                                hours, holidays_text, website, description, status, confirm_before_charge,
                                published_at, created_at, updated_at)
            SELECT (SELECT min(id) FROM businesses) + (g - 1) / 4, 'S' || lpad(g::text, 5, '0'), '店舗' || g, 'テンポ',
                   ({categories})[1 + g % {len(STORE_CATEGORY)}], ({areas})[1 + g % {len(STORE_AREA)}], '372-0042',
                   '群馬県伊勢崎市中央町1-1', '0270-11-0000', '9:00〜18:00', '', '', '', 'active', false,
                   CASE WHEN g % 10 = 0 THEN NULL ELSE now() at time zone 'utc' END, now() at time zone 'utc',
                   now() at time zone 'utc'
            FROM generate_series(1, {stores}) g""")
    run("""INSERT INTO registers (store_id, name, qr_token, qr_issued_at, created_at)
           SELECT id, 'レジ1', md5(random()::text || id), now() at time zone 'utc', now() at time zone 'utc' FROM stores""")
    run(f"""INSERT INTO members (code, kind, name, email, status, qr_secret, created_at)
            SELECT (1000000000 + g)::text, 'card', '', '', 'active', '', now() at time zone 'utc'
            FROM generate_series(1, {MEMBERS}) g""")
    for name, starts, ends in [
        ("2025年度", today.replace(year=today.year - 2), today + dt.timedelta(days=20)),
        ("2026年度", today.replace(year=today.year - 1), today.replace(year=today.year + 1)),
        ("子育て応援", today - dt.timedelta(days=200), today + dt.timedelta(days=100)),
    ]:
        run("INSERT INTO campaigns (name, starts_on, ends_on, created_at) VALUES (:n, :s, :e, now() at time zone 'utc')",
            n=name, s=starts, e=ends)
    # Members' points per campaign (balances) and the grants that made them.
    run("""INSERT INTO ledger_accounts (kind, member_id, campaign_id, balance, created_at)
           SELECT 'member', m.id, c.id, 1000 + (m.id * 13 + c.id * 7) % 9000, now() at time zone 'utc'
           FROM members m CROSS JOIN campaigns c""")
    run("INSERT INTO ledger_accounts (kind, balance, created_at) VALUES ('issuer', 0, now() at time zone 'utc')")
    run("""INSERT INTO ledger_transactions (kind, created_at, memo)
           SELECT CASE WHEN g % 5 = 0 THEN 'charge' ELSE 'grant' END,
                  (now() at time zone 'utc') - g * interval '50 minutes', 'bench'
           FROM generate_series(1, 20000) g""")
    run("""INSERT INTO ledger_entries (transaction_id, account_id, amount)
           SELECT t.id, a.id, 3000 FROM ledger_transactions t
           JOIN ledger_accounts a ON a.id = (SELECT min(id) FROM ledger_accounts) + t.id % (3 * :members)""",
        members=MEMBERS)
    run("""INSERT INTO ledger_entries (transaction_id, account_id, amount)
           SELECT t.id, (SELECT id FROM ledger_accounts WHERE kind = 'issuer'), -3000 FROM ledger_transactions t""")
    run(f"""INSERT INTO payments (number, business_id, store_id, register_id, member_id, campaign_id, method, amount,
                                  status, created_at, cancelled_at)
            SELECT 'P' || lpad(g::text, 12, '0'), s.business_id, s.id, r.id,
                   (SELECT min(id) FROM members) + (g * 7919) % {MEMBERS}, (SELECT min(id) FROM campaigns) + g % 3,
                   CASE WHEN g % 3 = 0 THEN 'customer_scan' ELSE 'store_scan' END,
                   100 + (g * 37) % 9900,
                   CASE WHEN g % 50 = 0 THEN 'cancelled' ELSE 'completed' END,
                   (now() at time zone 'utc') - g * interval '63 seconds',
                   CASE WHEN g % 50 = 0 THEN (now() at time zone 'utc') - g * interval '63 seconds' + interval '1 hour' END
            FROM generate_series(1::bigint, {payments}) g
            JOIN stores s ON s.id = (SELECT min(id) FROM stores) + ((g * 104729) % {stores})
            JOIN registers r ON r.store_id = s.id""")
    # The per-day totals the app keeps with every payment, written here for the generated ones.
    day_totals.rebuild()
    # The settlement periods of the last two years and the next (open) ones.
    first = today.replace(year=today.year - 2, day=1)
    day = first
    while day <= today + dt.timedelta(days=31):
        for starts, ends in ((day, day.replace(day=15)),
                             (day.replace(day=16), (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1))):
            closed = ends < today - dt.timedelta(days=1)
            run("INSERT INTO settlement_periods (starts_on, ends_on, transfer_date, status) VALUES (:s, :e, :t, :st)",
                s=starts, e=ends, t=ends + dt.timedelta(days=19) if ends < today + dt.timedelta(days=16) else None,
                st="closed" if closed else "open")
        day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    db.session.commit()
    # As autovacuum leaves a table of this age: statistics and the visibility map
    # (without it an index-only scan still reads every row from the table).
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    print(f"generated {payments:,} payments over {stores:,} stores, {MEMBERS:,} members, 20,000 grants "
          f"in {time.perf_counter() - started:.1f} s")


def login(client) -> None:
    page = client.get("/counter/login").get_data(as_text=True)
    response = client.post("/counter/login", data={"csrf_token": CSRF_RE.search(page).group(1), "code": "bench-staff",
                                                   "password": PASSWORD})
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
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/iseca_bench_console")
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--stores", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    fresh_database(args.url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": args.url, "SECRET_KEY": "bench", "ARGON2_TIME_COST": 1,
                      "ARGON2_MEMORY_COST": 1024, "WTF_CSRF_SSL_STRICT": False, "REQUEST_LOG": False})
    app.logger.setLevel("WARNING")
    try:
        with app.app_context():
            upgrade()
            generate(args.payments, args.stores)
            create_account(AccountKind.STAFF, "bench-staff", password=PASSWORD, initial=False, name="ベンチ")
            db.session.commit()
        client = app.test_client()
        with app.app_context():
            login(client)

        today = today_jst()
        ranges = [
            ("30 days (default)", None),
            ("90 days", today - dt.timedelta(days=89)),
            ("366 days (the longest)", today - dt.timedelta(days=365)),
        ]
        print(f"\n窓口TOP, whole request (server time, median of {args.repeat}):")
        for label, first in ranges:
            url = "/counter/" if first is None else f"/counter/?date_from={first}&date_to={today}"
            with app.app_context():
                client.get(url)  # warm
                seconds, response = timed(lambda url=url: client.get(url), args.repeat)
            assert response.status_code == 200, response.status_code
            print(f"  {label:26} {seconds * 1000:8.1f} ms")

        print(f"\neach figure's SQL, 366 days (median of {args.repeat}):")
        with app.app_context():
            statements: list[tuple[str, float]] = []

            def before(conn, cursor, statement, parameters, context, executemany):
                conn.info["started"] = time.perf_counter()

            def after(conn, cursor, statement, parameters, context, executemany):
                statements.append((statement, time.perf_counter() - conn.info.pop("started")))

            event.listen(db.engine, "before_cursor_execute", before)
            event.listen(db.engine, "after_cursor_execute", after)
            runs = []
            for _ in range(args.repeat):
                statements.clear()
                figures.city_figures(today - dt.timedelta(days=365), today)
                figures.actions_today()
                runs.append(list(statements))
                db.session.rollback()
            event.remove(db.engine, "before_cursor_execute", before)
            event.remove(db.engine, "after_cursor_execute", after)
            for i, (statement, _) in enumerate(runs[0]):
                median = statistics.median(run[i][1] for run in runs)
                words = re.sub(r"\s+", " ", statement)
                print(f"  {median * 1000:8.1f} ms  {words[:110]}")
    finally:
        finish(app, args.url, args.keep)


if __name__ == "__main__":
    main()
