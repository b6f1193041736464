"""精算 on the management site and the terminal: a business sees its
settlements and 利用額明細, a store its own store's share, nobody another
business's; the page's figures are the PDF's."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from iseca.extensions import db
from iseca.models import AccountKind, Payment, Settlement, SettlementPeriod, SettlementStatus
from iseca.money import cancellation, settlement
from iseca.timeutil import JST
from tests import factories
from tests.support.client import login

GUIDE_TABLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "transfer-schedule.csv"


def jst(*args):
    return dt.datetime(*args, tzinfo=JST)


@pytest.fixture
def settled(app):
    business = factories.make_business(name="ひまわり商店", bank_code="0001", branch_code="001",
                                       account_number="1234567", account_holder_kana="ﾋﾏﾜﾘｼﾖｳﾃﾝ")
    main, station = factories.make_store(business, name="ひまわり本店"), factories.make_store(business, name="ひまわり駅前店")
    other = factories.make_store(factories.make_business(name="よその店"))
    member, _ = factories.make_card_member(1_000_000)
    paid = [factories.make_payment_at(s.registers[0], member, a, jst(2025, 2, 20, 10, i))
            for i, (s, a) in enumerate([(main, 3_000), (main, 1_500), (station, 8_800), (other, 999)])]
    cancellation.cancel_payment(paid[1], actor=factories.account_of(AccountKind.STORE, main.code), at=jst(2025, 2, 21, 9))
    db.session.commit()
    period = db.session.scalar(select(SettlementPeriod).where(SettlementPeriod.starts_on == dt.date(2025, 2, 16)))
    settlement.close_period(period, at=jst(2025, 3, 1, 1))
    period.transfer_date = dt.date(2025, 3, 19)
    db.session.commit()
    # Still open: the next period, 集計中.
    factories.make_payment_at(main.registers[0], member, 700, jst(2025, 3, 3, 10))
    rows = {s.business_id: s for s in db.session.scalars(select(Settlement))}
    return business, main, station, other, rows[business.id], rows[other.business_id]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_business_sees_each_period_with_its_figures_status_and_masked_account(client, settled):
    business, main, station, other, mine, _ = settled
    assert login(client, business.code, factories.PASSWORD, kind="business").status_code == 303
    page = _text(client.get("/cms/settlements").get_data(as_text=True))
    assert "精算金額の確認" in page
    assert "令和7年2月16日から28日まで 振込予定 13,300円 -1,500円 0円 0円 11,800円 令和7年3月19日 みずほ（0001） 東京営業部（001） 普通 ****567" in page
    assert "令和7年3月1日から15日まで 集計中 700円" in page
    assert "****567" in page and "1234567" not in page
    assert "振込人名義は「他)ジムカンカ」です" in page and "書面による振込通知書の送付は行いません" in page
    assert "よその店" not in page


def test_a_store_sees_its_own_share_read_only(client, settled):
    business, main, station, other, mine, _ = settled
    assert login(client, station.code, factories.PASSWORD).status_code == 303
    page = _text(client.get("/cms/settlements").get_data(as_text=True))
    assert "店舗分" in page and "8,800円" in page and "3,000円" not in page
    detail = _text(client.get(f"/cms/settlements/{mine.id}").get_data(as_text=True))
    assert "ひまわり駅前店 分" in detail and "ひまわり本店" not in detail
    main_part = client.get("/cms/settlements").get_data(as_text=True).split("<main", 1)[1].split("</main>")[0]
    assert "<form" not in main_part and 'method="post"' not in main_part


@pytest.mark.parametrize("suffix", ["", "/meisai.pdf", "/meisai.csv"])
def test_another_business_settlement_is_not_found(client, settled, suffix):
    business, *_, theirs = settled
    login(client, business.code, factories.PASSWORD, kind="business")
    assert client.get(f"/cms/settlements/{theirs.id}{suffix}").status_code == 404
    assert client.get(f"/cms/settlements/999999{suffix}").status_code == 404


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_the_statement_page_pdf_and_csv_show_the_same_figures(client, settled, tmp_path):
    business, *_ , mine, _ = settled
    login(client, business.code, factories.PASSWORD, kind="business")
    html = client.get(f"/cms/settlements/{mine.id}").get_data(as_text=True)
    table = html.split('id="statement-figures"', 1)[1].split("</table>", 1)[0]
    on_page = re.findall(r"<th>([^<]+)</th><td class=\"num\">([^<]+)</td>", table)
    assert dict(on_page)["振込金額"] == "11,800円" and len(on_page) == 5

    pdf = client.get(f"/cms/settlements/{mine.id}/meisai.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    path = tmp_path / "meisai.pdf"
    path.write_bytes(pdf.data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    for name, value in on_page:
        assert re.search(rf"{re.escape(name)}\s+{re.escape(value)}", text), (name, value)

    csv_resp = client.get(f"/cms/settlements/{mine.id}/meisai.csv")
    rows = list(csv.reader(io.StringIO(csv_resp.data.decode("cp932"))))
    in_csv = {r[0]: f"{int(r[5]):,}円" for r in rows if r[0] in dict(on_page)}
    assert in_csv == dict(on_page)
    assert "attachment" in csv_resp.headers["Content-Disposition"]


def test_the_terminal_shows_the_stores_share_in_its_phone_layout(client, settled):
    business, main, *_ , mine, _ = settled
    login(client, main.code, factories.PASSWORD, area="terminal", kind=None)
    page = _text(client.get("/terminal/settlements").get_data(as_text=True))
    assert "令和7年2月16日から28日まで 振込予定 店舗分 3,000円" in page
    assert "利用額明細は「加盟店アプリ」または「管理サイト（CMS）」でご確認ください" in page
    assert client.get(f"/terminal/settlements/{mine.id}/meisai.pdf").status_code == 200


def test_the_guides_schedule_shows_on_the_merchants_page(client, runner, settled):
    if not GUIDE_TABLE.exists():  # pragma: no cover
        pytest.skip("the guide's table is not beside the repository")
    assert runner.invoke(args=["settlement", "import-schedule", str(GUIDE_TABLE)]).exit_code == 0
    business = settled[0]
    login(client, business.code, factories.PASSWORD, kind="business")
    html = client.get("/cms/settlements").get_data(as_text=True)
    table = html.split('class="table schedule"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>.*?</tr>", table, re.S)
    with GUIDE_TABLE.open(encoding="utf-8") as f:
        guide = list(csv.DictReader(f))
    for row in guide:
        assert row["period_text"] in table and row["transfer_text"] in table if row["transfer_date"] else True
    assert sum("未定" in r for r in rows) == 2
    assert sum(bool(re.search(r"令和\d+年\d+月\d+日</span></td>", r)) for r in rows) == 23  # one way, as the guide


@pytest.mark.parametrize("lang, shown, not_shown", [
    ("ja", "令和7年3月21日", ["2025-03-21", "2025/03/21", "Mar 21, 2025"]),
    ("en", "Mar 21, 2025", ["2025-03-21", "2025/03/21", "令和7年3月21日"]),
])
def test_the_transfer_day_reads_the_same_on_every_page_that_shows_it(client, staff_client, settled, lang, shown,
                                                                      not_shown):
    """振込日: 和暦 in Japanese as the guide writes it, the locale's date in
    English, alike on 精算金額の確認, the 利用額明細 and the counter's 加盟店詳細."""
    business, main, station, other, mine, _ = settled
    mine.status = SettlementStatus.TRANSFERRED
    mine.transferred_at = jst(2025, 3, 21, 9)
    db.session.commit()
    assert login(client, business.code, factories.PASSWORD, kind="business").status_code == 303
    pages = {}
    for who, url in ((client, "/cms/settlements"), (client, f"/cms/settlements/{mine.id}"),
                     (staff_client, f"/counter/merchants/{business.id}")):
        who.set_cookie("lang", lang)
        response = who.get(url)
        assert response.status_code == 200, url
        pages[url] = _text(response.get_data(as_text=True))
    for url, page in pages.items():
        assert shown in page, url
        assert not [text for text in not_shown if text in page], url


@pytest.fixture
def adjusted(settled):
    """The business's next settlement carries two adjustments: a payment of
    the closed period cancelled afterwards, and the failed transfer."""
    business, main, station, other, mine, _ = settled
    paid = db.session.scalar(select(Payment).where(Payment.store_id == main.id, Payment.amount == 3_000))
    cancellation.cancel_payment(paid, actor=factories.account_of(AccountKind.STORE, main.code), at=jst(2025, 3, 5, 9))
    assert settlement.mark_failed(mine, "口座解約済み", at=jst(2025, 3, 6, 9))
    db.session.commit()
    period = db.session.scalar(select(SettlementPeriod).where(SettlementPeriod.starts_on == dt.date(2025, 3, 1)))
    settlement.close_period(period, at=jst(2025, 3, 16, 1))
    db.session.commit()
    following = db.session.scalar(select(Settlement).where(Settlement.period_id == period.id,
                                                           Settlement.business_id == business.id))
    return business, following, paid.number


@pytest.mark.parametrize("lang, reasons, not_shown", [
    ("ja", ["精算済み期間の決済の取消（取引番号 {number}）", "令和7年2月16日から28日までの振込不能による繰越（口座解約済み）"],
     ["Cancellation"]),
    ("en", ["Cancellation of a payment of a closed period (transaction number {number})",
            "Carried over: the transfer for Feb 16 – 28, 2025 failed (口座解約済み)"],
     ["精算済み期間", "振込不能による繰越"]),
])
def test_adjustment_reasons_read_in_the_readers_language_on_the_statement_and_its_csv(client, adjusted, lang, reasons,
                                                                                      not_shown):
    business, following, number = adjusted
    reasons = [r.format(number=number) for r in reasons]
    assert login(client, business.code, factories.PASSWORD, kind="business").status_code == 303
    client.set_cookie("lang", lang)
    page = _text(client.get(f"/cms/settlements/{following.id}").get_data(as_text=True))
    data = client.get(f"/cms/settlements/{following.id}/meisai.csv").data
    text = data.decode("cp932") if lang == "ja" else data.decode("utf-8-sig")
    notes = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    for reason in reasons:
        assert reason in page
        assert reason in notes
    assert not [word for word in not_shown if word in page or word in text]
