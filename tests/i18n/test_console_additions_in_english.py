"""The console pages added for public texts, campaign changes, application
corrections and settlements speak English to an English-speaking clerk,
including a preview, a confirmation and an error answer after a POST: no
string of their sources is left in Japanese. (The walk over every page,
test_pages_in_language.py, covers the rest of each page.)"""
from __future__ import annotations

import datetime as dt
import re

from babel.messages.extract import extract_from_file

from iseca.city import public_texts
from iseca.timeutil import today_jst
from tests.i18n import catalogues
from tests.i18n.catalogues import KEYWORDS, ROOT
from tests.i18n.test_pages_in_language import visible_text
from tests.support.client import csrf_from
from tests.test_route_access import client_of

SOURCES = {
    "python": ["iseca/counter/texts.py", "iseca/city/public_texts.py"],
    "jinja2": ["templates/counter/texts/index.html", "templates/counter/texts/edit.html",
               "templates/counter/texts/version.html", "templates/counter/members/campaign_edit.html",
               "templates/counter/members/campaign_confirm.html", "templates/counter/application_edit.html"],
}
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


def japanese_pieces() -> set[str]:
    """These sources' strings (the parts between placeholders), less those
    another part's catalogue also holds (translated there, shown by other pages)."""
    elsewhere = set().union(*(catalogues.template_ids(part) for part in catalogues.PARTS if part != "counter"))
    elsewhere |= set(public_texts.PAGES.values())  # the public pages' titles: the application form quotes one
    pieces = set()
    for method, paths in SOURCES.items():
        for path in paths:
            for _, message, _, _ in extract_from_file(method, ROOT / path, keywords=KEYWORDS):
                for text in message if isinstance(message, tuple) else (message,):
                    if not text or text in elsewhere:
                        continue
                    parts = re.split(r"%\(\w+\)\w", text)
                    pieces.update(p for p in parts if JAPANESE.search(p) and (len(parts) == 1 or len(p) >= 6))
    return pieces


def left_in_japanese(response, pieces: set[str]) -> list[str]:
    text = visible_text(response)
    return sorted(p for p in pieces if p in text)


def test_the_new_console_pages_and_answers_hold_none_of_their_strings_in_japanese(app, world):
    pieces = japanese_pieces()
    assert len(pieces) > 40
    client = client_of(app, world, "staff")
    client.set_cookie("lang", "en")
    pages = ["/counter/texts", "/counter/texts/faq/en", "/counter/texts/contact/vi",
             f"/counter/campaigns/{world.campaign_id}/edit", "/counter/applications/1/edit"]
    found = {url: left_in_japanese(client.get(url), pieces) for url in pages}
    token = csrf_from(client.get("/counter/texts/faq/en").get_data(as_text=True))
    end = (today_jst() + dt.timedelta(days=1)).isoformat()
    posts = {
        "preview": ("/counter/texts/faq/en", {"body": "## A question\n\nAn answer.", "action": "preview"}),
        "empty text": ("/counter/texts/faq/en", {"body": "", "action": "save"}),
        "campaign confirmation": (f"/counter/campaigns/{world.campaign_id}/edit",
                                  {"name": "Spring", "starts_on": "2020-01-01", "ends_on": end, "action": "preview"}),
        "campaign error": (f"/counter/campaigns/{world.campaign_id}/edit",
                           {"name": "", "starts_on": "2020-01-01", "ends_on": "2019-01-01", "action": "preview"}),
    }
    for name, (url, data) in posts.items():
        found[name] = left_in_japanese(client.post(url, data={"csrf_token": token, **data}), pieces)
    assert {k: v for k, v in found.items() if v} == {}
