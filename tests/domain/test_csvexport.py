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
