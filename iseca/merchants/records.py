"""Businesses, stores and registers: creation with generated codes."""
from __future__ import annotations

import secrets

from ..extensions import db
from ..models import Business, Register, Store


def new_qr_token() -> str:
    """The random part of a register's QR address (not guessable)."""
    return secrets.token_urlsafe(24)


def create_business(**fields) -> Business:
    """A business with its code (事業者コード B + 5 digits, from its id)."""
    business = Business(code=f"TMP-{secrets.token_hex(6)}", **fields)
    db.session.add(business)
    db.session.flush()
    business.code = f"B{business.id:05d}"
    return business


def create_store(business: Business, **fields) -> Store:
    """A store of `business` with its code (店舗コード S + 5 digits)."""
    store = Store(business_id=business.id, code=f"TMP-{secrets.token_hex(6)}", **fields)
    db.session.add(store)
    db.session.flush()
    store.code = f"S{store.id:05d}"
    return store


def create_register(store: Store, name: str = "レジ1") -> Register:
    """A register (レジ) of a store, with a fresh QR token."""
    # By the relationship, so a `store.registers` already loaded (the
    # store account's own, loaded with its login) includes the new one.
    register = Register(store=store, name=name, qr_token=new_qr_token())
    db.session.add(register)
    db.session.flush()
    return register
