"""Default configuration. Every key can be overridden as ISECA_<KEY> in the
environment (Flask's `from_prefixed_env`, values parsed as JSON when they can
be: ISECA_MAIL_PORT=2525 is an int)."""
from __future__ import annotations

import datetime as dt
import os
import secrets
import time
from pathlib import Path

from flask import Flask

DEFAULTS: dict[str, object] = {
    # Production switch: refuses to start without a secret key and shared
    # throttling storage; marks cookies Secure.
    "PRODUCTION": False,
    "SQLALCHEMY_DATABASE_URI": None,  # default: SQLite file in instance/
    # No pool_pre_ping round trip per request: connections.install_disconnect_check
    # finds connections the server closed by looking at their sockets.
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    # First gate of the management site (HTTP BASIC), as in the merchant guide.
    "BASIC_AUTH_USERNAME": "guest",
    "BASIC_AUTH_PASSWORD": "guest",
    "BASIC_AUTH_REALM": "ISECA",
    # Where the public site lives, for QR codes and e-mails.
    "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
    # Sessions and cookies.
    "SESSION_COOKIE_NAME": "iseca_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_NAME": "iseca_remember",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_DURATION": dt.timedelta(days=90),
    "REMEMBER_COOKIE_REFRESH_EACH_REQUEST": False,
    # Lifetime of a login that is not remembered (ends earlier with the browser).
    "SESSION_IDLE_HOURS": 12,
    "WTF_CSRF_TIME_LIMIT": None,  # token lives as long as the session
    "WTF_CSRF_SSL_STRICT": True,
    # Passwords (OWASP ASVS level 2).
    "PASSWORD_MIN_LENGTH": 12,
    "PASSWORD_MAX_AGE_DAYS": 90,
    "ARGON2_TIME_COST": 2,
    "ARGON2_MEMORY_COST": 19456,  # KiB: OWASP's argon2id minimum
    "ARGON2_PARALLELISM": 1,
    # Throttling of failed logins, per account and per client address.
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": False,
    # Redis down: each process counts in its own memory until it answers
    # again (Flask-Limiter checks it back off 1, 2, 4 … 32 seconds apart),
    # so logins, scans and 取消 go on, throttled per process, never a 500.
    # A count lost to Redis dropping within a request is logged, not raised.
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    "RATELIMIT_SWALLOW_ERRORS": True,
    # A Redis that hangs (not refusing) costs a request at most this long.
    "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    "LOGIN_FAILURES_PER_ACCOUNT": "5 per 15 minutes",
    "LOGIN_FAILURES_PER_ADDRESS": "30 per 15 minutes",
    # Applications received from one client address (加盟店登録, against floods).
    "APPLY_RATE_LIMIT": "20 per hour",
    # One JSON line per request on stderr (iseca/web/requestlog.py).
    "REQUEST_LOG": True,
    # Number of reverse proxies in front of the app (X-Forwarded-For hops).
    "PROXY_FIX_HOPS": 0,
    # E-mail: with no MAIL_SERVER the outbox keeps the messages unsent.
    "MAIL_SERVER": None,
    "MAIL_PORT": 25,
    "MAIL_USE_TLS": False,
    "MAIL_USE_SSL": False,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_DEFAULT_SENDER": "ISECA窓口 <iseca@city.isesaki.example>",
    "MAIL_TIMEOUT": 10,  # seconds for the SMTP connection and each command
    "MAIL_MAX_ATTEMPTS": 8,  # automatic retries stop here (1, 2, 4 … minutes apart)
    # Money.
    "PAYMENT_MAX_AMOUNT": 500_000,
    # How long a repeated payment request waits for the first one to finish
    # (then replays its result) before answering 409 "in progress".
    "IDEMPOTENCY_WAIT_SECONDS": 5,
    # A payment of the same payer at the same store for the same amount
    # within this many seconds of a completed one, with another key, is
    # asked about before it charges (0: never asked).
    "DUPLICATE_PAYMENT_WINDOW_SECONDS": 180,
    # The wallet's payment QR is re-generated and is valid this long.
    "WALLET_QR_TTL_SECONDS": 60,
    # Wrong secrets on the card balance page, per client address.
    "CARD_PAGE_FAILURES_PER_ADDRESS": "10 per 15 minutes",
    # Unknown card numbers or codes read at one store's tills.
    "TERMINAL_SCAN_FAILURES_PER_ACCOUNT": "30 per 15 minutes",
    # 精算: fee in thousandths of the net sales (rounded down), and how long
    # after midnight a period waits before it may be closed (payments still
    # being written at 24:00 belong to it).
    "SETTLEMENT_FEE_RATE_PERMILLE": 0,
    "SETTLEMENT_CLOSE_GRACE_MINUTES": 10,
    # 総合振込 (Zengin transfer file): the city's account and its 委託者
    # (振込依頼人) as its bank assigned them. The code and the account number
    # are development placeholders (all zeros): in production no transfer
    # file is made until the real ones are set (ISECA_ZENGIN_REQUESTER_CODE=… etc.).
    "ZENGIN_REQUESTER_CODE": "0000000000",  # 委託者コード, 10 digits
    # 委託者名: the payer's name as the merchants' banks show it, half-width
    # kana. The one setting of the name: the file's 委託者名, and (full-width,
    # 「他)ジムカンカ」) the 振込人名義 pages, PDFs and mails tell merchants.
    "ZENGIN_REQUESTER_NAME": "ﾀ)ｼﾞﾑｶﾝｶ",
    "ZENGIN_BANK_CODE": "0128",  # 仕向銀行: 群馬銀行
    "ZENGIN_BRANCH_CODE": "150",  # 仕向支店: 伊勢崎
    "ZENGIN_ACCOUNT_TYPE": "1",  # 1 普通, 2 当座
    "ZENGIN_ACCOUNT_NUMBER": "0000000",
    # PDFs (掲示用QRコード台紙): an embedded Japanese font; without the file the
    # non-embedded CID font HeiseiKakuGo-W5 is used, with a warning.
    "PDF_JAPANESE_FONT_PATH": "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    # Request bodies: a larger one is answered 413 before it is read. Views
    # that take files (store images, grant CSV) allow MAX_CONTENT_LENGTH;
    # every other form FORM_MAX_CONTENT_LENGTH (the largest legitimate one is
    # the grant preview's CSV, base64, well under 1 MB for 10,000 lines).
    "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
    "FORM_MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "MAX_FORM_MEMORY_SIZE": 2 * 1024 * 1024,  # one field of a multipart form
    "MAX_FORM_PARTS": 1000,
    "STORE_IMAGE_MAX_BYTES": 5 * 1024 * 1024,  # one store image before re-encoding
    "STORE_IMAGES_MAX": 10,  # images per store
}


def load_secret_key(app: Flask) -> None:
    """Use ISECA_SECRET_KEY; in development generate one once and keep it in
    instance/ so sessions survive a restart; in production refuse to start."""
    if app.config.get("SECRET_KEY"):
        return
    if app.config["PRODUCTION"]:
        raise RuntimeError(
            "ISECA_SECRET_KEY must be set in production (e.g. python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    path = Path(app.instance_path) / "secret_key"
    try:
        # Exclusive create: of several processes starting at once, one writes.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    key = path.read_text().strip()
    for _ in range(100):  # another process may be writing it right now
        if key:
            break
        time.sleep(0.01)
        key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path} is empty: delete it to have a new key generated")
    app.config["SECRET_KEY"] = key


def apply_production_rules(app: Flask) -> None:
    """Settings that follow from PRODUCTION, and the checks it demands."""
    if not app.config["PRODUCTION"]:
        return
    app.config["SESSION_COOKIE_SECURE"] = True
    app.config["REMEMBER_COOKIE_SECURE"] = True
    if str(app.config["RATELIMIT_STORAGE_URI"]).startswith("memory://"):
        raise RuntimeError(
            "ISECA_RATELIMIT_STORAGE_URI must name shared storage in production "
            "(e.g. redis://127.0.0.1:6379/0) so that login throttling holds across workers"
        )
    if not str(app.config["PUBLIC_BASE_URL"]).startswith("https://"):
        app.logger.warning("ISECA_PUBLIC_BASE_URL is not an https address: printed store QR codes would carry it")
    if not str(app.config["ZENGIN_REQUESTER_CODE"] or "").strip("0") or \
            not str(app.config["ZENGIN_ACCOUNT_NUMBER"] or "").strip("0"):
        app.logger.warning("ISECA_ZENGIN_REQUESTER_CODE or ISECA_ZENGIN_ACCOUNT_NUMBER is not set: "
                           "no transfer file can be made")
    if "TRANSFEROR_NAME" in app.config:
        app.logger.warning("ISECA_TRANSFEROR_NAME is no longer read: the payer's name merchants see is "
                           "ISECA_ZENGIN_REQUESTER_NAME (half-width kana, as the bank shows it)")
    if app.config["BASIC_AUTH_PASSWORD"] == "guest":
        app.logger.warning("The BASIC gate uses the guide's default guest/guest credentials")
