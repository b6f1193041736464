"""取消 with its confirmation, the same in the management site's 利用状況一覧
(/cms/usage/<id>/cancel) and the terminal's 店舗利用履歴
(/terminal/history/<id>/cancel). A nested blueprint: each parent registers
it under its list's URL, so the parent's login guard runs first, and names
its list page with `url_defaults={"list_endpoint": ...}`: 「戻る」 and the
page after the cancellation are the `back` address the link carried (the
list as it was filtered, or the terminal's detail page), else that list.

The page repeats the date-time, amount and member code; a payment older
than today needs the password of the logged-in account again, and wrong
passwords are throttled like logins."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, SubmitField
from wtforms.validators import Length

from .. import i18n, passwords
from ..extensions import db, limiter
from ..models import Account, PaymentStatus
from ..money import cancellation
from .access import get_store_payment_or_404
from .history import safe_back

bp = Blueprint("cancel", __name__)


class CancelForm(FlaskForm):
    password = PasswordField(_l("パスワード"), validators=[Length(max=256)])
    submit = SubmitField(_l("取消する"))


def _password_failed(response) -> bool:
    return bool(g.get("reauth_failed"))


def _reauth_key() -> str:
    return f"reauth:{getattr(current_user, 'id', None) or request.remote_addr}"


def _reauth_limit() -> str:
    return str(current_app.config["LOGIN_FAILURES_PER_ACCOUNT"])


def _already_cancelled(payment) -> None:
    flash(_("取引番号 %(number)s はすでに取消されています。ポイントの返還は1回だけ行われています。", number=payment.number), "info")


@bp.route("/<int:payment_id>/cancel", methods=["GET", "POST"])
@limiter.limit(_reauth_limit, key_func=_reauth_key, methods=["POST"], deduct_when=_password_failed, scope="reauth")
def confirm(payment_id: int, list_endpoint: str):
    """The 「取消」 confirmation (GET) and the cancellation itself (POST)."""
    account: Account = current_user._get_current_object()
    payment = get_store_payment_or_404(account, payment_id)
    list_url = url_for(list_endpoint)
    back_url = safe_back(list_url, list_url)
    form = CancelForm()
    need_password = cancellation.needs_password(payment)
    refusal = cancellation.refusal_reason(payment)
    if request.method == "POST" and form.validate_on_submit():
        if payment.status == PaymentStatus.CANCELLED:  # a repeat, or the other till was first
            _already_cancelled(payment)
            return redirect(back_url, code=303)
        if need_password and not (form.password.data and passwords.verify_password(account, form.password.data)):
            g.reauth_failed = True
            form.password.errors.append(
                _("パスワードが違います。") if form.password.data else _("取消のため、パスワードを入力してください。")
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
                    message = _("取引番号 %(number)s（%(amount)s）を取消しました。ポイントは会員に戻りました。",
                                number=payment.number, amount=i18n.yen(payment.amount))
                    if outcome.adjustment is not None:
                        message += _("精算済みの期間の決済のため、取消額は次回の精算から差し引かれます。")
                    flash(message, "success")
                else:
                    _already_cancelled(payment)
                return redirect(back_url, code=303)
    return render_template(
        "cancel/confirm.html",
        payment=payment,
        form=form,
        need_password=need_password,
        refusal=refusal,
        deadline=cancellation.cancellation_deadline(payment),
        back_url=back_url,
    )
