"""One-time request keys: a form that moves points carries a random key (a
hidden field), and the first request with that key is the only one that
acts. A repeat of it (double tap, network retry, resubmitted form, the same
POST sent many times at once) gets the first result back; the same key with
a different request is refused.

The key's row is inserted in the transaction of the work it guards, so a
key exists exactly when that work was committed. The messages a clerk or
customer reads are given by the caller (a payment and a grant say different
things).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import String, bindparam, delete, func, select, update
from sqlalchemy.exc import OperationalError

from ..database import insert_ignoring_conflict
from ..extensions import db
from ..models import IdempotencyKey, utcnow

_KEY_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")


@dataclass(frozen=True)
class Messages:
    """What the caller's user is told when a key is refused."""

    invalid: str  # no key, or not one of ours: the page is stale
    reused: str  # the key came before with another request
    in_flight: str  # the first request with the key is still running


class KeyRefused(Exception):
    """A request its key does not allow; the message is the caller's."""


class KeyInvalid(KeyRefused):
    """No usable key came with the request."""


class KeyReused(KeyRefused):
    """The same key came with a different request (HTTP 422)."""


class RequestInFlight(KeyRefused):
    """The first request with this key is being processed right now (HTTP 409)."""


def new_key() -> str:
    """A fresh key for a form."""
    return secrets.token_urlsafe(24)


def valid_key(key: str | None) -> bool:
    """Whether `key` looks like one of ours (checked before it touches the database)."""
    return bool(key and _KEY_RE.fullmatch(key))


def fingerprint(**fields: Any) -> str:
    """A fingerprint of what a request asks for: the same key must come with the same one."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def _claim_statement_postgresql():
    """INSERT … SELECT … FROM (SELECT set_config('lock_timeout', …, true))
    ON CONFLICT DO NOTHING RETURNING id: the key's row is produced after the
    lock timeout is in force, so waiting for an uncommitted insert of the
    same key is bounded by it (one round trip). Built once."""
    from sqlalchemy.dialects.postgresql import insert

    table = IdempotencyKey.__table__
    timeout = select(func.set_config("lock_timeout", bindparam("wait_ms", type_=String), True).label("t")).subquery()
    names = ["account_id", "key", "request_hash", "created_at"]
    row = select(*[bindparam(name, type_=table.c[name].type) for name in names]).where(timeout.c.t.is_not(None))
    return (
        insert(table)
        .from_select(names, row)
        .on_conflict_do_nothing(index_elements=["account_id", "key"])
        .returning(table.c.id)
    )


CLAIM_POSTGRESQL = _claim_statement_postgresql()


def claim_parameters(account_id: int, key: str | None, request_fingerprint: str, messages: Messages) -> dict[str, Any]:
    """The parameters of CLAIM_POSTGRESQL for `key` (KeyInvalid when it is not one of ours)."""
    if not valid_key(key):
        raise KeyInvalid(messages.invalid)
    # A duplicate waits this long for the first request to finish, then
    # replays its result; past it the user is told it is in progress.
    wait_ms = int(float(current_app.config.get("IDEMPOTENCY_WAIT_SECONDS", 5)) * 1000)
    return {"account_id": account_id, "key": key, "request_hash": request_fingerprint, "created_at": utcnow(),
            "wait_ms": str(wait_ms)}


@contextmanager
def lock_waits_refused(messages: Messages):
    """A claim's lock wait that ran out means the first request with the key
    is still running: RequestInFlight. Anything else (a lost connection …)
    is a real error."""
    try:
        yield
    except OperationalError as error:
        lock_timeout = getattr(error.orig, "sqlstate", None) == "55P03" or "database is locked" in str(error.orig)
        if not lock_timeout:
            raise
        raise RequestInFlight(messages.in_flight) from error


def claim(account_id: int, key: str | None, request_fingerprint: str, messages: Messages) -> IdempotencyKey | None:
    """Record `key` for the account in the current transaction. Returns None
    when it is new (go ahead and do the work), or the row of the first
    request with that key (replay its result). Raises KeyInvalid, KeyReused
    or RequestInFlight with the caller's message."""
    values = claim_parameters(account_id, key, request_fingerprint, messages)
    with lock_waits_refused(messages):
        if db.session.get_bind().dialect.name == "postgresql":
            new_id = db.session.connection().execute(CLAIM_POSTGRESQL, values).scalar()
        else:
            del values["wait_ms"]
            new_id = insert_ignoring_conflict(IdempotencyKey, ["account_id", "key"], values)
    if new_id is not None:
        return None
    return first_claim(account_id, key, request_fingerprint, messages)


def first_claim(account_id: int, key: str, request_fingerprint: str, messages: Messages) -> IdempotencyKey:
    """The row of the first request with `key`, when a claim found it taken:
    KeyReused when it asked for something else, RequestInFlight when it has
    no result yet."""
    first = db.session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.account_id == account_id, IdempotencyKey.key == key)
    )
    if first.request_hash != request_fingerprint:
        raise KeyReused(messages.reused)
    if first.result is None:
        raise RequestInFlight(messages.in_flight)
    return first


def finish(account_id: int, key: str, result: dict[str, Any], *, payment_id: int | None = None) -> None:
    """Store the result of the work a claimed key guarded (same transaction)."""
    db.session.connection().execute(
        _FINISH_WITH_PAYMENT if payment_id is not None else _FINISH,
        {"account_id_": account_id, "key_": key, "result": result, "payment_id": payment_id},
    )


_KEYS = IdempotencyKey.__table__
_FINISH = (update(_KEYS)
           .where(_KEYS.c.account_id == bindparam("account_id_"), _KEYS.c.key == bindparam("key_"))
           .values(result=bindparam("result", type_=_KEYS.c.result.type)))
_FINISH_WITH_PAYMENT = _FINISH.values(payment_id=bindparam("payment_id", type_=_KEYS.c.payment_id.type))


def finish_with_payment(payment_id, result):
    """`finish` as a statement of SQL expressions (the payment's id and the
    result built in the database), for a statement that writes the payment
    in the same round trip; parameters account_id_ and key_."""
    return _FINISH.values(payment_id=payment_id, result=result)


def stored(account_id: int, key: str | None) -> tuple[int | None, dict[str, Any]] | None:
    """(payment id, result) recorded under the account's key, or None (found by its unique index)."""
    if not valid_key(key):
        return None
    row = db.session.execute(
        select(IdempotencyKey.payment_id, IdempotencyKey.result)
        .where(IdempotencyKey.account_id == account_id, IdempotencyKey.key == key)
    ).first()
    if row is None or not row.result:
        return None
    return row.payment_id, row.result


@dataclass(frozen=True)
class Outcome:
    """What became of a request sent with a key, as its account may ask
    (a till that lost the answer): DONE with the payment and its stored
    result, PENDING while the first request is still running, NONE when the
    key was never recorded for this account (nothing was done: sending the
    request again with the same key acts once)."""

    state: str
    payment_id: int | None = None
    result: dict[str, Any] | None = None

    DONE = "done"
    PENDING = "pending"
    NONE = "none"


def outcome(account_id: int, key: str | None) -> Outcome:
    """The outcome of `key` for `account_id` alone (another account's key
    is NONE: it neither reads nor confirms anything)."""
    if not valid_key(key):
        return Outcome(Outcome.NONE)
    row = db.session.execute(
        select(IdempotencyKey.payment_id, IdempotencyKey.result)
        .where(IdempotencyKey.account_id == account_id, IdempotencyKey.key == key)
    ).first()
    if row is None:
        return Outcome(Outcome.NONE)
    if not row.result:
        return Outcome(Outcome.PENDING)
    return Outcome(Outcome.DONE, row.payment_id, row.result)


def prune(older_than: dt.timedelta) -> int:
    """Forget keys older than `older_than` (at least a day, so a till's
    retry always finds its first result). Returns how many went."""
    if older_than < dt.timedelta(days=1):
        raise ValueError("keys are kept at least 24 hours")
    result = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < utcnow() - older_than))
    return result.rowcount
