"""Put what a person typed back into a form of a rendered page.

Used when a submission is refused before any view runs (an expired CSRF
token): the page the form came from is rendered again and the values the
browser sent are written into the matching form, so nothing typed is lost.
Passwords, hidden fields and files are never written back."""
from __future__ import annotations

from collections.abc import Callable
from html import escape
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from werkzeug.datastructures import MultiDict

# Inputs whose value a person types or picks; everything else keeps what the
# fresh page rendered (hidden fields carry a new token, a new idempotency key…).
TYPED_INPUTS = {"text", "search", "email", "tel", "url", "number", "date", "month", "week", "time", "datetime-local", "color", "range"}


def _tag(name: str, attrs: list[tuple[str, str | None]], self_closing: bool) -> str:
    parts = [name]
    for key, value in attrs:
        parts.append(key if value is None else f'{key}="{escape(value, quote=True)}"')
    return "<" + " ".join(parts) + (" />" if self_closing else ">")


def _set(attrs: list[tuple[str, str | None]], key: str, value: str | None, present: bool = True) -> list[tuple[str, str | None]]:
    kept = [(k, v) for k, v in attrs if k != key]
    return kept + [(key, value)] if present else kept


class _Refiller(HTMLParser):
    def __init__(self, html: str, page_url: str, action_path: str, values: MultiDict):
        super().__init__(convert_charrefs=True)
        self.html = html
        self.page_url = page_url
        self.action_path = action_path
        self.values = values
        self.used: dict[str, int] = {}
        self.edits: list[tuple[int, int, str]] = []
        self.line_starts = [0]
        for i, ch in enumerate(html):
            if ch == "\n":
                self.line_starts.append(i + 1)
        self.in_form = False
        self.first_form_at: int | None = None
        self.select_name: str | None = None
        self.textarea: tuple[str, int] | None = None
        self.had_password = False

    def _offset(self) -> int:
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    def _next_value(self, name: str) -> str | None:
        got = self.values.getlist(name)
        index = self.used.get(name, 0)
        self.used[name] = index + 1
        return got[index] if index < len(got) else None

    def _replace_tag(self, tag: str, attrs, self_closing: bool) -> None:
        start = self._offset()
        text = self.get_starttag_text() or ""
        self.edits.append((start, start + len(text), _tag(tag, attrs, self_closing)))

    def handle_starttag(self, tag, attrs):
        self._start(tag, attrs, self_closing=False)

    def handle_startendtag(self, tag, attrs):
        self._start(tag, attrs, self_closing=True)

    def _start(self, tag, attrs, self_closing):
        a = dict(attrs)
        if tag == "form":
            action = urljoin(self.page_url, a.get("action") or "")
            self.in_form = (a.get("method") or "get").lower() == "post" and urlsplit(action).path == self.action_path
            if self.in_form and self.first_form_at is None:
                self.first_form_at = self._offset()
            return
        if not self.in_form:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in TYPED_INPUTS:
                value = self._next_value(name)
                if value is not None:
                    self._replace_tag(tag, _set(attrs, "value", value), self_closing)
            elif kind == "password":
                self.had_password = True
            elif kind in ("checkbox", "radio"):
                checked = (a.get("value") or "on") in self.values.getlist(name)
                self._replace_tag(tag, _set(attrs, "checked", None, present=checked), self_closing)
        elif tag == "textarea" and name:
            self.textarea = (name, self._offset() + len(self.get_starttag_text() or ""))
        elif tag == "select" and name:
            self.select_name = name
        elif tag == "option" and self.select_name and "value" in a:
            chosen = a["value"] in self.values.getlist(self.select_name)
            self._replace_tag(tag, _set(attrs, "selected", None, present=chosen), self_closing)

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "select":
            self.select_name = None
        elif tag == "textarea" and self.textarea:
            name, content_start = self.textarea
            self.textarea = None
            value = self._next_value(name)
            if value is not None:
                # A leading newline right after <textarea> is dropped by parsers: keep it.
                text = ("\n" + value) if value.startswith("\n") else value
                self.edits.append((content_start, self._offset(), escape(text, quote=False)))


def refill_form(html: str, page_url: str, action_path: str, values: MultiDict,
                before_form: Callable[[bool], str]) -> str | None:
    """`html` with the POST forms that submit to `action_path` filled from
    `values`, and `before_form(had_password)` inserted before the first of
    them (passwords are left empty: say so); None when the page has no such form."""
    parser = _Refiller(html, page_url, action_path, values)
    parser.feed(html)
    parser.close()
    if parser.first_form_at is None:
        return None
    edits = sorted(parser.edits + [(parser.first_form_at, parser.first_form_at, before_form(parser.had_password))])
    out, last = [], 0
    for start, end, text in edits:
        out.append(html[last:start])
        out.append(text)
        last = end
    out.append(html[last:])
    return "".join(out)
