"""Languages: which one a page speaks, and amounts and dates as each reader
expects them.

Japanese is the source language: every string is written in Japanese (the
guide's own labels) and goes through Flask-Babel's `_()`, so the Japanese
pages are what they were. English covers the whole product; Portuguese
(Brazil) and Vietnamese cover what residents use (the public pages, the
wallet and the card balance page). Elsewhere a resident language falls back
to English, the second language of the merchant areas.

The language of a request, first that applies: the logged-in account's own
setting, the `lang` cookie (the visible switch sets both), the browser's
Accept-Language, Japanese. Catalogues live in iseca/translations/<part>/,
one folder per part of the product (common, residents, merchants, counter),
merged at run time.
"""
from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

from babel import Locale, support
from babel import dates as babel_dates
from flask import Flask, has_request_context, request
from flask.globals import _cv_app
from flask_babel import Babel, Domain, force_locale, get_locale, ngettext  # noqa: F401  (force_locale: re-exported for mails)

from .timeutil import JST

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
# The parts of the catalogue, in merge order (a later part's entry wins).
PARTS = ("common", "residents", "merchants", "counter")

DEFAULT = "ja"
# Each language as it names itself (the switch shows these words).
LANGUAGES: dict[str, str] = {"ja": "日本語", "en": "English", "pt_BR": "Português", "vi": "Tiếng Việt"}
# `lang` attribute values (BCP 47).
HTML_LANG = {"ja": "ja", "en": "en", "pt_BR": "pt-BR", "vi": "vi"}
# Languages of every page; the resident languages add to them where residents go.
EVERYWHERE = ("ja", "en")
RESIDENT_AREAS = ("public", "wallet")
# Public pages for merchants, not residents: the application (加盟店登録).
MERCHANT_PUBLIC_ENDPOINTS = ("public.apply", "public.apply_done", "public.bank_lookup")
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600

babel = Babel()


class PartsDomain(Domain):
    """Flask-Babel's domain over the parts' catalogues, with the plural rule
    of the language. Flask-Babel merges one catalogue per part and keeps the
    plural rule of the last one loaded: for Portuguese or Vietnamese that is
    a part without the language (merchants, counter), whose rule is the
    default (n != 1), which picks a form the language does not have."""

    def get_translations(self):
        # Looked up once per language in a request, not at each of the
        # hundreds of strings of a page (Flask-Babel walks `g` three times
        # per string): kept on Flask-Babel's request namespace, keyed by the
        # locale object, which force_locale (mails) replaces and restores.
        ctx = _babel_context()
        if ctx is not None:
            cached = getattr(ctx, "iseca_translations", None)
            if cached is not None and cached[0] is getattr(ctx, "babel_locale", None):
                return cached[1]
        translations = super().get_translations()
        if isinstance(translations, support.Translations) and not getattr(translations, "plural_checked", False):
            for directory in self.translation_directories:
                catalogue = support.Translations.load(directory, [get_locale()], self.domain[0])
                if isinstance(catalogue, support.Translations):
                    translations.plural = catalogue.plural
                    break
            translations.plural_checked = True
        ctx = _babel_context()
        if ctx is not None and getattr(ctx, "babel_locale", None) is not None:
            ctx.iseca_translations = (ctx.babel_locale, translations)
        return translations


def _babel_context():
    """Flask-Babel's namespace on this app context's `g`, read without the
    `g` proxy; None before Flask-Babel made it (it then makes it itself)."""
    app_context = _cv_app.get(None)
    return getattr(app_context.g, "_flask_babel", None) if app_context is not None else None


def _catalogue():
    return babel.domain_instance.get_translations()


def N_(text: str) -> str:
    """Marks a string for the catalogues where it is defined; it is
    translated where it is shown (labels, choices)."""
    return text


def area_name() -> str:
    """The area of this request ('public' outside the logged-in areas)."""
    from .areas import area_of_request

    area = area_of_request()
    return area.name if area is not None else "public"


def offered(area: str | None = None) -> tuple[str, ...]:
    """The languages a page of `area` (by default: this request's) is written in."""
    if area is None:
        area = area_name()
        if has_request_context() and request.endpoint in MERCHANT_PUBLIC_ENDPOINTS:
            return EVERYWHERE
    return tuple(LANGUAGES) if area in RESIDENT_AREAS else EVERYWHERE


def normalise(code: str | None) -> str | None:
    """A language code as the catalogues name it ('pt-BR', 'pt_br', 'pt' →
    'pt_BR'), or None for a language the product does not speak."""
    if not code:
        return None
    code = code.strip().replace("-", "_")
    for known in LANGUAGES:
        if code.lower() == known.lower():
            return known
    base = code.split("_", 1)[0].lower()
    return {"ja": "ja", "en": "en", "pt": "pt_BR", "vi": "vi"}.get(base)


def chosen() -> str | None:
    """The language this reader chose (account setting, then cookie), if any."""
    from flask_login import current_user

    try:
        if current_user and current_user.is_authenticated and getattr(current_user, "locale", None):
            return normalise(current_user.locale)
    except Exception:  # the database down: the error page still renders
        pass
    return normalise(request.cookies.get(COOKIE))


def select_locale() -> str:
    """The language of the current request (see the module's docstring)."""
    if not has_request_context():
        return DEFAULT
    languages = offered()
    picked = chosen()
    if picked is None:
        picked = normalise(request.accept_languages.best_match(
            [HTML_LANG[c] for c in LANGUAGES] + ["pt", "pt-PT"], default=DEFAULT))
    if picked is None:
        return DEFAULT
    return picked if picked in languages else "en"


def current() -> str:
    """The language code of the current request ('ja' outside a request)."""
    ctx = _babel_context()
    locale = getattr(ctx, "babel_locale", None) if ctx is not None else None
    if locale is None:
        locale = get_locale()
    return _code(locale) if locale is not None else DEFAULT


@functools.lru_cache(maxsize=64)
def _code(locale: Locale) -> str:
    return str(locale)


@functools.lru_cache(maxsize=64)
def _babel_locale(code: str) -> Locale:
    return Locale.parse(code)


# Babel's format_decimal and format_currency, with the locale parsed once:
# the same patterns of the locale's data applied the same way (a history page
# formats hundreds of amounts).
def yen(value: int | None, locale: str | None = None) -> str:
    """An amount of yen as the reader writes it: 1,234円 in Japanese,
    ¥1,234 in English, the locale's own separators and sign elsewhere."""
    if value is None:
        return ""
    language = _babel_locale(locale or current())
    if language.language == "ja":
        return language.decimal_formats[None].apply(int(value), language) + "円"
    return language.currency_formats["standard"].apply(int(value), language, currency="JPY", currency_digits=True)


def number(value: int | None, locale: str | None = None) -> str:
    """A whole number with the locale's group separators (points, counts)."""
    if value is None:
        return ""
    language = _babel_locale(locale or current())
    return language.decimal_formats[None].apply(int(value), language)


def points(value: int | None) -> str:
    """A number of points in the reader's words: 1,234 ポイント, 1,234 points, 1.234 điểm."""
    if value is None:
        return ""
    return ngettext("%(points)s ポイント", "%(points)s ポイント", int(value), points=number(value))


# strftime formats the templates use → CLDR skeletons for other languages.
def _skeletons(fmt: str) -> tuple[str, str]:
    """The date and time parts of a strftime format as CLDR skeletons."""
    # The month by name: 3/5 reads as 5 March to some readers and 3 May to others.
    day = ("y" if "%Y" in fmt else "") + ("MMM" if "%m" in fmt else "") + ("d" if "%d" in fmt else "")
    time = ("H" if "%H" in fmt else "") + ("mm" if "%M" in fmt else "") + ("ss" if "%S" in fmt else "")
    return day, time


def jst(value: dt.datetime | None, fmt: str = "%Y/%m/%d %H:%M", locale: str | None = None) -> str:
    """A UTC timestamp in Japan time: `fmt` (strftime) in Japanese, the same
    fields in the reader's own order and separators in other languages."""
    if value is None:
        return ""
    local = value.astimezone(JST)
    locale = locale or current()
    if locale == "ja":
        return local.strftime(fmt)
    language = _babel_locale(locale)
    day, time = _skeletons(fmt)
    parts = [babel_dates.format_skeleton(s, local, locale=language, fuzzy=True) if s else "" for s in (day, time)]
    if all(parts):
        return str(language.datetime_formats["short"]).replace("{1}", parts[0]).replace("{0}", parts[1])
    return parts[0] or parts[1]


def date(value: dt.date | None, locale: str | None = None, fmt: str = "%Y/%m/%d") -> str:
    """A calendar day (西暦): `fmt` in Japanese, the locale's medium date elsewhere."""
    if value is None:
        return ""
    locale = locale or current()
    if locale == "ja":
        return value.strftime(fmt)
    return babel_dates.format_date(value, "medium", locale=_babel_locale(locale))


def init_app(app: Flask) -> None:
    """Flask-Babel with the catalogue parts and the language selector."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Tokyo")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(str(TRANSLATIONS / part) for part in PARTS)
    babel.init_app(app, locale_selector=select_locale)
    babel.domain_instance = PartsDomain(domain=app.config.get("BABEL_DOMAIN", "messages"))
    # The templates' _() and friends straight to the domain's catalogue (the
    # only domain), as Flask-Babel's own callables do through get_domain().
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _catalogue().ugettext(s),
        ngettext=lambda s, p, n: _catalogue().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _catalogue().upgettext(c, s),
        npgettext=lambda c, s, p, n: _catalogue().unpgettext(c, s, p, n),
    )
    app.jinja_env.globals["current_language"] = current
    app.jinja_env.globals["html_lang"] = lambda: HTML_LANG.get(current(), "ja")
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["offered_languages"] = offered
