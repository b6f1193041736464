"""Benchmark of 精算 on PostgreSQL: closing a period of 1,000,000 payments
over 2,000 stores (one per business), beside one SQL GROUP BY over the same
rows on the same database, and the 総合振込 export for 2,000 businesses.

    .venv/bin/python bench/settlement.py                 # 1,000,000 payments, 2,000 stores
    .venv/bin/python bench/settlement.py --payments 200000 --stores 500 --keep

The database (default postgresql+psycopg://postgres@127.0.0.1:5432/iseca_bench_settlement)
is created fresh and dropped at the end unless --keep is given. The goal is a
close within 3× the GROUP BY.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from bench.pgdb import finish, fresh_database  # noqa: E402
from iseca import create_app
from iseca.extensions import db  # noqa: E402
from iseca.merchants.records import create_business, create_register, create_store  # noqa: E402
from iseca.models import Campaign, LedgerTransactionKind, Settlement, SettlementPeriod  # noqa: E402
from iseca.money import ledger, periods, settlement, zengin  # noqa: E402
from iseca.timeutil import JST  # noqa: E402

PERIOD_START = dt.date(2025, 2, 16)
GROUP_BY = """
    SELECT business_id, store_id, sum(amount),
           sum(CASE WHEN cancel_period_id = :period THEN amount ELSE 0 END)
    FROM payments WHERE period_id = :period GROUP BY business_id, store_id"""


def generate(payments: int, stores: int) -> int:
    """Businesses, stores and registers through the app's own functions;
    members and payments with generate_series (about 2 % cancelled in the period);
    the stores' ledger accounts hold what they were paid, so the books balance."""
    started = time.perf_counter()
    registers = []
    for n in range(stores):
        business = create_business(name=f"ベンチ事業者{n}", email=f"bench{n}@example.jp", bank_code="0001",
                                   branch_code="001", account_number=f"{n + 1:07d}", account_holder_kana=f"ﾍﾞﾝﾁ {n}")
        registers.append(create_register(create_store(business, name=f"ベンチ店舗{n}")))
    db.session.add(Campaign(name="ベンチ", starts_on=dt.date(2024, 1, 1), ends_on=dt.date(2030, 12, 31)))
    period_id = periods.period_id(PERIOD_START)
    db.session.commit()
    db.session.execute(text(
        "INSERT INTO members (code, kind, name, email, status, qr_secret, created_at) "
        "SELECT (1000000000 + g)::text, 'card', '', '', 'active', '', now() at time zone 'utc' "
        "FROM generate_series(1, 5000) g"))
    first_member = db.session.scalar(text("SELECT min(id) FROM members"))
    first_register = min(r.id for r in registers)
    start = dt.datetime.combine(PERIOD_START, dt.time(), JST).astimezone(dt.UTC).replace(tzinfo=None)
    seconds = 13 * 24 * 3600
    db.session.execute(text(f"""
        INSERT INTO payments (number, business_id, store_id, register_id, member_id, method, amount, status,
                              created_at, period_id, cancelled_at, cancel_period_id)
        SELECT 'B' || lpad(g::text, 12, '0'), r.business_id, r.store_id, r.id,
               :first_member + (g * 7919) % 5000, 'store_scan', 100 + (g * 37) % 9900,
               CASE WHEN g % 47 = 0 THEN 'cancelled' ELSE 'completed' END,
               :start + (g % {seconds}) * interval '1 second', :period,
               CASE WHEN g % 47 = 0 THEN :start + (g % {seconds}) * interval '1 second' + interval '1 hour' END,
               CASE WHEN g % 47 = 0 THEN :period END
        FROM generate_series(1::bigint, {payments}) g
        JOIN (SELECT registers.id, registers.store_id, stores.business_id, row_number() OVER (ORDER BY registers.id) - 1 AS k
              FROM registers JOIN stores ON stores.id = registers.store_id) r ON r.k = g % {stores}"""),
        dict(first_member=first_member, start=start, period=period_id))
    # What the stores hold, as one balanced ledger transaction (issuer → stores).
    held = db.session.execute(text(
        "SELECT store_id, sum(CASE WHEN status = 'completed' THEN amount ELSE 0 END) FROM payments GROUP BY store_id")).all()
    movements = [(ledger.store_account(store_id), int(amount)) for store_id, amount in held if amount]
    movements.append((ledger.issuer_account(), -sum(a for _, a in movements)))
    ledger.post_many(LedgerTransactionKind.GRANT, [movements], memo="benchmark: the stores' takings")
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    assert first_register
    print(f"generated {payments:,} payments over {stores:,} stores in {time.perf_counter() - started:.1f} s")
    return period_id


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/iseca_bench_settlement")
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--stores", type=int, default=2_000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    fresh_database(args.url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": args.url, "SECRET_KEY": "bench"})
    app.logger.setLevel("WARNING")
    try:
        with app.app_context():
            upgrade()
            period_id = generate(args.payments, args.stores)
            group_by = []
            for _ in range(3):
                seconds, rows = timed(lambda: db.session.execute(text(GROUP_BY), {"period": period_id}).all())
                group_by.append(seconds)
                db.session.rollback()
            period = db.session.get(SettlementPeriod, period_id)
            close_seconds, outcome = timed(lambda: settlement.close_period(
                period, at=dt.datetime(2025, 3, 1, 1, tzinfo=JST), actor_label="bench"))
            commit_seconds, _ = timed(db.session.commit)
            problems = ledger.verify_books()
            best = min(group_by)
            print(f"\nGROUP BY over the period's payments: {best * 1000:8.1f} ms (best of 3; {len(rows):,} groups)")
            print(f"close_period:                        {close_seconds * 1000:8.1f} ms + commit {commit_seconds * 1000:.1f} ms"
                  f"   ({outcome.settlements:,} settlements, {outcome.total:,} yen)")
            print(f"ratio close / GROUP BY:              {(close_seconds + commit_seconds) / best:8.2f}×   (goal ≤ 3×)")
            print(f"books after closing:                 {'balance' if not problems else problems[:3]}")

            period = db.session.get(SettlementPeriod, period_id)
            period.transfer_date = dt.date(2025, 3, 19)
            db.session.commit()
            prepare_seconds, prepared = timed(lambda: zengin.prepare_transfers(period))
            db.session.commit()
            file_seconds, data = timed(lambda: zengin.transfer_file(period))
            again_seconds, again = timed(lambda: zengin.transfer_file(period))
            csv_seconds, csv_data = timed(lambda: zengin.transfer_csv(period))
            count = db.session.scalar(select(func.count()).select_from(Settlement).where(Settlement.period_id == period_id))
            print(f"\n総合振込 for {count:,} businesses:")
            print(f"  prepare (bank snapshots):          {prepare_seconds * 1000:8.1f} ms   ({prepared.ready:,} ready, {len(prepared.left_out)} left out)")
            print(f"  Zengin file:                       {file_seconds * 1000:8.1f} ms   ({len(data):,} bytes; again {again_seconds * 1000:.1f} ms, same: {data == again})")
            print(f"  readable CSV:                      {csv_seconds * 1000:8.1f} ms   ({len(csv_data):,} bytes)")
    finally:
        finish(app, args.url, args.keep)


if __name__ == "__main__":
    main()
