"""Each public page has its own summary (<meta name="description">) for
search engines and link previews, in the reader's language."""
from __future__ import annotations

import re
from html import unescape

import pytest

from tests import factories
from tests.i18n.test_pages_in_language import JAPANESE
from tests.public.test_publication import published

DESCRIPTION = re.compile(r'<meta name="description" content="([^"]*)">')


def _pages(app) -> list[str]:
    store = published(name="Cafe Himawari")
    _, card = factories.make_card_member(1_000)
    return ["/", "/stores", f"/stores/{store.id}", "/faq", "/not-payable", "/contact", f"/card/{card.number}/{card.secret}",
            "/apply", "/apply/done"]


@pytest.mark.parametrize("language", ["ja", "en", "vi", "pt-BR"])
def test_every_public_page_has_its_own_description_in_the_readers_language(app, client, language):
    found = {}
    for path in _pages(app):
        resp = client.get(path, headers={"Accept-Language": language})
        assert resp.status_code == 200, path
        descriptions = DESCRIPTION.findall(resp.get_data(as_text=True))
        assert len(descriptions) == 1, f"{path}: {descriptions}"
        found[path] = unescape(descriptions[0])
        assert len(found[path]) >= 15, f"{path}: {found[path]!r}"
        if language != "ja":
            assert not JAPANESE.search(found[path]), f"{path} in {language}: {found[path]!r}"
    assert len(set(found.values())) == len(found), found


def test_pages_behind_a_login_have_no_public_description(client):
    assert not DESCRIPTION.search(client.get("/wallet/login").get_data(as_text=True))
