"""利用額明細: the figures of one function, in the PDF (read back with
pdftotext) and the CSV, equal the settlement's."""
from __future__ import annotations

import csv
import datetime as dt
import html as html_lib
import io
import re
import shutil
import subprocess

import pytest
from sqlalchemy import select

from iseca.extensions import db
from iseca.models import AccountKind, Settlement, SettlementPeriod
from iseca.money import cancellation, settlement, statements
from iseca.timeutil import JST
from tests import factories


def jst(*args):
    return dt.datetime(*args, tzinfo=JST)


@pytest.fixture
def settled(app):
    """A business of two stores: payments, a cancellation while open, and
    one after close (an adjustment of the next settlement)."""
    app.config["SETTLEMENT_FEE_RATE_PERMILLE"] = 15
    business = factories.make_business(name="有限会社あさひ", bank_code="0001", branch_code="001",
                                       account_number="1234567", account_holder_kana="ﾕ)ｱｻﾋ")
    first, second = factories.make_store(business, name="あさひ本店"), factories.make_store(business, name="あさひ駅前店")
    member, _ = factories.make_card_member(1_000_000)
    actor = factories.account_of(AccountKind.STORE, first.code)
    old = factories.make_payment_at(first.registers[0], member, 7_000, jst(2025, 1, 10, 9))
    row = db.session.scalar(select(SettlementPeriod).where(SettlementPeriod.starts_on == dt.date(2025, 1, 1)))
    settlement.close_period(row, at=jst(2025, 1, 16, 1))
    db.session.commit()
    paid = [factories.make_payment_at(store.registers[0], member, amount, jst(2025, 1, 20, 10, minute))
            for minute, (store, amount) in enumerate([(first, 1_234), (first, 5_000), (second, 20_000)])]
    cancellation.cancel_payment(paid[1], actor=actor, at=jst(2025, 1, 21, 12))
    cancellation.cancel_payment(old, actor=actor, at=jst(2025, 1, 22, 12))
    db.session.commit()
    period = db.session.scalar(select(SettlementPeriod).where(SettlementPeriod.starts_on == dt.date(2025, 1, 16)))
    settlement.close_period(period, at=jst(2025, 2, 1, 1))
    period.transfer_date = dt.date(2025, 2, 20)
    db.session.commit()
    return db.session.scalar(select(Settlement).where(Settlement.period_id == period.id)), first


def test_statement_figures_add_up_to_the_settlement(settled):
    row, first = settled
    st = statements.statement(row)
    assert (st.payments, st.cancellations, st.adjustments, st.fee, st.amount) == (26_234, 5_000, -7_000, 213, 14_021)
    assert (row.payments_total, row.cancellations_total, row.adjustments_total, row.fee, row.amount) == (26_234, 5_000, -7_000, 213, 14_021)
    assert sum(line.amount for line in st.lines) - st.fee == st.amount
    assert [(s.name, s.payments, s.cancellations, s.adjustments) for s in st.stores] == [
        ("あさひ本店", 6_234, 5_000, -7_000), ("あさひ駅前店", 20_000, 0, 0)]
    assert st.transfer_date_text == "令和7年2月20日" and st.status == "振込予定"
    share = statements.statement(row, store_id=first.id)
    assert (share.payments, share.cancellations, share.adjustments, share.amount) == (6_234, 5_000, -7_000, -5_766)
    assert {line.store_name for line in share.lines} == {"あさひ本店"}


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_the_pdf_reads_back_with_the_same_figures(settled, tmp_path):
    row, _ = settled
    st = statements.statement(row)
    path = tmp_path / "meisai.pdf"
    path.write_bytes(statements.statement_pdf(st))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    for name, value in statements.summary_rows(st):
        assert re.search(rf"{re.escape(name)}\s+{re.escape(statements.yen(value))}", text), (name, value)
    assert "振込金額" in text and "14,021円" in text
    assert "有限会社あさひ" in text and "令和7年1月16日から31日まで" in text and "他)ジムカンカ" in text
    assert "****567" in text and "1234567" not in text
    assert "精算済み期間の決済の取消" in text  # the adjustment's reason
    assert len(re.findall(r"^\s*決済\s", text, re.M)) == 3 and len(re.findall(r"^\s*取消\s", text, re.M)) == 1
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert "IPAexGothic" in fonts and " yes " in fonts  # embedded


def test_the_csv_has_every_line_and_the_same_figures(settled):
    row, _ = settled
    st = statements.statement(row)
    rows = list(csv.reader(io.StringIO(statements.statement_csv(st).decode("cp932"))))
    assert rows[0] == statements.CSV_HEADER
    body = {r[0]: int(r[5]) for r in rows[1:] if r[0] in dict(statements.summary_rows(st))}
    assert body == dict(statements.summary_rows(st))
    assert [r[0] for r in rows[1:6]] == ["決済", "決済", "決済", "取消", "調整"]
    assert statements.statement_csv(st, "utf-8").startswith(b"\xef\xbb\xbf")


BBOX_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')
BBOX_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.S)


def _pages(pdf: bytes, tmp_path) -> list[tuple[float, float, list[tuple[float, float, float, float, str]]]]:
    """Each page's size and words with their boxes, as pdftotext -bbox reads them."""
    path = tmp_path / "meisai.pdf"
    path.write_bytes(pdf)
    html = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return [(float(w), float(h), [(float(a), float(b), float(c), float(d), html_lib.unescape(t))
                                  for a, b, c, d, t in BBOX_WORD.findall(body)])
            for w, h, body in BBOX_PAGE.findall(html)]


def _columns_hold_their_words(page_words, headers: list[str], stop: str) -> int:
    """On a page, under the line of `headers` (each column's heading, its
    first word), every word stays left of the next column's heading (less
    the cell's padding) down to the word `stop`; returns the words checked."""
    firsts = [h.split()[0] for h in headers]
    lines: dict[float, list] = {}
    for word in page_words:
        lines.setdefault(round(word[1]), []).append(word)


    def heading_starts(words) -> list[float]:
        starts: list[float] = []
        for x_min, _, _, _, text in sorted(words):
            if len(starts) < len(firsts) and text == firsts[len(starts)]:
                starts.append(x_min)
        return starts

    header_y = next((y for y, words in sorted(lines.items()) if len(heading_starts(words)) == len(firsts)), None)
    if header_y is None:
        return 0
    starts = heading_starts(lines[header_y])
    stop_y = min((w[1] for w in page_words if w[4].startswith(stop) and w[1] > header_y), default=float("inf"))
    checked = 0
    for x_min, y_min, x_max, _, text in page_words:
        if y_min <= header_y + 1 or y_min >= stop_y - 1:
            continue
        column = max(i for i, start in enumerate(starts) if start <= x_min + 0.5) if x_min + 0.5 >= starts[0] else 0
        if column + 1 < len(starts):
            assert x_max <= starts[column + 1] - 6, (text, headers[column], "runs into", headers[column + 1])
        checked += 1
    return checked


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_the_pdf_embeds_every_font_and_keeps_each_column_inside_its_cell(app, settled, tmp_path, lang):
    row, _ = settled
    from flask_babel import gettext, pgettext

    # As the management site makes it for a reader of `lang` (the words of its catalogue).
    with app.test_request_context("/cms/settlements", headers={"Cookie": f"lang={lang}"}):
        st = statements.statement(row)
        pdf = statements.statement_pdf(st)
        detail = [gettext("区分"), gettext("日時"), gettext("取引番号"), pgettext("column", "店舗"), gettext("内容"),
                  gettext("金額")]
        per_store = [gettext(w) for w in ("店舗コード", "店舗名", "決済件数", "決済額", "取消件数", "取消額", "調整額")]
        footnote = gettext("書面による振込通知書の送付は行いません。日時は日本時間です。").split()[0]
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), fonts  # emb column: every font embedded
    pages = _pages(pdf, tmp_path)
    for width, height, words in pages:
        for x_min, y_min, x_max, y_max, text in words:
            assert 0 <= x_min and x_max <= width and 0 <= y_min and y_max <= height, text
    checked = sum(_columns_hold_their_words(words, detail, footnote) for _, _, words in pages)
    assert checked >= len(st.lines) * 4  # every line's kind, date, number, amount at least
    assert sum(_columns_hold_their_words(words, per_store, detail[0]) for _, _, words in pages) >= len(st.stores) * 6
