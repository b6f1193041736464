"""Odd input to every route of the app, as every kind of account: whatever
is sent, the answer is never a server error (5xx or an exception).

A seeded generator mutates the path values, the query parameters and the
form fields of each route in `app.url_map` (NUL and other control
characters, ids beyond the database's integers, Unicode digits, 5,000-digit
numbers, long strings, impossible dates, repeated keys, files where text is
expected, JSON and other bodies, nothing at all). The seed is printed with
any failure; replay it with ISECA_FUZZ_SEED=<seed>. ISECA_FUZZ_CASES sets the
number of mutated requests (default 2,000 per database).
"""
from __future__ import annotations

import contextvars
import inspect
import io
import json
import os
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import parse_qsl, quote

import pytest
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict
from wtforms import Form
from wtforms.fields.core import UnboundField

from iseca.extensions import db, limiter
from iseca.models import utcnow
from tests import factories
from tests.support.client import basic_auth_header, login

SEED = int(os.environ.get("ISECA_FUZZ_SEED") or random.SystemRandom().randrange(2**32))
CASES = int(os.environ.get("ISECA_FUZZ_CASES") or 2000)
ACCOUNT_KINDS = ("anonymous", "member", "store", "business", "staff")
# Ending the fuzzing account's own session would leave the rest of its turn
# anonymous; logging out is covered by the auth tests.
SKIPPED_ENDPOINTS = {"static", "auth.logout"}
# Slow answers (PDFs, images): fewer cases keep the run inside its budget.
SLOW = re.compile(r"\.pdf$|\.png$|/qr$|/sheet/")

HUGE_IDS = ["2147483648", "9223372036854775808", "9" * 30, "0", "-1", "00000000000000000001"]
ODD_TEXT = [
    "\x00", "a\x00b", "\x1b[31m", "\x7f", "\u0085", "²", "①⓪", "𐩀" * 3, "٣٣", "9" * 5000, "1" * 24, "x" * 3000,
    "", " ", "　", "-5", "1.5", "1e3", "0x10", "0001-01-01", "9999-12-31", "2026-02-30", "２０２６／０４／０１",
    "<script>alert(1)</script>", "' OR 1=1 --", "%", "_", "\\", "\u202e", "🙂", "Ａｂｃ", "null", "true", "[]", "{}",
    "=1+2", "１，０００円", "¥1,000", "00000000000001",
]


@dataclass
class World:
    """Real rows, so that a mutated request also reaches the deep parts of a view."""

    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    logins: dict[str, tuple[str, str, str | None]] = field(default_factory=dict)


@pytest.fixture
def world(app) -> World:
    campaign = factories.make_campaign()
    business = factories.make_business()
    store = factories.make_store(business, registers=2)
    factories.make_store(business)
    other = factories.make_store()
    member, card = factories.make_card_member(5_000, campaign)
    app_member, member_account = factories.make_app_member(5_000, campaign)
    payment = factories.make_payment_at(store.registers[0], member, 100, utcnow(), card=card)
    factories.make_payment_at(other.registers[0], app_member, 200, utcnow())
    factories.make_staff()
    world = World()
    world.ids = sorted({str(i) for i in (campaign.id, business.id, store.id, other.id, member.id, card.id, payment.id,
                                         store.registers[0].id, store.registers[1].id, member_account.id, 1, 2, 3)})
    world.texts = [store.registers[0].qr_token, card.number, card.secret, card.batch, member.code, store.code,
                   business.code, "cms", "terminal", "counter", "wallet", "1000", "2026-04-01", "completed",
                   "customer_scan", "grant", "charge", "y"]
    world.logins = {
        "member": (member_account.login, "wallet", None),
        "store": (store.code, "cms", "store"),
        "business": (business.code, "cms", "business"),
        "staff": ("staff1", "counter", None),
    }
    return world


def _open(client, url: str, **kwargs) -> tuple[int, str]:
    """A request read to its end inside its own context, as a server thread
    does (streamed CSV answers are generated while they are read)."""
    db.session.commit()

    def run():
        response = FlaskClient.open(client, url, buffered=True, **kwargs)
        body = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
        response.close()
        return response.status_code, body

    return contextvars.Context().run(run)


def _client(app, world: World, kind: str):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
    if kind != "anonymous":
        code, area, account_kind = world.logins[kind]
        app.config["WTF_CSRF_ENABLED"] = True  # the login form as a browser sends it
        response = login(client, code, factories.PASSWORD, area=area, kind=account_kind)
        assert response.status_code == 303, (kind, response.status_code)
    app.config["WTF_CSRF_ENABLED"] = False  # then reach the code behind the token check
    return client


def _form_field_names() -> set[str]:
    """Every field of every form class of the app."""
    names: set[str] = set()
    pending = [Form]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("iseca"):
            names.update(name for name, value in inspect.getmembers(cls) if isinstance(value, UnboundField))
    return names


REQUEST_READ = re.compile(r"request\.(?:args|form|values|files)\.get(?:list)?\(\s*[\"']([^\"']+)[\"']")
FORM_RE = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)
FIELD_RE = re.compile(r"<(?:input|select|textarea)\b([^>]*)>", re.S)
OPTION_RE = re.compile(r'<option\b[^>]*\bvalue="([^"]*)"')
HREF_RE = re.compile(r'\bhref="(/[^"#]*\?[^"#]*)"')
ATTR_RE = re.compile(r'\b([\w-]+)="([^"]*)"')
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _view_names(app, endpoint: str) -> set[str]:
    """The parameters a view's module reads by name (request.args.get("before") …)."""
    try:
        source = inspect.getsource(inspect.getmodule(inspect.unwrap(app.view_functions[endpoint])))
    except (OSError, TypeError):
        return set()
    return set(REQUEST_READ.findall(source))


class Baselines:
    """What the app's own pages send to each endpoint (form fields with their
    values, query strings of links): the starting point of each mutation, so
    that a mutated request gets past the first check and reaches deep code."""

    def __init__(self, app):
        self.adapter = app.url_map.bind("localhost")
        self.by_endpoint: dict[tuple[str, str], list[tuple[str, str]]] = {}

    def _endpoint(self, url: str, method: str) -> str | None:
        try:
            endpoint, _ = self.adapter.match(url.split("?")[0].split("#")[0], method=method)
        except Exception:  # noqa: BLE001 — not one of the app's routes
            return None
        return endpoint

    def learn(self, page_url: str, html: str) -> None:
        for attrs, body in FORM_RE.findall(html):
            form = dict(ATTR_RE.findall(attrs))
            method = form.get("method", "get").upper()
            action = unescape(form.get("action") or page_url)
            endpoint = self._endpoint(action, method)
            if endpoint is None:
                continue
            pairs = []
            for field_attrs in FIELD_RE.findall(body):
                attr = dict(ATTR_RE.findall(field_attrs))
                if "name" in attr and attr["name"] != "csrf_token":
                    pairs.append((unescape(attr["name"]), unescape(attr.get("value", ""))))
            pairs += [("status", v) for v in OPTION_RE.findall(body)[:1] if not any(n == "status" for n, _ in pairs)]
            self.by_endpoint[(endpoint, method)] = pairs
        for href in HREF_RE.findall(html):
            href = unescape(href)
            endpoint = self._endpoint(href, "GET")
            if endpoint is not None:
                self.by_endpoint.setdefault((endpoint, "GET"), parse_qsl(href.split("?", 1)[1], keep_blank_values=True))

    def get(self, endpoint: str, method: str) -> list[tuple[str, str]]:
        return list(self.by_endpoint.get((endpoint, method), []))


def _odd_value(rng: random.Random, world: World, control: bool) -> str:
    roll = rng.random()
    if roll < 0.45:
        value = rng.choice(ODD_TEXT)
    elif roll < 0.6:
        value = rng.choice(HUGE_IDS)
    elif roll < 0.85:
        value = rng.choice(world.ids + world.texts)
    else:  # a real value with something odd inside it
        base = rng.choice(world.ids + world.texts + ["1000"])
        cut = rng.randrange(len(base) + 1)
        value = base[:cut] + rng.choice(["\x00", "²", "①", "\u3000", "9" * 40, "\r\n"]) + base[cut:]
    return value if control else CONTROL.sub("", value)


def _path(rule, rng: random.Random, world: World, odd: bool, control: bool) -> str:
    def value(match: re.Match) -> str:
        converter = match.group(1) or ""
        if converter.startswith("any("):
            return rng.choice(re.findall(r"\w+", converter[4:]))
        if converter == "int":
            choice = rng.choice(HUGE_IDS) if odd and rng.random() < 0.5 else rng.choice(world.ids)
        else:
            choice = _odd_value(rng, world, control) if odd and rng.random() < 0.5 else rng.choice(world.texts)
        return quote(choice, safe="") or "x"

    return re.sub(r"<(?:([^:<>]+):)?([^<>]+)>", value, rule.rule)


def _mutated(rng: random.Random, world: World, baseline: list[tuple[str, str]], names: list[str],
             control: bool) -> list[tuple[str, str]]:
    """The baseline with one to three values replaced, sometimes a field
    dropped, another added or a key repeated."""
    params = list(baseline)
    for _ in range(rng.randint(1, 3)):
        if params and rng.random() < 0.75:
            i = rng.randrange(len(params))
            params[i] = (params[i][0], _odd_value(rng, world, control))
        elif names:
            params.append((rng.choice(names), _odd_value(rng, world, control)))
    if params and rng.random() < 0.1:
        params.pop(rng.randrange(len(params)))
    if params and rng.random() < 0.1:
        params.append((rng.choice(params)[0], _odd_value(rng, world, control)))  # the same key twice
    return params


def _send(client, rng: random.Random, world: World, method: str, url: str, baselines: Baselines, endpoint: str,
          names: list[str]):
    """One mutated request; returns (status, html, what was sent)."""
    control = rng.random() < 0.15
    get_params = baselines.get(endpoint, "GET")
    query = _mutated(rng, world, get_params, names, control) if method == "GET" else (
        get_params if rng.random() < 0.7 else _mutated(rng, world, get_params, names, control))
    kwargs: dict = {"query_string": query}
    if method == "POST":
        body = rng.random()
        form = _mutated(rng, world, baselines.get(endpoint, "POST"), names, control)
        if body < 0.08:
            kwargs.update(data=json.dumps(rng.choice([dict(form), [1, 2], "x", {"amount": {"a": 1}}, None])),
                          content_type="application/json")
        elif body < 0.12:
            kwargs.update(data=rng.choice(["", "a=1&b", "\x00", "%zz=%00"]), content_type=rng.choice(
                ["text/plain", "application/x-www-form-urlencoded", "application/xml"]))
        elif body < 0.25:
            data = MultiDict(form)
            target = rng.choice([n for n, _ in form] + ["file", "image"])
            data.add(target, (io.BytesIO(rng.choice([b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, b"1234567890,1000\n",
                                                     "1234567890,①⓪\n".encode(), b"\xff\xfe\x00\x00", b""])),
                              rng.choice(["a.png", "a.csv", "a"])))
            kwargs.update(data=data, content_type="multipart/form-data")
        elif body < 0.28:
            pass  # nothing at all
        else:
            kwargs.update(data=MultiDict(form))
    try:
        status, html = _open(client, url, method=method, **kwargs)
    except Exception as error:  # noqa: BLE001 — an exception is the failure being looked for
        db.session.rollback()
        return f"{type(error).__name__}: {error}"[:300], "", kwargs
    return status, html, kwargs


def test_odd_input_never_gets_a_server_error(app, world, capsys):
    """Every route × every kind of account × mutated values: no 5xx."""
    with capsys.disabled():
        print(f"\nfuzz seed {SEED} on {db.engine.dialect.name} (replay: ISECA_FUZZ_SEED={SEED})")
    rng = random.Random(SEED)
    throttling = limiter.enabled
    limiter.enabled = False
    all_fields = sorted(_form_field_names())
    rules = sorted((r for r in app.url_map.iter_rules() if r.endpoint not in SKIPPED_ENDPOINTS), key=lambda r: r.rule)
    pairs = [(rule, method) for rule in rules for method in sorted(rule.methods & {"GET", "POST"})]
    failures = []
    answers: Counter = Counter()
    try:
        for kind in ACCOUNT_KINDS:
            client = _client(app, world, kind)
            baselines = Baselines(app)
            # First what the pages themselves offer, as this account sees them.
            reachable = []
            for rule, method in pairs:
                if "GET" in rule.methods and method == "GET":
                    url = _path(rule, rng, world, odd=False, control=False)
                    status, page = _open(client, url)
                    baselines.learn(url, page)
                    if status < 300:
                        reachable.append(rule.endpoint)
            # One try where this account is sent to log in; the rest of its
            # share where it gets in.
            areas = {endpoint.split(".")[0] for endpoint in reachable}
            inside = [rule.endpoint in reachable or (method == "POST" and rule.endpoint.split(".")[0] in areas)
                      for rule, method in pairs]
            share = (CASES / len(ACCOUNT_KINDS) - inside.count(False)) / max(1, inside.count(True))
            for (rule, method), gets_in in zip(pairs, inside, strict=True):
                names = sorted(_view_names(app, rule.endpoint) | set(rng.sample(all_fields, k=3)))
                count = 1 if SLOW.search(rule.rule) or not gets_in else max(1, round(share))
                for _ in range(count):
                    control = rng.random() < 0.15
                    url = _path(rule, rng, world, odd=rng.random() < 0.3, control=control)
                    status, html, sent = _send(client, rng, world, method, url, baselines, rule.endpoint, names)
                    answers[status if isinstance(status, int) else "exception"] += 1
                    if not isinstance(status, int) or status >= 500:
                        failures.append((kind, method, url, status, sent))
                    elif html and method == "POST":
                        baselines.learn(url, html)  # a preview's forms (一括付与の確定 …)
    finally:
        limiter.enabled = throttling
    with capsys.disabled():
        print(f"fuzz seed {SEED}: {sum(answers.values())} requests, answers {dict(sorted(answers.items(), key=str))}")
    shown = "\n".join(repr(f)[:600] for f in failures[:15])
    assert not failures, f"{len(failures)} server errors (ISECA_FUZZ_SEED={SEED}):\n{shown}"
