"""CSV for Excel in Japan: CP932 by default, UTF-8 with a BOM as an option,
CRLF line ends, a Japanese header row, produced a chunk at a time.

Characters CP932 cannot hold are first mapped to their usual CP932 look-alike
(the differences between Unicode's and Windows' mapping of JIS), and what
remains is replaced by 〓 (the geta mark, the customary visible replacement in
Japanese text), never a silent "?", and counted.

Cells are written by type, so that a spreadsheet shows what the app meant:
- numbers (int) stay numbers, negative ones included;
- text that a spreadsheet would run as a formula (starting with = + - @, tab
  or CR: OWASP's rule) gets a leading single quote, so a store or register
  named `=HYPERLINK(...)` is shown, never run;
- identifiers (取引番号, 会員コード, カード番号 …: the columns a caller names)
  are digits that must stay text. Excel turns 2611290000000123 into
  2.61129E+15 and drops a digit, and 0012345678 into 12345678, even when the
  field is quoted; LibreOffice rounds the 16th digit too. In every file, CP932
  or UTF-8, any language, they are written as the formula
  ="2611290000000123", a text constant that Excel and LibreOffice both show
  with every digit (a leading tab would stay in the cell and Excel pastes it).

Languages (the one rule for every CSV of the product, the counter's too): a
Japanese reader gets what is described above, byte for byte. A reader of any
other language gets UTF-8 with a BOM whatever was asked (Excel outside Japan
reads it; CP932 would show mojibake), headers and words in their language
(`header`), times as `2026-03-05 10:02:03` (Japan time) and days as
`2026-03-05`, which every spreadsheet parses as dates (`datetime_text`,
`date_text`), amounts as plain integers, and identifiers kept text as above.

The two encodings of one download have different file names (`filename`:
_sjis / _utf8 before .csv), so that both can sit in one folder.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import threading
from collections.abc import Collection, Iterable, Iterator, Sequence

from flask_babel import gettext, pgettext

from . import i18n
from .i18n import N_
from .timeutil import JST

ENCODINGS = {"cp932": "cp932", "utf-8": "utf-8-sig"}
ENCODING_LABELS = {"cp932": N_("Shift_JIS（CP932・Excel向け）"), "utf-8": N_("UTF-8（BOM付き）")}
REPLACEMENT = "〓"


def is_japanese(locale: str | None = None) -> bool:
    """True when the CSV is for a Japanese reader (the current language by default)."""
    return (locale or i18n.current()) == "ja"


def encoding_for(requested: str | None, locale: str | None = None) -> str:
    """The encoding a download is written in: what was asked (CP932 when
    nothing or something unknown) for Japanese, UTF-8 with BOM otherwise."""
    if not is_japanese(locale):
        return "utf-8"
    return requested if requested in ENCODINGS else "cp932"


def encoding_choices(locale: str | None = None) -> dict[str, str]:
    """The downloads a page offers, {encoding: label in the reader's language}."""
    codes = ENCODING_LABELS if is_japanese(locale) else {"utf-8": ENCODING_LABELS["utf-8"]}
    return {code: gettext(label) for code, label in codes.items()}


def filename(stem: str, encoding: str) -> str:
    """A download's file name, saying its encoding: iseca-usage_sjis.csv for
    the CP932 file, iseca-usage_utf8.csv for the UTF-8 one."""
    return f"{stem}_{'sjis' if encoding == 'cp932' else 'utf8'}.csv"


def content_type(encoding: str) -> str:
    """The Content-Type of a CSV written by CsvStream(encoding)."""
    return f"text/csv; charset={'Windows-31J' if encoding == 'cp932' else 'UTF-8'}"


def header(words: Sequence[str]) -> list[str]:
    """A header row (Japanese msgids) in the reader's language: a word's
    column heading where the catalogue has one (pgettext "column")."""
    return [_column(word) for word in words]


def _column(word: str) -> str:
    heading = pgettext("column", word)
    return heading if heading != word else gettext(word)


def datetime_text(moment: dt.datetime | None, locale: str | None = None) -> str:
    """A timestamp in Japan time: 2026/04/01 09:05:03 for Japanese, ISO-like
    2026-04-01 09:05:03 (what a spreadsheet parses anywhere) otherwise."""
    if moment is None:
        return ""
    t = moment.astimezone(JST)
    sep = "/" if is_japanese(locale) else "-"
    return f"{t.year:04d}{sep}{t.month:02d}{sep}{t.day:02d} {t.hour:02d}:{t.minute:02d}:{t.second:02d}"


def date_text(day: dt.date | None, locale: str | None = None) -> str:
    """A calendar day: 2026/04/01 for Japanese, 2026-04-01 otherwise."""
    if day is None:
        return ""
    sep = "/" if is_japanese(locale) else "-"
    return f"{day.year:04d}{sep}{day.month:02d}{sep}{day.day:02d}"

# First characters that make a spreadsheet read a cell as a formula (OWASP
# "CSV Injection"), with their full-width forms, which a spreadsheet may fold.
FORMULA_STARTS = frozenset("=+-@\t\r＝＋－＠")

# Unicode characters that CP932 spells with another code point.
CP932_LOOKALIKES = str.maketrans(
    {
        "\u2014": "\u2015",  # — EM DASH → ― HORIZONTAL BAR
        "\u2212": "\uff0d",  # − MINUS SIGN → － FULLWIDTH HYPHEN-MINUS
        "\u301c": "\uff5e",  # 〜 WAVE DASH → ～ FULLWIDTH TILDE
        "\u2016": "\u2225",  # ‖ DOUBLE VERTICAL LINE → ∥ PARALLEL TO
        "\u00a5": "\uffe5",  # ¥ → ￥
        "\u00a2": "\uffe0",  # ¢ → ￠
        "\u00a3": "\uffe1",  # £ → ￡
        "\u00ac": "\uffe2",  # ¬ → ￢
        "\u00a6": "\uffe4",  # ¦ → ￤
    }
)


class Cp932Replacer:
    """Encodes text as CP932, replacing what it cannot hold with 〓 and counting.

    One C-level encode per call, whatever the text holds: the characters that
    fail go through the look-alike map in an error handler, so a store name
    with 𠮷 in every row costs a call per row, not a re-encode of the rest."""

    def __init__(self) -> None:
        self.replaced = 0

    def encode(self, text: str) -> bytes:
        _counted.replaced = 0
        data = text.encode("cp932", _ERRORS)
        self.replaced += _counted.replaced
        return data


def _cp932_lookalike_or_geta(error: UnicodeEncodeError) -> tuple[str, int]:
    """The error handler of Cp932Replacer: each character CP932 lacks becomes
    its look-alike, or 〓 (counted)."""
    out = []
    for ch in error.object[error.start:error.end]:
        lookalike = ch.translate(CP932_LOOKALIKES)
        try:
            lookalike.encode("cp932")
            out.append(lookalike)
        except UnicodeEncodeError:
            _counted.replaced += 1
            out.append(REPLACEMENT)
    return "".join(out), error.end


_ERRORS = "iseca-cp932-lookalike-or-geta"
_counted = threading.local()
codecs.register_error(_ERRORS, _cp932_lookalike_or_geta)


REPLACEMENT_CP932 = REPLACEMENT.encode("cp932")


def unencodable(text: str) -> list[str]:
    """The characters of `text` that become 〓 in a CP932 file."""
    result = []
    for ch in text.translate(CP932_LOOKALIKES):
        try:
            ch.encode("cp932")
        except UnicodeEncodeError:
            result.append(ch)
    return result


def neutralise(value: str) -> str:
    """Text a spreadsheet would run as a formula, made plain text with a leading '."""
    if value and value[0] in FORMULA_STARTS:
        return "'" + value
    return value


def excel_text(value: str) -> str:
    """An identifier as Excel keeps it text: ="2611290000000123"."""
    return '="' + value.replace('"', '""') + '"' if value else value


class CsvStream:
    """Rows in, encoded chunks out; `replaced` counts the 〓 written so far.

    `identifiers` are the positions of the columns that hold codes made of
    digits (see the module's docstring)."""

    def __init__(self, encoding: str = "cp932", identifiers: Collection[int] = (), locale: str | None = None) -> None:
        if encoding not in ENCODINGS:
            raise ValueError(f"unknown CSV encoding {encoding!r}")
        # The one language rule: a reader of another language gets UTF-8 (BOM) for Excel.
        self.encoding = encoding_for(encoding, locale)
        self._identifiers = tuple(identifiers)
        self._cp932 = Cp932Replacer() if self.encoding == "cp932" else None
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        self._started = False
        self.rows = 0  # rows written so far, the header not counted

    @property
    def replaced(self) -> int:
        return self._cp932.replaced if self._cp932 else 0

    def _take(self) -> bytes:
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        if self._cp932 is not None:
            data = self._cp932.encode(text)
        else:
            data = text.encode("utf-8")
        if not self._started:
            self._started = True
            if self.encoding == "utf-8":
                data = codecs.BOM_UTF8 + data
        return data

    def _cells(self, row: Sequence) -> list:
        """The row as it is written: text neutralised, identifiers kept text."""
        # Inline test rather than a call per cell: an export writes millions of cells.
        starts = FORMULA_STARTS
        cells = ["'" + v if type(v) is str and v and v[0] in starts else v for v in row]
        if self._identifiers:
            for i in self._identifiers:
                value = row[i]
                cells[i] = excel_text(str(value)) if value is not None else ""
        return cells

    def chunks_of_records(self, header: Sequence[str], records: Iterable, rows_per_chunk: int = 250) -> Iterator[bytes]:
        """The header, then rows that come already written as CSV (UTF-8,
        each record ending in LF, as PostgreSQL's COPY writes them): the line
        ends made CRLF (a line break inside a quoted cell stays as it is) and
        the text encoded, about `rows_per_chunk` rows per chunk (small: the
        database goes on writing rows while a chunk is encoded)."""
        self._writer.writerow([neutralise(h) for h in header])
        yield self._take()
        batch: list = []
        append = batch.append
        for record in records:
            append(record)
            if len(batch) == rows_per_chunk:
                self.rows += rows_per_chunk
                yield self._records(batch)
                batch.clear()
        if batch:
            self.rows += len(batch)
            yield self._records(batch)

    def _records(self, batch: list) -> bytes:
        data = b"".join(batch)
        if data.count(b"\n") == len(batch):
            # No line break inside a cell: every LF ends a record.
            data = data.replace(b"\n", b"\r\n")
        else:
            data = b"".join(bytes(record[:-1]) + b"\r\n" for record in batch)
        if self._cp932 is not None:
            return self._cp932.encode(data.decode("utf-8"))
        return data

    def chunks(self, header: Sequence[str], rows: Iterable[Sequence], rows_per_chunk: int = 1000) -> Iterator[bytes]:
        """The header, then the rows, about `rows_per_chunk` rows per chunk."""
        self._writer.writerow([neutralise(h) for h in header])
        n = 0
        for row in rows:
            self._writer.writerow(self._cells(row))
            n += 1
            if n % rows_per_chunk == 0:
                self.rows = n
                yield self._take()
        self.rows = n
        tail = self._take()
        if tail:
            yield tail
