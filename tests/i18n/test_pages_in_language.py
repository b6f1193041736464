"""Every page in English, and the resident pages in Portuguese and
Vietnamese, hold no Japanese: walked over `app.url_map` as each kind of
account (tests/test_route_access.py's world and logins). Japanese may stay
only in data (names of stores, businesses, members' entries: every text the
database holds) and in the guide's own terms listed in the glossary
(iseca/translations/glossary.csv, for readers who match the printed guide)."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import String, Text, select

from iseca import i18n
from iseca.extensions import db
from tests.i18n import catalogues
from tests.test_route_access import OK, client_of, expected, requests_of

# Kana, kanji, full-width forms and Japanese punctuation (「」、。（）).
JAPANESE = re.compile(r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff01-\uff60\uff61-\uff9f]+")
ATTRIBUTES = ("title", "alt", "aria-label", "placeholder", "label")
# Endpoints whose answer is not a page to read (images, PDFs, checks for machines).
NOT_TEXT = ("static", "health.", ".qr_png", "_pdf", "store_image", "card_sheet", "register_sheets_pdf", "statement_pdf",
            "settlement_zengin",
            # The offline page holds every language of its area, each part marked with its lang
            # (tests/web/test_installable.py checks each part).
            "app.offline")
RESIDENT_ENDPOINTS = ("public.", "wallet.", "auth.")
RESIDENT_KINDS = ("anonymous", "member")


class Visible(HTMLParser):
    """The text a reader sees or hears: text, and the attributes read aloud or shown."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if value and (name in ATTRIBUTES or (tag == "input" and name == "value"
                                                 and dict(attrs).get("type") in ("submit", "button"))):
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(response) -> str:
    # A CSV for Excel is CP932 (its charset says Windows-31J): read as the reader's program would.
    charset = response.mimetype_params.get("charset", "utf-8").lower()
    body = response.get_data().decode({"windows-31j": "cp932", "shift_jis": "cp932"}.get(charset, charset))
    if response.mimetype == "text/html":
        parser = Visible()
        parser.feed(body)
        return "\n".join(parser.parts)
    return body


def data_texts() -> list[str]:
    """Every text the database holds (names, addresses, notes, mails queued,
    audit details): data shown as entered, not the product's words."""
    texts: set[str] = set()

    def add(value):
        if isinstance(value, str):
            if JAPANESE.search(value):
                texts.add(value)
                texts.update(line.strip() for line in value.splitlines() if line.strip())
        elif isinstance(value, dict):
            for v in value.values():
                add(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                add(v)

    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, (String, Text)) or c.type.__class__.__name__ == "JSON"]
        if not columns:
            continue
        for row in db.session.execute(select(*columns)).all():
            for value in row:
                if isinstance(value, str) and value[:1] in "{[":
                    try:
                        value = json.loads(value)
                    except ValueError:
                        pass
                add(value)
    texts.update(bank_names())
    return sorted(texts, key=len, reverse=True)


def bank_names() -> set[str]:
    """Names of the banks and branches the data names by code (みずほ,
    東京営業部): proper names from the banks' own register, shown as they are."""
    from iseca.models import Business, MerchantApplication
    from iseca.money import banking

    codes = {tuple(row) for row in db.session.execute(select(Business.bank_code, Business.branch_code))}
    for data in db.session.scalars(select(MerchantApplication.data)):
        bank = (data or {}).get("bank") or {}
        codes.add((bank.get("bank_code", ""), bank.get("branch_code", "")))
    names = set()
    for bank, branch in codes:
        names.update(n for n in (banking.bank_name(bank), banking.branch_name(bank, branch)) if n)
    return names


def allowed_terms() -> list[str]:
    """The guide's labels (a merchant may read "Registers (レジ一覧)" beside
    the printed guide) and the language switch's 日本語."""
    terms = {row["ja"] for row in catalogues.glossary() if row["note"].startswith("guide label")}
    terms |= set(i18n.LANGUAGES.values())
    return sorted(terms, key=len, reverse=True)


def leaks(text: str, allowed: list[str]) -> list[str]:
    for term in allowed:
        text = text.replace(term, " ")
    return JAPANESE.findall(text)


def walk(app, world, kind: str, lang: str, endpoints: tuple[str, ...] | None = None) -> dict[str, list[str]]:
    client = client_of(app, world, kind)
    client.set_cookie("lang", lang)
    allowed = data_texts() + allowed_terms()
    found = {}
    for endpoint, method, url, area in requests_of(app, world.values()):
        if method != "GET" or any(part in endpoint for part in NOT_TEXT):
            continue
        if endpoints is not None and not endpoint.startswith(endpoints):
            continue
        if expected(endpoint, method, area, kind) != OK:
            continue
        response = client.get(url, buffered=True, follow_redirects=True)
        if response.mimetype not in ("text/html", "text/csv", "text/plain"):
            continue
        if response.mimetype == "text/html":
            match = re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True))
            if match and match.group(1) != i18n.HTML_LANG[lang]:
                found[f"{url} ({endpoint})"] = [f'<html lang="{match.group(1)}">']
                continue
        leaked = leaks(visible_text(response), allowed)
        if leaked:
            found[f"{url} ({endpoint})"] = sorted(set(leaked))[:12]
    return found


def report(found: dict[str, list[str]]) -> str:
    return "Japanese left on these pages:\n" + "\n".join(f"  {page}: {words}" for page, words in sorted(found.items()))


@pytest.mark.parametrize("kind", ("anonymous", "store", "business", "member", "staff"))
def test_every_page_in_english_holds_no_japanese(app, world, kind):
    found = walk(app, world, kind, "en")
    assert found == {}, report(found)


@pytest.mark.parametrize("lang", ("pt_BR", "vi"))
@pytest.mark.parametrize("kind", RESIDENT_KINDS)
def test_resident_pages_in_portuguese_and_vietnamese_hold_no_japanese(app, world, kind, lang):
    found = walk(app, world, kind, lang, RESIDENT_ENDPOINTS)
    # The login pages of the merchant areas, and the public pages for merchants
    # (加盟店登録), are English in these languages (checked above).
    found = {page: words for page, words in found.items() if "/cms/" not in page and "/terminal/" not in page
             and "/counter/" not in page and not any(f"({endpoint})" in page
                                                     for endpoint in i18n.MERCHANT_PUBLIC_ENDPOINTS)}
    assert found == {}, report(found)
