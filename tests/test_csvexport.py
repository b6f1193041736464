"""CSV for Excel: CP932 or UTF-8 with BOM, CRLF, visible replacements."""
from __future__ import annotations

import codecs
import csv
import io

from iseca.csvexport import CsvStream, unencodable


def _write(encoding: str, rows, per_chunk: int = 2):
    stream = CsvStream(encoding)
    data = b"".join(stream.chunks(["利用日時（日本時間 JST）", "店舗名", "金額（円）"], rows, per_chunk))
    return stream, data


def test_cp932_file_keeps_japanese_and_windows_characters():
    stream, data = _write("cp932", [["2026/04/01 10:00:00", "髙橋商店 ①号店 ～ﾊﾝｶｸ", 1000]])
    text = data.decode("cp932")
    assert "髙橋商店 ①号店 ～ﾊﾝｶｸ" in text
    assert stream.replaced == 0


def test_characters_cp932_cannot_hold_are_replaced_visibly_and_counted():
    stream, data = _write("cp932", [["x", "𠮷野家 — ¥100 😀", 1]])
    text = data.decode("cp932")
    assert "〓野家 ― ￥100 〓" in text  # — and ¥ map to their CP932 look-alikes
    assert "?" not in text
    assert stream.replaced == 2
    assert unencodable("𠮷野家😀") == ["𠮷", "😀"]


def test_lines_end_with_crlf_and_fields_with_commas_are_quoted():
    _, data = _write("cp932", [["a", "店, \"本店\"", 1], ["b", "改行\n入り", 2]])
    text = data.decode("cp932")
    assert text.count("\r\n") == 3 and text.endswith("\r\n")  # one per record; an inner newline stays quoted
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[1] == ["a", '店, "本店"', "1"]
    assert rows[2] == ["b", "改行\n入り", "2"]


def test_utf8_file_starts_with_one_bom_and_keeps_every_character():
    stream, data = _write("utf-8", [["x", "𠮷野家", 1]] * 5, per_chunk=1)
    assert data.startswith(codecs.BOM_UTF8) and data.count(codecs.BOM_UTF8) == 1
    assert "𠮷野家" in data.decode("utf-8-sig")
    assert stream.replaced == 0


def test_text_that_a_spreadsheet_would_run_gets_a_leading_quote_and_numbers_stay_numbers():
    starts = ["=1+2", "+81 270", "-5", "@SUM(A1)", "\tcmd", "\rcmd", "＝1+2", "＠x"]
    _, data = _write("utf-8", [[text, "店", -1500] for text in starts] + [["", "2026/04/01", 0]])
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert [r[0] for r in rows[1:-1]] == ["'" + text for text in starts]
    assert all(r[2] == "-1500" for r in rows[1:-1])  # an int is a number, never quoted or escaped
    assert rows[-1] == ["", "2026/04/01", "0"]


def test_identifiers_stay_text_in_either_file():
    rows = [["2611290000000123", "0012345678", '="1"&"2"', None, -3]]
    excel = CsvStream("cp932", identifiers=(0, 1, 2, 3))
    text = b"".join(excel.chunks(["取引番号", "会員コード", "x", "y", "金額（円）"], rows)).decode("cp932")
    assert text.splitlines()[1] == '"=""2611290000000123""","=""0012345678""","=""=""""1""""&""""2""""""",,-3'
    assert list(csv.reader(io.StringIO(text, newline="")))[1] == [
        '="2611290000000123"', '="0012345678"', '="=""1""&""2"""', "", "-3"]  # a quote inside stays a literal
    utf8 = CsvStream("utf-8", identifiers=(0, 1, 2, 3))
    text = b"".join(utf8.chunks(["取引番号", "会員コード", "x", "y", "金額（円）"], rows)).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text, newline="")))[1] == [
        '="2611290000000123"', '="0012345678"', '="=""1""&""2"""', "", "-3"]
