"""Password rules (OWASP ASVS level 2) and hashing."""
from __future__ import annotations

import datetime as dt

import pytest
from argon2 import PasswordHasher

from iseca import passwords
from iseca.config import DEFAULTS
from iseca.models import Account, utcnow


@pytest.mark.parametrize("pw", [
    "correct horse battery staple",
    "いせさき市の地域通貨はイセカ",  # any script is welcome
    "Ünïcödé pässphrase ok",
    "x7$Lq9!vR2#m",  # 12 characters
])
def test_good_passwords_are_accepted(app, pw):
    assert passwords.password_problems(pw) == []


@pytest.mark.parametrize("pw,fragment", [
    ("short", "12文字以上"),
    ("elevenchars", "12文字以上"),
    ("password1234", "推測されやすい"),
    ("qwertyuiop12", "推測されやすい"),
    ("111111111111", "推測されやすい"),
    ("x" * 129, "128文字以内"),
])
def test_weak_passwords_are_refused(app, pw, fragment):
    problems = passwords.password_problems(pw)
    assert problems and fragment in problems[0]


def test_no_composition_rules(app):
    # Lower-case letters and spaces only, but long: fine.
    assert passwords.password_problems("the river runs past the old mill") == []


def test_password_containing_login_is_refused(app):
    assert passwords.password_problems("S00012 is my shop forever", "S00012")


def test_hash_is_argon2id_and_verifies(app):
    account = Account(password_hash=passwords.hash_password("a fine passphrase"))
    assert account.password_hash.startswith("$argon2id$")
    assert passwords.verify_password(account, "a fine passphrase")
    assert not passwords.verify_password(account, "a fine passphrasE")
    assert not passwords.verify_password(None, "anything at all")


def test_full_width_input_matches(app):
    account = Account(password_hash=passwords.hash_password("iseca pass 2026"))
    assert passwords.verify_password(account, "ｉｓｅｃａ　ｐａｓｓ　２０２６")


def test_default_argon2_parameters_meet_owasp_minimum():
    hasher = PasswordHasher(time_cost=DEFAULTS["ARGON2_TIME_COST"], memory_cost=DEFAULTS["ARGON2_MEMORY_COST"],
                            parallelism=DEFAULTS["ARGON2_PARALLELISM"])
    assert hasher.memory_cost >= 19 * 1024 and hasher.time_cost >= 2 and hasher.parallelism >= 1


def test_old_hashes_are_upgraded_on_login(app):
    weak = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1).hash("upgrade me please")
    account = Account(password_hash=weak)
    assert passwords.verify_password(account, "upgrade me please")
    assert account.password_hash != weak and "m=1024" in account.password_hash


def test_password_expiry_after_90_days(app):
    account = Account(password_changed_at=utcnow() - dt.timedelta(days=90, minutes=1))
    assert passwords.password_expired(account)
    account.password_changed_at = utcnow() - dt.timedelta(days=89)
    assert not passwords.password_expired(account)
