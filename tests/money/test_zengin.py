"""総合振込: the transfer file parsed back field by field against the
layout of REFERENCE.md §1, the readable CSV, the kept bank snapshot, and
incomplete accounts left out and carried over."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select

from iseca.extensions import db
from iseca.models import Business, Settlement, SettlementAdjustment, SettlementPeriod, SettlementStatus
from iseca.money import settlement, zengin
from iseca.timeutil import JST
from tests import factories

# (first byte, last byte, kind, name) of each record, 1-based as the layout prints them.
HEADER = [(1, 1, "N", "データ区分"), (2, 3, "N", "種別コード"), (4, 4, "N", "コード区分"),
          (5, 14, "N", "振込依頼人コード"), (15, 54, "C", "振込依頼人名"), (55, 58, "N", "振込指定日"),
          (59, 62, "N", "仕向銀行番号"), (63, 77, "C", "仕向銀行名"), (78, 80, "N", "仕向支店番号"),
          (81, 95, "C", "仕向支店名"), (96, 96, "N", "預金種目"), (97, 103, "N", "口座番号"), (104, 120, "C", "ダミー")]
DATA = [(1, 1, "N", "データ区分"), (2, 5, "N", "被仕向銀行番号"), (6, 20, "C", "被仕向銀行名"),
        (21, 23, "N", "被仕向支店番号"), (24, 38, "C", "被仕向支店名"), (39, 42, "N", "手形交換所番号"),
        (43, 43, "N", "預金種目"), (44, 50, "N", "口座番号"), (51, 80, "C", "受取人名"), (81, 90, "N", "振込金額"),
        (91, 91, "N", "新規コード"), (92, 101, "N", "顧客コード1"), (102, 111, "N", "顧客コード2"),
        (112, 112, "N", "振込指定区分"), (113, 113, "C", "識別表示"), (114, 120, "C", "ダミー")]
TRAILER = [(1, 1, "N", "データ区分"), (2, 7, "N", "合計件数"), (8, 19, "N", "合計金額"), (20, 120, "C", "ダミー")]
END = [(1, 1, "N", "データ区分"), (2, 120, "C", "ダミー")]
LAYOUTS = {b"1": HEADER, b"2": DATA, b"8": TRAILER, b"9": END}
# Bytes a name may hold: half-width katakana and marks (CP932 0xA6–0xDF), A–Z, 0–9, space ( ) - .
NAME_BYTES = set(range(0xA6, 0xE0)) | set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ()-.")


def parse_zengin(data: bytes) -> list[dict[str, str]]:
    """The records of a transfer file as {field: text}, checking what the layout demands."""
    assert data.endswith(b"\r\n")
    lines = data[:-2].split(b"\r\n")
    records = []
    for line in lines:
        assert len(line) == 120, line
        assert b"\n" not in line and b"\r" not in line
        layout = LAYOUTS[line[:1]]
        assert layout[-1][1] == 120 and all(a == b_prev + 1 for (a, *_), (_, b_prev, *__) in zip(layout[1:], layout[:-1], strict=True))
        record = {}
        for first, last, kind, name in layout:
            raw = line[first - 1:last]
            if kind == "N":
                assert raw.isdigit(), (name, raw)
            else:
                assert set(raw) <= NAME_BYTES, (name, raw)
            record[name] = raw.decode("cp932")
        records.append(record)
    return records


@pytest.fixture
def closed_period(app):
    mizuho = dict(bank_code="0001", branch_code="001", account_number="1234567")
    himawari = factories.make_business(name="株式会社ひまわり", account_holder_kana="ｶ)ﾋﾏﾜﾘ", **mizuho)
    taro = factories.make_business(name="伊勢崎 太郎商店", bank_code="0128", branch_code="150",
                                   account_number="0007654", account_holder_kana="ｲｾｻｷ ﾀﾛｳ", account_type="2")
    broken = factories.make_business(name="口座未登録の店", bank_code="", account_holder_kana="")
    member, _ = factories.make_card_member(1_000_000)
    for business, amount in ((himawari, 12_345), (taro, 200_000), (broken, 5_000)):
        store = factories.make_store(business)
        factories.make_payment_at(store.registers[0], member, amount, dt.datetime(2025, 2, 20, 10, tzinfo=JST))
    period = db.session.scalar(select(SettlementPeriod).where(SettlementPeriod.starts_on == dt.date(2025, 2, 16)))
    settlement.close_period(period, at=dt.datetime(2025, 3, 1, 1, tzinfo=JST))
    period.transfer_date = dt.date(2025, 3, 19)
    db.session.commit()
    return period, himawari, taro, broken


def test_the_transfer_file_follows_the_zengin_layout_field_by_field(app, closed_period):
    period, himawari, taro, broken = closed_period
    prepared = zengin.prepare_transfers(period)
    db.session.commit()
    assert prepared.ready == 2 and [s.business_id for s in prepared.left_out] == [broken.id]

    records = parse_zengin(zengin.transfer_file(period))
    assert [r["データ区分"] for r in records] == ["1", "2", "2", "8", "9"]
    header, first, second, trailer, end = records
    assert header["種別コード"] == "21" and header["コード区分"] == "0"
    assert header["振込依頼人コード"] == app.config["ZENGIN_REQUESTER_CODE"]
    assert header["振込依頼人名"] == "ﾀ)ｼﾞﾑｶﾝｶ".ljust(40)  # the name merchants are told: 「他)ジムカンカ」
    assert header["振込指定日"] == "0319"
    assert (header["仕向銀行番号"], header["仕向支店番号"]) == ("0128", "150")
    assert header["仕向銀行名"].rstrip() == "ｸﾞﾝﾏ" and header["仕向支店名"].rstrip() == "ｲｾｻｷ"
    assert header["ダミー"] == " " * 17

    assert first["被仕向銀行番号"] == "0001" and first["被仕向支店番号"] == "001"
    assert first["被仕向銀行名"].rstrip() == "ﾐｽﾞﾎ"
    assert first["手形交換所番号"] == "0000" and first["預金種目"] == "1" and first["口座番号"] == "1234567"
    assert first["受取人名"] == "ｶ)ﾋﾏﾜﾘ".ljust(30)
    assert first["振込金額"] == "0000012345"
    assert int(first["顧客コード1"]) == himawari.id
    assert first["新規コード"] == "0" and first["振込指定区分"] == "7" and first["識別表示"] == " "
    assert second["受取人名"].rstrip() == "ｲｾｻｷ ﾀﾛｳ" and second["預金種目"] == "2"
    assert second["口座番号"] == "0007654" and int(second["振込金額"]) == 200_000

    assert int(trailer["合計件数"]) == 2 == len([r for r in records if r["データ区分"] == "2"])
    assert int(trailer["合計金額"]) == 212_345 == sum(int(r["振込金額"]) for r in records if r["データ区分"] == "2")
    assert end["ダミー"] == " " * 119


def test_an_incomplete_account_is_left_out_listed_and_carried_to_the_next_settlement(app, closed_period):
    period, _, _, broken = closed_period
    zengin.prepare_transfers(period)
    db.session.commit()
    row = db.session.scalar(select(Settlement).where(Settlement.business_id == broken.id))
    assert row.status == SettlementStatus.FAILED and "金融機関コード" in row.failed_reason
    assert [s.business.name for s in zengin.left_out(period)] == ["口座未登録の店"]
    carried = db.session.scalar(select(SettlementAdjustment).where(SettlementAdjustment.source_settlement_id == row.id))
    assert carried.amount == 5_000 and carried.applied_settlement_id is None


def test_exporting_twice_gives_the_same_file_from_the_bank_account_kept_at_export(app, closed_period):
    period, himawari, _, _ = closed_period
    zengin.prepare_transfers(period)
    db.session.commit()
    first = zengin.transfer_file(period)
    db.session.get(Business, himawari.id).account_number = "7777777"  # changed after the export
    db.session.commit()
    again = zengin.prepare_transfers(period)
    db.session.commit()
    assert again.left_out == [] and zengin.transfer_file(period) == first
    snapshot = db.session.scalar(select(Settlement.bank_snapshot).where(Settlement.business_id == himawari.id))
    assert snapshot["account_number"] == "1234567" and snapshot["bank_name"] == "みずほ"


def test_the_readable_csv_lists_the_same_transfers(app, closed_period):
    period, *_ = closed_period
    zengin.prepare_transfers(period)
    db.session.commit()
    data = zengin.transfer_csv(period)
    assert b"\r\n" in data and not data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("cp932"))))
    assert rows[0] == zengin.CSV_HEADER
    # Codes stay text in Excel, leading zeros kept (="0007654").
    assert [(r[1], r[2], r[4], r[6], r[7], r[8], r[9], r[10]) for r in rows[1:]] == [
        ("株式会社ひまわり", '="0001"', '="001"', "普通", '="1234567"', "ｶ)ﾋﾏﾜﾘ", "12345", "2025-03-19"),
        ("伊勢崎 太郎商店", '="0128"', '="150"', "当座", '="0007654"', "ｲｾｻｷ ﾀﾛｳ", "200000", "2025-03-19"),
    ]
    utf8 = zengin.transfer_csv(period, "utf-8")
    assert utf8.startswith(b"\xef\xbb\xbf")
    assert list(csv.reader(io.StringIO(utf8.decode("utf-8-sig"))))[2][7] == '="0007654"'  # text in either file


def test_no_file_for_an_open_period_or_an_undecided_date(app, closed_period):
    period, *_ = closed_period
    period.transfer_date = None
    db.session.commit()
    with pytest.raises(zengin.ZenginError, match="振込予定日が未定"):
        zengin.transfer_file(period)


def test_the_file_and_what_merchants_are_told_name_the_one_payer_of_the_setting(app, closed_period):
    from iseca.money import banking, statements

    period, himawari, _, _ = closed_period
    zengin.prepare_transfers(period, at=dt.datetime(2025, 3, 17, 10, tzinfo=JST))
    settlement.mark_transferred(period, on=dt.date(2025, 3, 19))
    db.session.commit()
    row = db.session.scalar(select(Settlement).where(Settlement.business_id == himawari.id))
    # The guide's 振込人名義, and the bank's half-width form of it in the file.
    assert banking.payer_name() == "他)ジムカンカ" == statements.statement(row).transferor
    assert parse_zengin(zengin.transfer_file(period))[0]["振込依頼人名"].rstrip() == "ﾀ)ｼﾞﾑｶﾝｶ"
    assert "振込人名義　：他)ジムカンカ" in settlement.transferred_mail(row)

    app.config["ZENGIN_REQUESTER_NAME"] = "ｲｾｻｷｼ ｶｲｹｲｶﾝﾘｼﾔ"  # another name: both follow it
    assert parse_zengin(zengin.transfer_file(period))[0]["振込依頼人名"].rstrip() == "ｲｾｻｷｼ ｶｲｹｲｶﾝﾘｼﾔ"
    assert statements.statement(row).transferor == "イセサキシ カイケイカンリシヤ"
    assert "振込人名義　：イセサキシ カイケイカンリシヤ" in settlement.transferred_mail(row)


def test_production_makes_no_file_while_the_requester_code_or_the_citys_account_are_placeholders(app, closed_period):
    period, *_ = closed_period
    app.config["PRODUCTION"] = True
    with pytest.raises(zengin.ZenginSetupError, match="委託者コード（ISECA_ZENGIN_REQUESTER_CODE）が開発用の仮の値"):
        zengin.prepare_transfers(period)
    db.session.rollback()
    assert db.session.scalar(select(Settlement.bank_snapshot).where(Settlement.amount == 12_345)) is None

    app.config["ZENGIN_REQUESTER_CODE"] = "1234567890"
    with pytest.raises(zengin.ZenginSetupError, match="市の口座") as refused:
        zengin.prepare_transfers(period)
    assert "委託者コード" not in str(refused.value)
    db.session.rollback()
    app.config["ZENGIN_ACCOUNT_NUMBER"] = ""  # unset is no better than zeros
    assert zengin.setup_refusal() is not None

    app.config["ZENGIN_ACCOUNT_NUMBER"] = "0123456"
    assert zengin.setup_refusal() is None
    zengin.prepare_transfers(period)
    db.session.commit()
    header = parse_zengin(zengin.transfer_file(period))[0]
    assert (header["振込依頼人コード"], header["口座番号"]) == ("1234567890", "0123456")


def test_a_payer_name_no_bank_takes_makes_no_file_anywhere(app, closed_period):
    period, *_ = closed_period
    app.config["ZENGIN_REQUESTER_NAME"] = "他)ジムカンカ"  # the kanji of the guide is not bank kana
    assert app.config["PRODUCTION"] is False
    with pytest.raises(zengin.ZenginSetupError, match="委託者名に「他」は使えません。.*ISECA_ZENGIN_REQUESTER_NAME"):
        zengin.prepare_transfers(period)
