"""Public texts the city edits (SPEC §8/§9): よくあるご質問, ISECAで決済できない
モノ・サービス and お問い合わせ先, in each language the public pages speak.

The clerk writes a small, safe Markdown (headings, paragraphs, lists, bold,
links); every save is a new version (who, when), a version is published on
its own, and the public page shows its language's latest published version.
Where the city has published nothing for a language, the page keeps its
built-in text (the guide's, translated through the catalogues).

Markdown is rendered by markdown-it-py with raw HTML off (a `<script>` typed
in the text shows as text) and its link validation (no `javascript:` links),
and the result is sanitised once more by nh3 (Ammonia) to a short list of
tags and attributes, so nothing the clerk types can run on a reader's page."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import nh3
from flask_babel import force_locale, gettext
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy import func, select

from .. import audit
from ..extensions import db
from ..i18n import LANGUAGES
from ..labels import PUBLIC_TEXT_PAGE
from ..models import Account, PublicText, utcnow

# page key → its title on the public site (the public templates write the same words).
PAGES: dict[str, str] = PUBLIC_TEXT_PAGE  # their words: labels.py
# The public page of each (endpoint of the public site).
PUBLIC_ENDPOINTS = {"faq": "public.faq", "not_payable": "public.not_payable", "contact": "public.contact"}
MAX_LENGTH = 20_000

_ALLOWED_TAGS = {"h2", "h3", "h4", "p", "br", "ul", "ol", "li", "strong", "em", "a", "blockquote", "hr", "code"}
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
_URL_SCHEMES = {"http", "https", "mailto", "tel"}

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).disable(["image"])


def render(body: str) -> Markup:
    """The Markdown `body` as safe HTML: raw HTML shows as text, unsafe links are no links."""
    html = _markdown.render(body or "")
    return Markup(nh3.clean(html, tags=_ALLOWED_TAGS, attributes=_ALLOWED_ATTRIBUTES, url_schemes=_URL_SCHEMES,
                            link_rel="noopener noreferrer"))


def published(page: str, lang: str) -> PublicText | None:
    """The version of `page` in `lang` the public site shows: the last one published."""
    return db.session.scalar(
        select(PublicText).where(PublicText.page == page, PublicText.lang == lang, PublicText.published_at.is_not(None))
        .order_by(PublicText.published_at.desc(), PublicText.id.desc()).limit(1)
    )


def published_html(page: str, lang: str) -> Markup | None:
    """What the public page of `page` shows in `lang` in place of its built-in text, if anything."""
    version = published(page, lang)
    return render(version.body) if version is not None else None


def latest(page: str, lang: str) -> PublicText | None:
    """The newest version (published or not): where the editor starts."""
    return db.session.scalar(
        select(PublicText).where(PublicText.page == page, PublicText.lang == lang)
        .order_by(PublicText.id.desc()).limit(1)
    )


def versions(page: str, lang: str) -> list[PublicText]:
    """Every version of `page` in `lang`, newest first."""
    return list(db.session.scalars(
        select(PublicText).where(PublicText.page == page, PublicText.lang == lang).order_by(PublicText.id.desc())
    ))


@dataclass
class PageState:
    page: str
    lang: str
    published_at: dt.datetime | None  # None: the built-in text is shown
    draft_after: bool  # a version newer than the published one waits


def overview() -> list[PageState]:
    """For each page and language: when its shown version was published, and whether a draft waits."""
    newest = {(page, lang): (last_id, last_published) for page, lang, last_id, last_published in db.session.execute(
        select(PublicText.page, PublicText.lang, func.max(PublicText.id), func.max(PublicText.published_at))
        .group_by(PublicText.page, PublicText.lang)
    )}
    states = []
    for page in PAGES:
        for lang in LANGUAGES:
            last_id, last_published = newest.get((page, lang), (None, None))
            shown = published(page, lang) if last_published is not None else None
            states.append(PageState(page, lang, shown.published_at if shown else None,
                                    last_id is not None and (shown is None or last_id != shown.id)))
    return states


def save(page: str, lang: str, body: str, *, actor: Account | None, publish: bool) -> PublicText:
    """A new version of `page` in `lang` (published at once when `publish`), with its audit rows."""
    version = PublicText(page=page, lang=lang, body=body, created_by_account_id=actor.id if actor else None)
    db.session.add(version)
    db.session.flush()
    audit.record("public_text_saved", version, {"page": page, "lang": lang, "version": version.id}, actor=actor)
    if publish:
        publish_version(version, actor=actor)
    return version


def publish_version(version: PublicText, *, actor: Account | None) -> None:
    """Publish `version`: from now the public page of its language shows it."""
    version.published_at = utcnow()
    version.published_by_account_id = actor.id if actor else None
    audit.record("public_text_published", version, {"page": version.page, "lang": version.lang,
                                                     "version": version.id}, actor=actor)


def publish_again(version: PublicText, *, actor: Account | None) -> PublicText:
    """Publish a saved version: a draft as it is; a version published before
    (an earlier text brought back) as a new version, so that each keeps when it was shown."""
    if version.published_at is None:
        publish_version(version, actor=actor)
        return version
    return save(version.page, version.lang, version.body, actor=actor, publish=True)


# ---------------------------------------------------------------------------
# The built-in texts as Markdown: where the editor starts before any version
# ---------------------------------------------------------------------------

# お問い合わせ先 as the public page writes it (its sentences are the template's own).
_CONTACT = (
    ("所管部署", "企画部 事務管理課"),
    ("場所", "伊勢崎市役所東館 1階"),
    (None, "平日午前8：30～正午、午後1：00～午後5：15"),
    ("TEL", "[0270-27-2708](tel:0270272708)（直通）"),
    (None, "平日午前8：30～午後5：15（土日祝・年末年始を除く）"),
)


# The public site's own texts (its content module), given by the public pages
# when they are registered: the guide's FAQ as (question, answer) pairs and the
# goods that cannot be paid as a list.
_BUILTIN: dict[str, Callable[[], Any]] = {}


def register_builtin(page: str, source: Callable[[], Any]) -> None:
    """Where the built-in text of `page` comes from (called by the public pages)."""
    _BUILTIN[page] = source


def builtin_markdown(page: str, lang: str) -> str:
    """The built-in text of `page` in `lang` (as the catalogues translate it), written as Markdown."""
    translate = gettext  # the guide's sentences: their catalogue entries belong to the public pages
    with force_locale(lang):
        if page == "faq":
            pairs = _BUILTIN["faq"]() if "faq" in _BUILTIN else []
            return "\n\n".join(f"## {translate(str(q))}\n\n{translate(str(a))}" for q, a in pairs) + "\n"
        if page == "not_payable":
            items = _BUILTIN["not_payable"]() if "not_payable" in _BUILTIN else []
            return "\n".join(f"{i}. {translate(str(item))}" for i, item in enumerate(items, 1)) + "\n"
        lines = ["## " + translate("ISECA窓口"), ""]
        for term, value in _CONTACT:
            text = value if value.startswith("[") else translate(value)
            lines.append(f"- {translate(term)}：{text}" if term else f"  {text}")
        return "\n".join(lines).replace("\n  ", "  \n  ") + "\n"
