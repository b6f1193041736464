"""How long the store QR outputs take: the PNG, one 掲示用QRコード台紙 and the
counter's bulk PDF for the kit hand-over. Prints figures; asserts nothing.

    .venv/bin/python bench/qr_sheets.py [registers=300]
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402

from iseca import (
    create_app,
    pdffonts,  # noqa: E402
)
from iseca.extensions import db  # noqa: E402
from iseca.merchants import qr  # noqa: E402
from iseca.merchants.records import create_business, create_register, create_store  # noqa: E402


def timed(fn, repeat: int = 5) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3",
                          "PUBLIC_BASE_URL": "https://iseca.example.jp"})
        with app.app_context():
            upgrade()
            business = create_business(name="ベンチ事業者")
            registers = []
            for i in range(count):
                store = create_store(business, name=f"伊勢崎ベンチマーク商店{i + 1}号店")
                registers.append(create_register(store, "レジ1"))
            db.session.commit()
            one = registers[0]

            t, png = timed(lambda: qr.register_qr_png(one))
            print(f"PNG (画像形式でダウンロード): {t * 1000:.1f} ms, {len(png):,} bytes")
            t, svg = timed(lambda: qr.qr_svg(qr.register_pay_url(one)))
            print(f"SVG for the QR page:         {t * 1000:.1f} ms, {len(svg):,} bytes")
            pdffonts.japanese_font()  # first registration parses the TTF once per process
            t, pdf = timed(lambda: qr.qr_sheets_pdf([one]))
            print(f"PDF, 1 sheet:                {t * 1000:.1f} ms, {len(pdf):,} bytes")
            t, pdf = timed(lambda: qr.qr_sheets_pdf(qr.registers_for_sheets([r.store_id for r in registers])), repeat=3)
            print(f"PDF, {count} sheets (counter):  {t:.2f} s, {len(pdf):,} bytes "
                  f"({t / count * 1000:.1f} ms and {len(pdf) // count:,} bytes a page)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
