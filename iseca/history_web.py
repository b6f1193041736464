"""What the management site's 利用状況一覧 and the terminal's 店舗利用履歴
share: the 「絞り込み」 form (read from the URL, never from a cookie), the
scope of the logged-in account, and the 「取消」 confirmation."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, flash, g, redirect, render_template, request
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import Form, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import Length, ValidationError

from . import amounts, cancellation
from .members import is_member_code
from .numbers import fold_digits
from .web.access import stores_of
from .web.inputs import JapaneseDateField
from .auth import passwords
from .extensions import db
from .models import Account, AccountKind, Payment, PaymentMethod, PaymentStatus, Register
from .usage import METHOD_LABELS, STATUS_LABELS, UsageFilter

# The amount range of 利用状況一覧: above any payment, below anything that
# could overflow a comparison.
FILTER_AMOUNT_MAX = 999_999_999


def _digits(raw: str | None) -> str:
    """A member code as typed: full-width digits folded, separators dropped."""
    value = fold_digits(raw or "").strip()
    for ch in (" ", "　", "-", "－"):
        value = value.replace(ch, "")
    return value


class TerminalFilterForm(Form):
    """条件で絞込 of the terminal: period and member code."""

    date_from = JapaneseDateField("期間（開始日）")
    date_to = JapaneseDateField("期間（終了日）")
    member_code = StringField("会員コード")

    def validate_date_to(self, field) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("終了日は開始日と同じか、それより後の日付にしてください。")

    def validate_member_code(self, field) -> None:
        code = _digits(field.data)
        if code and not is_member_code(code):
            raise ValidationError("会員コードは10桁の数字で入力してください。")

    @property
    def member_code_value(self) -> str | None:
        return _digits(self.member_code.data) or None

    def filter_values(self) -> dict[str, Any]:
        return dict(date_from=self.date_from.data, date_to=self.date_to.data, member_code=self.member_code_value)

    def url_args(self) -> dict[str, str]:
        """The filter as query arguments (what a link to the same list carries)."""
        args = {}
        for name, value in self.filter_values().items():
            if value is None or value == "":
                continue
            args[name] = value.isoformat() if isinstance(value, dt.date) else str(value)
        return args


class UsageFilterForm(TerminalFilterForm):
    """絞り込み of 利用状況一覧."""

    store = SelectField("店舗", choices=[], validate_choice=False)
    register = SelectField("レジ", choices=[], validate_choice=False)
    amount_min = StringField("金額（下限・円）")
    amount_max = StringField("金額（上限・円）")
    status = SelectField("状態", choices=[("", "すべて")] + [(s.value, l) for s, l in STATUS_LABELS.items()],
                         validate_choice=False)
    method = SelectField("決済方法", choices=[("", "すべて")] + [(m.value, l) for m, l in METHOD_LABELS.items()],
                         validate_choice=False)

    def setup(self, account: Account) -> None:
        """Offer only the stores and registers the account may see."""
        stores = stores_of(account)
        self.store.choices = [("", "すべての店舗")] + [(str(s.id), f"{s.name}（{s.code}）") for s in stores]
        registers = db.session.scalars(
            select(Register).where(Register.store_id.in_([s.id for s in stores])).order_by(Register.store_id, Register.id)
        )
        several = len(stores) > 1
        self.register.choices = [("", "すべてのレジ")] + [
            (str(r.id), f"{r.store.name} {r.name}" if several else r.name) for r in registers
        ]

    def _choice(self, field) -> None:
        if field.data and field.data not in {value for value, _ in field.choices}:
            raise ValidationError("一覧から選んでください。")

    def validate_store(self, field) -> None:
        self._choice(field)

    def validate_register(self, field) -> None:
        self._choice(field)

    def validate_status(self, field) -> None:
        self._choice(field)

    def validate_method(self, field) -> None:
        self._choice(field)

    def _amount(self, field) -> int | None:
        if not (field.data or "").strip():
            return None
        try:
            return amounts.parse_yen(field.data, minimum=0, maximum=FILTER_AMOUNT_MAX)
        except amounts.AmountInvalid as invalid:
            raise ValidationError(str(invalid)) from None

    def validate_amount_min(self, field) -> None:
        self._amount(field)

    def validate_amount_max(self, field) -> None:
        high = self._amount(field)
        try:
            low = self._amount(self.amount_min)
        except ValueError:
            return
        if high is not None and low is not None and high < low:
            raise ValidationError("上限は下限と同じか、それより大きい金額にしてください。")

    def filter_values(self) -> dict[str, Any]:
        values = super().filter_values()
        values.update(
            store_id=int(self.store.data) if self.store.data else None,
            register_id=int(self.register.data) if self.register.data else None,
            amount_min=self._amount(self.amount_min),
            amount_max=self._amount(self.amount_max),
            status=PaymentStatus(self.status.data) if self.status.data else None,
            method=PaymentMethod(self.method.data) if self.method.data else None,
        )
        return values

    def url_args(self) -> dict[str, str]:
        args = super().url_args()
        for key, name in (("store_id", "store"), ("register_id", "register")):
            if key in args:
                args[name] = args.pop(key)
        return args


def wants_fragment() -> bool:
    """htmx asked for just the swapped part: not a boosted navigation, and not
    the history restore of the back button (which needs the whole page)."""
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def scope_of(account: Account) -> dict[str, int]:
    """The part of the filter the account imposes: a store sees only itself."""
    if account.kind == AccountKind.STORE:
        return {"own_store_id": account.store_id}
    return {"business_id": account.business_id}


def make_filter(account: Account, form: TerminalFilterForm) -> UsageFilter:
    return UsageFilter(**scope_of(account), **form.filter_values())


# ---------------------------------------------------------------------------
# 取消 with its confirmation
# ---------------------------------------------------------------------------


class CancelForm(FlaskForm):
    password = PasswordField("パスワード", validators=[Length(max=256)])
    submit = SubmitField("取消する")


def cancel_failed(response) -> bool:
    return bool(g.get("reauth_failed"))


def reauth_key() -> str:
    return f"reauth:{getattr(current_user, 'id', None) or request.remote_addr}"


def reauth_limit() -> str:
    return str(current_app.config["LOGIN_FAILURES_PER_ACCOUNT"])


def cancel_request(payment: Payment, *, template: str, back_url: str, done_url: str, **context):
    """The 「取消」 confirmation (GET) and the cancellation itself (POST).

    The page repeats the date-time, amount and member code; a payment older
    than today needs the password of the logged-in account again."""
    account: Account = current_user._get_current_object()
    form = CancelForm()
    need_password = cancellation.needs_password(payment)
    refusal = cancellation.refusal_reason(payment)
    if request.method == "POST" and form.validate_on_submit():
        if payment.status == PaymentStatus.CANCELLED:  # a repeat, or the other till was first
            flash(f"取引番号 {payment.number} はすでに取消されています。ポイントの返還は1回だけ行われています。", "info")
            return redirect(done_url, code=303)
        if need_password and not (form.password.data and passwords.verify_password(account, form.password.data)):
            g.reauth_failed = True
            form.password.errors.append(
                "パスワードが違います。" if form.password.data else "取消のため、パスワードを入力してください。"
            )
        else:
            try:
                outcome = cancellation.cancel_payment(payment, actor=account)
            except cancellation.CancellationRefused as refused:
                db.session.rollback()
                refusal = str(refused)
            else:
                db.session.commit()
                if outcome.cancelled_now:
                    message = f"取引番号 {payment.number}（{payment.amount:,}円）を取消しました。ポイントは会員に戻りました。"
                    if outcome.adjustment is not None:
                        message += "精算済みの期間の決済のため、取消額は次回の精算から差し引かれます。"
                    flash(message, "success")
                else:
                    flash(f"取引番号 {payment.number} はすでに取消されています。ポイントの返還は1回だけ行われています。", "info")
                return redirect(done_url, code=303)
    return (
        render_template(
            template,
            payment=payment,
            form=form,
            need_password=need_password,
            refusal=refusal,
            deadline=cancellation.cancellation_deadline(payment),
            back_url=back_url,
            **context,
        )
    )


def safe_back(prefix: str, default: str) -> str:
    """Where 「戻る」 leads: the list as it was filtered (same site only)."""
    target = request.args.get("back") or ""
    if target.startswith(prefix) and not target.startswith("//") and "\\" not in target:
        return target
    return default
