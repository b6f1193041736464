"""監査ログ: every staff and merchant action that changes data is recorded
in the same transaction as the change. Append-only: nothing here (or
anywhere) updates or deletes a row."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import has_request_context, request
from flask_babel import gettext, pgettext
from flask_login import current_user
from sqlalchemy import bindparam, insert, or_, select

from . import i18n
from .database import contains_text
from .extensions import db
from .i18n import N_
from .labels import ACCOUNT_KIND, AUDIT_DETAIL_VALUE, label
from .models import (
    Account,
    AccountKind,
    AuditLog,
    Business,
    Payment,
    Register,
    Store,
    StoreImage,
    utcnow,
)
from .timeutil import start_of_day_utc


def business_of(target: Any) -> int | None:
    """The 事業者 a row is about, read from its target (for 操作履歴)."""
    if isinstance(target, Business):
        return target.id
    if isinstance(target, (Store, Account)):
        return target.business_id
    if isinstance(target, (Register, Payment, StoreImage)):
        store = db.session.get(Store, target.store_id)
        return store.business_id if store is not None else None
    return None


def record(
    action: str,
    target: Any = None,
    details: dict[str, Any] | None = None,
    *,
    actor: Account | None = None,
    actor_label: str | None = None,
    business_id: int | None = None,
) -> AuditLog:
    """Add an audit entry for `action` on `target` (a model object or None)."""
    if actor is None and actor_label is None and has_request_context() and current_user and current_user.is_authenticated:
        actor = current_user._get_current_object()  # type: ignore[attr-defined]
    entry = AuditLog(**_values(
        action,
        type(target).__name__.lower() if target is not None else "",
        getattr(target, "id", None),
        details,
        actor=actor,
        actor_label=actor_label,
        business_id=business_id if business_id is not None else business_of(target),
    ))
    db.session.add(entry)
    return entry


_INSERT = insert(AuditLog.__table__)


def write(action: str, target_type: str, target_id: int, details: dict[str, Any], *, actor: Account,
          business_id: int | None) -> None:
    """`record` for a row whose target is known by its id (a payment written
    by Core statements): one INSERT now, on the session's connection, in the
    same transaction as the change."""
    db.session.connection().execute(_INSERT, _values(action, target_type, target_id, details, actor=actor,
                                                     business_id=business_id))


_ROW_PARAMETERS = ("at", "actor_account_id", "actor_label", "action", "target_type", "ip_address", "business_id")


def insert_from(target_id, details):
    """`write` as an INSERT … SELECT whose target id and details are SQL
    expressions (of a row written in the same statement) and whose other
    columns are the parameters `parameters` gives."""
    table = AuditLog.__table__
    source = select(*[bindparam(f"audit_{name}", type_=table.c[name].type) for name in _ROW_PARAMETERS],
                    target_id, details)
    return insert(table).from_select([*_ROW_PARAMETERS, "target_id", "details"], source)


def parameters(action: str, target_type: str, *, actor: Account, business_id: int | None) -> dict[str, Any]:
    """The parameters of an `insert_from` statement: who, what, from where."""
    values = _values(action, target_type, None, None, actor=actor, business_id=business_id)
    return {f"audit_{name}": values[name] for name in _ROW_PARAMETERS}


def _values(action, target_type, target_id, details, *, actor, actor_label=None, business_id) -> dict[str, Any]:
    """The columns of an audit row: who (the account, or a label), what, on
    what, from which address."""
    label = actor_label or (f"{actor.kind}:{actor.login}" if actor is not None else "system")
    return {
        "at": utcnow(),
        "actor_account_id": actor.id if actor is not None else None,
        "actor_label": label[:300],
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "details": details or None,
        "ip_address": (request.remote_addr or "")[:45] if has_request_context() else "",
        "business_id": business_id,
    }


# ---------------------------------------------------------------------------
# Reading the log: staff search (監査ログ) and a business's 操作履歴
# ---------------------------------------------------------------------------


@dataclass
class AuditQuery:
    """What to look for; every part optional. `business_ids` confines the
    rows to some merchants (a business account's own: always set there)."""

    actor: str = ""
    action: str = ""
    business_code: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    business_ids: list[int] | None = None


def search(query: AuditQuery):
    """The SELECT of the rows matching `query`, newest first, with each row's
    actor and merchant name."""
    stmt = (
        select(AuditLog, Business.code, Business.name)
        .outerjoin(Business, Business.id == AuditLog.business_id)
    )
    if query.business_ids is not None:
        stmt = stmt.where(AuditLog.business_id.in_(query.business_ids))
    if query.actor:
        stmt = stmt.where(contains_text(AuditLog.actor_label, actor_search_text(query.actor)))
    if query.action:
        stmt = stmt.where(AuditLog.action == query.action)
    if query.business_code:
        stmt = stmt.where(or_(Business.code == query.business_code, contains_text(Business.name, query.business_code)))
    if query.date_from:
        stmt = stmt.where(AuditLog.at >= start_of_day_utc(query.date_from))
    if query.date_to:
        stmt = stmt.where(AuditLog.at < start_of_day_utc(query.date_to + dt.timedelta(days=1)))
    return stmt.order_by(AuditLog.id.desc())


ACCOUNT_KIND_VALUES = {kind.value for kind in AccountKind}

CSV_HEADER = [N_("日時"), N_("操作"), N_("操作者"), N_("事業者コード"), N_("事業者名"), N_("対象"), N_("対象ID"), N_("内容"), N_("IPアドレス")]


def actor_search_text(typed: str) -> str:
    """What to look for in the stored actor (business:B00001) when a person
    types it as the rows show it: 事業者:B00001 or Business:B00001 (the
    kind in Japanese or in the reader's language), or the kind alone."""
    kind_word, sep, login = typed.replace("：", ":").partition(":")
    wanted = kind_word.strip().casefold()
    for kind in AccountKind:
        words = {label(kind, "account_kind"), account_kind_word(kind.value)}
        with i18n.force_locale("ja"):
            words.add(label(kind, "account_kind"))
        if wanted in {word.casefold() for word in words}:
            return f"{kind.value}:{login.strip()}"
    return typed


def describe_actor(actor_label: str) -> str:
    """Who did it, as the log shows it: an account's kind in words before
    its ID (事業者:B00001); "cli", "public" and "system" as they are."""
    kind, sep, login = actor_label.partition(":")
    if sep and kind in ACCOUNT_KIND_VALUES:
        return f"{account_kind_word(kind)}:{login}"
    return actor_label


def account_kind_word(kind: str) -> str:
    """An account's kind as the login page names it (Store, Business), else its label."""
    word = ACCOUNT_KIND.get(AccountKind(kind))
    heading = pgettext("user type", word) if word else word
    return heading if word and heading != word else label(kind, "account_kind")


def describe_details(details: dict | None) -> str:
    """The row's details as one line of `項目: 値` (for the screen and CSV):
    each key in the words of labels.AUDIT_DETAIL, and a value that is one of
    the product's own (a login's area, the fields changed) in the words of
    its table."""
    if not details:
        return ""

    def text(key, value) -> str:
        table = AUDIT_DETAIL_VALUE.get(key)
        if isinstance(value, list):
            return gettext("・").join(label(v, table) if table else str(v) for v in value)
        return label(value, table) if table else str(value)

    return gettext("、").join(f"{label(key, 'audit_detail')}: {text(key, value)}" for key, value in details.items()
                             if value not in (None, "", []))


def csv_rows(stmt) -> Iterator[list]:
    """The rows of `search` as CSV cells."""
    from .csvexport import datetime_text

    for entry, code, name in db.session.execute(stmt.execution_options(yield_per=1000)):
        yield [datetime_text(entry.at), label(entry.action, "audit_action"), describe_actor(entry.actor_label),
               code or "", name or "", label(entry.target_type, "audit_target"),
               entry.target_id if entry.target_id is not None else "",
               describe_details(entry.details), entry.ip_address]
