"""レジ一覧: adding, renaming and retiring a store's registers (tills).

A store may have several registers; each has its own store QR code (see
iseca/qr.py). A retired register keeps its history (payments point to it)
but its code no longer pays, and a store always keeps one register in use.
"""
from __future__ import annotations

import unicodedata

from flask_babel import gettext as _
from sqlalchemy import func, select

from .. import audit
from ..extensions import db
from ..models import Register, Store, utcnow
from .records import create_register

NAME_MAX_LENGTH = 30  # fits on one line of the printed 台紙
MAX_ACTIVE_REGISTERS = 50


class RegisterError(ValueError):
    """A rule of the register list was broken; the message is for the user."""


def active_registers(store: Store) -> list[Register]:
    """The registers in use at `store`, oldest first."""
    return list(
        db.session.scalars(
            select(Register).where(Register.store_id == store.id, Register.retired_at.is_(None)).order_by(Register.id)
        )
    )


def all_registers(store: Store) -> list[Register]:
    """Every register of `store`: in use first, then retired ones."""
    return list(
        db.session.scalars(
            select(Register)
            .where(Register.store_id == store.id)
            .order_by(Register.retired_at.is_not(None), Register.id)
        )
    )


def clean_name(raw: str | None) -> str:
    """A register name as stored: NFC, trimmed, inner runs of spaces folded."""
    name = " ".join(unicodedata.normalize("NFC", raw or "").split())
    if not name:
        raise RegisterError(_("レジ名を入力してください。"))
    if len(name) > NAME_MAX_LENGTH:
        raise RegisterError(_("レジ名は%(max)s文字以内で入力してください。", max=NAME_MAX_LENGTH))
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        raise RegisterError(_("レジ名に使えない文字が含まれています。"))
    return name


def _check_unique(store: Store, name: str, exclude: Register | None = None) -> None:
    stmt = select(Register.id).where(
        Register.store_id == store.id, Register.retired_at.is_(None), Register.name == name
    )
    if exclude is not None:
        stmt = stmt.where(Register.id != exclude.id)
    if db.session.scalar(stmt) is not None:
        raise RegisterError(_("「%(name)s」というレジはすでにあります。別の名前にしてください。", name=name))


def add_register(store: Store, raw_name: str) -> Register:
    """Add a register (with its own new QR code) to `store`."""
    name = clean_name(raw_name)
    _check_unique(store, name)
    count = db.session.scalar(
        select(func.count()).select_from(Register).where(Register.store_id == store.id, Register.retired_at.is_(None))
    )
    if count >= MAX_ACTIVE_REGISTERS:
        raise RegisterError(_("1店舗で利用できるレジは%(max)s台までです。", max=MAX_ACTIVE_REGISTERS))
    register = create_register(store, name)
    audit.record("register.create", register, {"store_code": store.code, "name": name})
    return register


def rename_register(register: Register, raw_name: str) -> bool:
    """Rename a register in use; False when the name did not change.
    The code stays valid (it carries the token, not the name), but a printed
    台紙 shows the old name until reprinted."""
    if register.retired_at is not None:
        raise RegisterError(_("廃止したレジの名前は変更できません。"))
    name = clean_name(raw_name)
    if name == register.name:
        return False
    _check_unique(register.store, name, exclude=register)
    old = register.name
    register.name = name
    audit.record("register.rename", register, {"store_code": register.store.code, "from": old, "to": name})
    return True


def retire_register(register: Register) -> None:
    """廃止: the register's code stops paying; its history stays. The last
    register in use of a store cannot be retired."""
    if register.retired_at is not None:
        return
    # Lock the store row so two retirements at once cannot both pass the check.
    db.session.execute(select(Store.id).where(Store.id == register.store_id).with_for_update())
    others = db.session.scalar(
        select(func.count())
        .select_from(Register)
        .where(Register.store_id == register.store_id, Register.retired_at.is_(None), Register.id != register.id)
    )
    if not others:
        raise RegisterError(_("利用中のレジが1台だけのため廃止できません。先に新しいレジを追加してください。"))
    register.retired_at = utcnow()
    audit.record("register.retire", register, {"store_code": register.store.code, "name": register.name})
