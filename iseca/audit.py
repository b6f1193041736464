"""監査ログ: every staff and merchant action that changes data is recorded
in the same transaction as the change."""
from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from .extensions import db
from .models import Account, AuditLog


def record(
    action: str,
    target: Any = None,
    details: dict[str, Any] | None = None,
    *,
    actor: Account | None = None,
    actor_label: str | None = None,
) -> AuditLog:
    """Add an audit entry for `action` on `target` (a model object or None)."""
    if actor is None and has_request_context() and current_user and current_user.is_authenticated:
        actor = current_user._get_current_object()  # type: ignore[attr-defined]
    label = actor_label or (f"{actor.kind}:{actor.login}" if actor is not None else "system")
    entry = AuditLog(
        actor_account_id=actor.id if actor is not None else None,
        actor_label=label[:300],
        action=action,
        target_type=type(target).__name__.lower() if target is not None else "",
        target_id=getattr(target, "id", None),
        details=details or None,
        ip_address=(request.remote_addr or "")[:45] if has_request_context() else "",
    )
    db.session.add(entry)
    return entry
