"""Figures for onboarding: the public 「使えるお店」 search over many stores,
and the approval of an application (accounts with production argon2 costs).

    .venv/bin/python bench/onboarding.py [--stores 5000] [--database-url URL]

Runs on a scratch SQLite file unless a database URL is given; prints
milliseconds per request (median and 95th percentile)."""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402

from iseca import create_app
from iseca.accounts import create_account  # noqa: E402
from iseca.extensions import db  # noqa: E402
from iseca.labels import STORE_AREA, STORE_CATEGORY  # noqa: E402
from iseca.merchants import onboarding  # noqa: E402
from iseca.merchants.records import create_business, create_store  # noqa: E402
from iseca.models import AccountKind, utcnow  # noqa: E402


def timed(fn, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stores", type=int, default=5000)
    parser.add_argument("--database-url")
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "MAIL_SERVER": None,
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        now = utcnow()
        for b in range(args.stores // 5):
            business = create_business(name=f"事業者{b}", email=f"b{b}@example.jp")
            for s in range(5):
                n = b * 5 + s
                create_store(business, name=f"お店{n:05d}", name_kana=f"オミセ{n:05d}",
                             category=list(STORE_CATEGORY)[n % len(STORE_CATEGORY)],
                             area=list(STORE_AREA)[n % len(STORE_AREA)], address="群馬県伊勢崎市今泉町2-410",
                             hours="9:00〜18:00", published_at=now if n % 4 else None)
        db.session.commit()
        client = app.test_client()
        print(f"「使えるお店」 over {args.stores} stores ({args.stores * 3 // 4} published), {db.engine.dialect.name}:")
        for label, path in [
            ("list, page 1", "/stores"),
            ("list, page 50", "/stores?page=50"),
            ("search by name", "/stores?q=お店0123"),
            ("category + area", f"/stores?category={list(STORE_CATEGORY)[2]}&area={list(STORE_AREA)[1]}"),
            ("htmx fragment", "/stores?q=オミセ01"),
        ]:
            headers = {"HX-Request": "true"} if label.startswith("htmx") else {}
            median, p95 = timed(lambda path=path, headers=headers: client.get(path, headers=headers), args.repeat)
            print(f"  {label:18} median {median:6.1f} ms   p95 {p95:6.1f} ms")

        data = {
            "business": {"name": "ベンチ事業者", "email": "bench@example.jp"},
            "bank": {"bank_code": "0001", "branch_code": "001", "account_type": "1", "account_number": "1234567",
                     "account_holder_kana": "ﾍﾞﾝﾁ"},
            "stores": [{"name": f"ベンチ店{i}"} for i in range(5)], "eligibility": onboarding.ELIGIBILITY, "agreed": True,
        }
        staff, _ = create_account(AccountKind.STAFF, "bench-staff", password="bench staff password")
        samples = []
        for _ in range(5):
            application, _ = onboarding.submit_application(data)
            db.session.commit()
            start = time.perf_counter()
            onboarding.approve_application(application, staff)
            db.session.commit()
            samples.append((time.perf_counter() - start) * 1000)
        print(f"approval of an application with 5 stores (6 accounts, argon2id {app.config['ARGON2_MEMORY_COST']} KiB):"
              f" median {statistics.median(samples):.0f} ms")


if __name__ == "__main__":
    main()
