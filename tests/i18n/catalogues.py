"""The catalogues as files: parts, languages, what each .po holds, the
glossary. Read by the i18n tests (and usable from a shell)."""
from __future__ import annotations

import configparser
import csv
import fnmatch
import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "iseca" / "translations"
PARTS = {"common": ("en", "pt_BR", "vi"), "residents": ("en", "pt_BR", "vi"), "merchants": ("en",), "counter": ("en",)}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None, "N_": None,
            "pgettext": ((1, "c"), 2)}


def method_map(part: str) -> list[tuple[str, str]]:
    """(pattern, method) pairs of babel/<part>.cfg."""
    parser = configparser.RawConfigParser()
    parser.read(ROOT / "babel" / f"{part}.cfg", encoding="utf-8")
    pairs = []
    for section in parser.sections():
        method, _, pattern = section.partition(":")
        pairs.append((pattern.strip(), method.strip()))
    return pairs


def _matches(pattern: str, path: str) -> bool:
    # babel's `**` matches any number of folders; fnmatch's `*` does too.
    return fnmatch.fnmatch(path, pattern.replace("**", "*")) or fnmatch.fnmatch(path, pattern.replace("/**", ""))


def part_of(path: str) -> list[str]:
    """The parts whose mapping claims `path` (relative to the root)."""
    return [part for part in PARTS if any(_matches(pattern, path) for pattern, _ in method_map(part))]


def extracted(part: str) -> set[str]:
    """The message ids the sources of `part` hold now."""
    ids = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map(part), keywords=KEYWORDS, options_map={}
    ):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def template_ids(part: str) -> set[str]:
    with open(TRANSLATIONS / part / "messages.pot", "rb") as f:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}


def catalogue(part: str, lang: str) -> Catalog:
    with open(TRANSLATIONS / part / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=lang)


def glossary() -> list[dict[str, str]]:
    with open(TRANSLATIONS / "glossary.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(io.StringIO(f.read())))
