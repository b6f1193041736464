"""Login, logout and password change for every area (management site,
terminal, counter console, wallet): one set of views, told apart by `area`."""
from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from flask_login import current_user
from sqlalchemy import select

from .. import audit, passwords, sessions
from ..areas import AREAS, Area
from ..extensions import db, limiter
from ..models import Account, AccountKind, MerchantStatus
from .blueprint import bp
from .forms import LoginForm, PasswordChangeForm

AREA_RULE = "/<any(cms, terminal, counter, wallet):area>"

CODE_LABELS = {
    "cms": _l("ユーザー名（店舗コード・事業者コード）"),
    "terminal": _l("店舗コード"),
    "counter": _l("職員ID"),
    "wallet": _l("メールアドレス"),
}


def code_word(area: str) -> str:
    """The login field of `area` as a refusal names it, inside a sentence."""
    if area == "cms":
        return pgettext("login refused", "ユーザー名")
    if area == "terminal":
        return pgettext("login refused", "店舗コード")
    if area == "counter":
        return pgettext("login refused", "職員ID")
    return pgettext("login refused", "メールアドレス")


def normalize_login(kind: AccountKind, raw: str) -> str:
    """How a typed login is stored: full-width digits and letters folded,
    codes upper-case, e-mail addresses lower-case."""
    value = unicodedata.normalize("NFKC", raw or "").strip()
    if kind == AccountKind.MEMBER:
        return value.lower()
    if kind in (AccountKind.STORE, AccountKind.BUSINESS):
        return value.upper()
    return value


def _failed(response) -> bool:
    return bool(g.get("login_failed"))


def _account_key(kind: AccountKind | str, login: str) -> str:
    """The one key under which an account's failed password guesses are counted."""
    return f"account:{kind}:{login}"


def _guessed_account_key() -> str:
    """The account a password is guessed for: the one a login form names
    (the area's kind, or the one ticked at /cms/, and the login as stored),
    or the logged-in account on 「パスワード変更」."""
    if request.endpoint == "auth.password":
        if not current_user.is_authenticated:
            return _account_key("", "")
        return _account_key(current_user.kind, current_user.login)
    area = AREAS.get((request.view_args or {}).get("area", ""))
    if area is None:
        return _account_key("", "")
    kind_value = request.form.get("kind", "") if len(area.kinds) > 1 else area.kinds[0].value
    try:
        kind = AccountKind(kind_value)
    except ValueError:
        return _account_key("", request.form.get("code", "")[:254])
    return _account_key(kind, normalize_login(kind, request.form.get("code", ""))[:254])


# Password guesses are counted per account, not per form: every login form
# an account can use (/cms/ and /terminal/ for a store) and the current
# password of 「パスワード変更」 share one count. Only failures count.
account_guesses = limiter.shared_limit(
    lambda: current_app.config["LOGIN_FAILURES_PER_ACCOUNT"],
    scope="account-password-guesses",
    key_func=_guessed_account_key,
    methods=["POST"],
    deduct_when=_failed,
)


def _safe_next(area: Area) -> str | None:
    """`next` when it is a page of this area on this site, else None."""
    target = request.args.get("next") or ""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or any(ord(c) < 32 for c in target):
        return None
    if not (parts.path == f"/{area.name}" or parts.path.startswith(f"/{area.name}/")):
        return None
    return target


def _area(name: str) -> Area:
    area = AREAS.get(name)
    if area is None:
        abort(404)
    return area


def _login_form(area: Area) -> LoginForm:
    form = LoginForm()
    form.code.label.text = CODE_LABELS[area.name]
    if len(area.kinds) == 1:
        del form.kind
    return form


@bp.route(AREA_RULE + "/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_FAILURES_PER_ADDRESS"],
    methods=["POST"],
    deduct_when=_failed,
    scope="login-address",
)
@account_guesses
def login(area: str):
    """ログイン: code, password and 「ログイン状態を保持する」."""
    the_area = _area(area)
    if current_user.is_authenticated and current_user.kind in the_area.kinds and request.method == "GET":
        return redirect(url_for(the_area.home))
    form = _login_form(the_area)
    if form.validate_on_submit():
        kind = AccountKind(form.kind.data) if form.kind is not None else the_area.kinds[0]
        login_name = normalize_login(kind, form.code.data)
        account = db.session.scalar(select(Account).where(Account.kind == kind, Account.login == login_name))
        if not passwords.verify_password(account, form.password.data):
            g.login_failed = True
            form.password.errors.append(_("%(login)sまたはパスワードが違います。", login=code_word(the_area.name)))
            _record_failed_login(account, kind, login_name, the_area.name, "password")
        elif not account.is_active:
            g.login_failed = True
            form.code.errors.append(_("このアカウントは利用停止中です。ISECA窓口にお問い合わせください。"))
            _record_failed_login(account, kind, login_name, the_area.name, "suspended")
        else:
            sessions.start_session(account, remember=bool(form.remember.data))
            audit.record("login", account, {"area": the_area.name}, actor=account)
            db.session.commit()
            if account.must_change_password:
                flash(_("初期パスワードからの変更が必要です。新しいパスワードを設定してください。"), "warning")
                # Where the person was going (a store's payment page) survives the change.
                return redirect(url_for("auth.password", area=area, next=_safe_next(the_area)), code=303)
            return redirect(_safe_next(the_area) or url_for(the_area.home), code=303)
    return render_template("auth/login.html", form=form, area=the_area, stopped=_stopped_notice(the_area))


def _stopped_notice(area: Area) -> str | None:
    """Why this till or management site was logged out, when its store,
    business or account is suspended (利用停止): the login page says so
    (with what to do) instead of asking for a password that cannot work."""
    if area.name not in ("cms", "terminal") or current_user.is_authenticated:
        return None
    account = sessions.account_of_ended_session()
    if account is None or account.kind not in area.kinds or account.is_active:
        return None
    if account.kind == AccountKind.STORE and (account.store.status != MerchantStatus.ACTIVE
                                              or account.business.status != MerchantStatus.ACTIVE):
        return _("この店舗は利用停止中です")
    if account.kind == AccountKind.BUSINESS and account.business.status != MerchantStatus.ACTIVE:
        return _("この事業者は利用停止中です")
    return _("このアカウントは利用停止中です")


def _record_failed_login(account: Account | None, kind: AccountKind, login_name: str, area: str, reason: str) -> None:
    """ログイン失敗, kept whatever the page shows next (the login name as typed, never the password)."""
    audit.record("login_failed", account, {"area": area, "login": login_name[:100], "reason": reason},
                 actor_label=f"{kind}:{login_name[:100]}"[:300])
    db.session.commit()


@bp.route(AREA_RULE + "/logout", methods=["POST"])
def logout(area: str):
    """ログアウト: ends this session on the server (other devices stay logged in)."""
    the_area = _area(area)
    if current_user.is_authenticated:
        sessions.end_session(current_user._get_current_object())
        db.session.commit()
        flash(_("ログアウトしました。"), "info")
    return redirect(url_for("auth.login", area=the_area.name), code=303)


@bp.route(AREA_RULE + "/password", methods=["GET", "POST"])
@account_guesses
def password(area: str):
    """パスワード変更: also ends every other session of the account. A wrong
    current password counts as a failed guess, as a failed login does."""
    the_area = _area(area)
    if not current_user.is_authenticated or current_user.kind not in the_area.kinds:
        return redirect(url_for("auth.login", area=area))
    account: Account = current_user._get_current_object()
    form = PasswordChangeForm()
    if form.validate_on_submit():
        if not passwords.verify_password(account, form.current_password.data):
            g.login_failed = True  # a failed password guess, counted as a failed login is
            form.current_password.errors.append(_("現在のパスワードが違います。"))
        elif passwords.normalize(form.new_password.data) == passwords.normalize(form.current_password.data):
            form.new_password.errors.append(_("現在と同じパスワードは使えません。"))
        else:
            problems = passwords.password_problems(form.new_password.data, account.login, account.name)
            if problems:
                form.new_password.errors.extend(problems)
            else:
                remember = bool(account.login_session and account.login_session.remember)
                passwords.set_password(account, form.new_password.data, initial=False)
                sessions.revoke_all_sessions(account.id)
                audit.record("password_changed", account, actor=account)
                sessions.start_session(account, remember=remember)
                db.session.commit()
                flash(_("パスワードを変更しました。"), "success")
                return redirect(_safe_next(the_area) or url_for(the_area.home), code=303)
    return render_template("auth/password.html", form=form, area=the_area)


def password_throttled():
    """The password change page again, saying that wrong current passwords are throttled (nothing changed)."""
    the_area = _area((request.view_args or {}).get("area", ""))
    message = _("現在のパスワードの誤りが続いたため、一時的にパスワードの変更を制限しています。"
                "パスワードは変更されていません。15分ほど時間をおいてから、もう一度お試しください。")
    return render_template("auth/password.html", form=PasswordChangeForm(formdata=None), area=the_area,
                           throttled=message), 429


def login_throttled():
    """The login page again, saying that failed attempts are throttled."""
    the_area = _area((request.view_args or {}).get("area", ""))
    form = _login_form(the_area)
    form.password.data = ""
    message = _("ログインの失敗が続いたため、一時的にログインを制限しています。15分ほど時間をおいてから、もう一度お試しください。")
    return render_template("auth/login.html", form=form, area=the_area, throttled=message), 429
