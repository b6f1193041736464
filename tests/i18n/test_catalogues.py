"""Every catalogue complete: every string of the sources is in its part's
template, every language of the part translates every entry (nothing
empty, nothing fuzzy, placeholders kept), and glossary terms are
translated as the glossary says."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.i18n import catalogues
from tests.i18n.catalogues import PARTS, ROOT

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w*)\}")


def sources() -> list[str]:
    """Every template, and every module that calls gettext."""
    found = [str(p.relative_to(ROOT)) for p in (ROOT / "templates").rglob("*") if p.suffix in (".html", ".txt")]
    for path in (ROOT / "iseca").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "flask_babel" in text or "N_(" in text:
            found.append(str(path.relative_to(ROOT)))
    return sorted(found)


def test_every_template_and_translated_module_belongs_to_one_part():
    wrong = {path: parts for path in sources() if len(parts := catalogues.part_of(path)) != 1}
    assert wrong == {}, f"files claimed by no part or by several (babel/<part>.cfg): {wrong}"


@pytest.mark.parametrize("part", PARTS)
def test_the_template_holds_every_string_of_the_sources(part):
    """A string added to a page without `make i18n-update` fails here."""
    missing = sorted(catalogues.extracted(part) - catalogues.template_ids(part))
    assert missing == [], f"not in iseca/translations/{part}/messages.pot (run make i18n-update): {missing[:20]}"


@pytest.mark.parametrize("part,lang", [(part, lang) for part, langs in PARTS.items() for lang in langs])
def test_every_entry_is_translated(part, lang):
    template = catalogues.template_ids(part)
    catalogue = catalogues.catalogue(part, lang)
    entries = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalogue if m.id}
    missing = sorted(template - set(entries))
    untranslated = sorted(i for i, m in entries.items() if i in template and (
        not (m.string if isinstance(m.string, str) else all(m.string)) or m.fuzzy))
    wrong_placeholders = sorted(
        i for i, m in entries.items() if isinstance(m.string, str) and m.string
        and {a or b for a, b in PLACEHOLDER.findall(i)} != {a or b for a, b in PLACEHOLDER.findall(m.string)})
    assert (missing, untranslated, wrong_placeholders) == ([], [], []), (
        f"{part}/{lang}: {len(missing)} missing (run make i18n-update), {len(untranslated)} untranslated or fuzzy, "
        f"{len(wrong_placeholders)} with other placeholders than the Japanese: "
        f"{(missing + untranslated + wrong_placeholders)[:15]}")


def test_pybabel_compiles_every_catalogue_without_errors(tmp_path):
    """The catalogues as `make translations` compiles them (pybabel's own checks)."""
    pybabel = Path(sys.executable).with_name("pybabel")
    for part, langs in PARTS.items():
        for lang in langs:
            po = ROOT / "iseca" / "translations" / part / lang / "LC_MESSAGES" / "messages.po"
            result = subprocess.run([str(pybabel), "compile", "-i", str(po), "-o", str(tmp_path / "m.mo"),
                                     "--statistics"], capture_output=True, text=True)
            assert result.returncode == 0, result.stderr
            assert "error" not in result.stderr.lower(), result.stderr


def test_glossary_terms_are_translated_as_the_glossary_says():
    """Where a catalogue holds a glossary term on its own, it uses the
    glossary's word, so that a label reads the same on every page."""
    wrong = []
    for row in catalogues.glossary():
        for part, langs in PARTS.items():
            for lang in langs:
                term = row.get(lang) or ""
                if not term:
                    continue
                message = catalogues.catalogue(part, lang).get(row["ja"])
                if message is not None and message.string and message.string != term:
                    wrong.append(f"{part}/{lang}: {row['ja']} → {message.string!r}, glossary says {term!r}")
    assert wrong == [], "\n".join(wrong)
