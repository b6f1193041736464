"""Password hashing (argon2id) and the password rules (OWASP ASVS level 2):
at least 12 characters, any script, no composition rules, common or easily
guessed passwords refused."""
from __future__ import annotations

import datetime as dt
import secrets
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from zxcvbn import zxcvbn

from .models import Account, utcnow

MAX_LENGTH = 128
# zxcvbn scores 0–4; below 3 is "somewhat guessable" (under 10^8 guesses).
MIN_STRENGTH = 3


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=int(cfg["ARGON2_TIME_COST"]),
        memory_cost=int(cfg["ARGON2_MEMORY_COST"]),
        parallelism=int(cfg["ARGON2_PARALLELISM"]),
    )


def normalize(password: str) -> str:
    """NFKC, so the same passphrase typed with a different IME still matches."""
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher().hash(normalize(password))


# A hash of a random password, verified against when the account does not
# exist so that the answer takes as long either way.
_DUMMY_HASH: dict[tuple, str] = {}


def verify_password(account: Account | None, password: str) -> bool:
    """True when the password is the account's; rehashes old parameters."""
    hasher = _hasher()
    if account is None:
        key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
        if key not in _DUMMY_HASH:
            _DUMMY_HASH[key] = hasher.hash(secrets.token_hex(16))
        try:
            hasher.verify(_DUMMY_HASH[key], normalize(password))
        except VerificationError:
            pass
        return False
    try:
        hasher.verify(account.password_hash, normalize(password))
    except (VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(account.password_hash):
        account.password_hash = hasher.hash(normalize(password))
    return True


def password_problems(password: str, *context: str) -> list[str]:
    """What is wrong with a new password, as messages for the user (empty if fine).

    `context` holds words the password must not be built on (login, name…).
    """
    password = normalize(password)
    min_length = int(current_app.config["PASSWORD_MIN_LENGTH"])
    if len(password) < min_length:
        return [_("パスワードは%(min)d文字以上にしてください（現在%(length)d文字）。", min=min_length, length=len(password))]
    if len(password) > MAX_LENGTH:
        return [_("パスワードは%(max)d文字以内にしてください。", max=MAX_LENGTH)]
    words = [c for c in context if c]
    lowered = password.lower()
    if any(len(w) >= 3 and w.lower() in lowered for w in words):
        return [_("IDや名前を含むパスワードは使えません。")]
    result = zxcvbn(password[:100], user_inputs=words)
    if result["score"] < MIN_STRENGTH:
        return [_("よく使われるパスワードや推測されやすいパスワードは使えません。長めの文やことばの組み合わせをおすすめします。")]
    return []


def set_password(account: Account, password: str, *, initial: bool) -> None:
    """Store a new password. An initial one (issued by the counter) must be
    changed at the next login."""
    account.password_hash = hash_password(password)
    account.password_changed_at = utcnow()
    account.must_change_password = initial


def password_expired(account: Account, now: dt.datetime | None = None) -> bool:
    """True when the password is older than the configured age (90 days)."""
    now = now or utcnow()
    max_age = dt.timedelta(days=int(current_app.config["PASSWORD_MAX_AGE_DAYS"]))
    return now - account.password_changed_at > max_age


def generate_initial_password() -> str:
    """A random initial password that is easy to type from an e-mail."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))
