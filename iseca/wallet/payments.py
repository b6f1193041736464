"""決済方法①: the app member reads the store's register QR (or opens its
address), enters the amount, confirms; plus my QR for 決済方法② and history."""
from __future__ import annotations

import re
from functools import partial
from urllib.parse import urlsplit

from flask import abort, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..members import payers
from ..merchants import qr
from ..models import AccountKind, Payment, PaymentMethod, Register, Store
from ..money import idempotency, ledger, payments
from ..web.charge import charge
from ..web.pages import page_or_fragment, qr_data_uri
from .blueprint import bp

HISTORY_ROWS = 50


def _member():
    return current_user.member


def _register_or_error(token: str) -> Register:
    """The register a QR address pays. An unknown code is 404; a reissued
    code or a retired register's code is 410 with a clear message and no way
    to pay (see qr.resolve_register_token)."""
    try:
        register = qr.resolve_register_token(token)
    except qr.RetiredToken as retired:
        abort(make_response(render_template("wallet/qr_invalid.html", register=retired.register,
                                            reason=retired.reason), 410))
    if register is None:
        abort(make_response(render_template("wallet/qr_invalid.html", register=None, reason="unknown"), 404))
    return register


def _is_member() -> bool:
    return current_user.is_authenticated and current_user.kind == AccountKind.MEMBER


@bp.route("/qr")
def my_qr():
    """QRコード表示: what the store's terminal reads; re-generated every few seconds.
    The same URL serves the page and, for htmx polling, the code alone."""
    member = _member()
    ttl = payers.wallet_qr_ttl()
    context = dict(member=member, qr=qr_data_uri(payers.wallet_qr_text(member)), ttl=ttl,
                   refresh=max(5, ttl // 3), balance=ledger.member_balance(member.id))
    return page_or_fragment("wallet/qr.html", "code", **context)


STORE_QR_PATH = re.compile(r"^/wallet/pay/[A-Za-z0-9_-]+$")


@bp.route("/scan")
def scan():
    """店舗QRコードを読み取る: the camera reads the register QR and opens its address;
    without a camera, the address read by the phone's camera app is pasted here."""
    address = (request.args.get("address") or "").strip()
    error = None
    if address:
        path = urlsplit(address).path
        if STORE_QR_PATH.match(path):
            return redirect(path, code=303)
        error = gettext("ISECAの店舗QRコードのアドレスではありません。アドレスをそのまま貼り付けてください。")
    example = current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/wallet/pay/…"
    return render_template("wallet/scan.html", address=address, address_error=error, example=example), 422 if error else 200


def _amount_page(register, *, amount_text="", error=None, insufficient=None, status=200):
    key = request.values.get("key", "")
    if not idempotency.valid_key(key):
        key = idempotency.new_key()
    return render_template("wallet/pay.html", register=register, store=register.store, key=key,
                           balance=ledger.member_balance(_member().id), amount_text=amount_text, error=error,
                           insufficient=insufficient, max_amount=payments.max_amount()), status


def _refused_page(register, message: str, status: int):
    return render_template("wallet/refused.html", message=message, register=register), status


@bp.route("/pay/<token>", methods=["GET", "POST"])
def pay(token: str):
    """The store and register of the QR, the amount; POST pays (once per key)."""
    register = _register_or_error(token)
    if not _is_member():
        # Read by a phone camera before logging in: show whom the code pays,
        # then log in and come back here.
        login_url = url_for("auth.login", area="wallet", next=url_for("wallet.pay", token=token))
        if request.method == "POST":
            return redirect(login_url, code=303)
        stopped = db.session.scalar(select(Store.payments_stopped).where(Store.id == register.store_id))
        return render_template("wallet/pay_register.html", register=register, store=register.store, login_url=login_url,
                               stopped=stopped)
    if request.method == "GET":
        try:
            # Said before the customer types an amount; the payment checks again.
            payments.check_store(register)
        except payments.PaymentRefused as refused:
            return _refused_page(register, str(refused), 422)
        return _amount_page(register, amount_text=request.args.get("amount", ""))
    amount_text = request.form.get("amount", "")
    outcome = charge(current_user._get_current_object(), request.form.get("key", ""), _member(), register,
                     amount_text, PaymentMethod.CUSTOMER_SCAN,
                     amount_page=partial(_amount_page, register, amount_text=amount_text),
                     refused_page=partial(_refused_page, register))
    if not isinstance(outcome, payments.PaymentResult):
        return outcome
    return redirect(url_for("wallet.payment_done", payment_id=outcome.payment_id, key=request.form.get("key")), code=303)


@bp.route("/pay/<token>/confirm")
def pay_confirm(token: str):
    """確認: store, register and amount before 「支払う」."""
    register = _register_or_error(token)
    try:
        payments.check_store(register)
    except payments.PaymentRefused as refused:
        return _refused_page(register, str(refused), 422)
    amount_text = request.args.get("amount", "")
    try:
        amount = payments.parse_amount(amount_text)
    except payments.AmountInvalid as invalid:
        return _amount_page(register, amount_text=amount_text, error=str(invalid), status=422)
    balance = ledger.member_balance(_member().id)
    if amount > balance:
        return _amount_page(register, amount_text=amount_text, insufficient=balance, status=422)
    key = request.args.get("key", "")
    if not idempotency.valid_key(key):
        return _amount_page(register, amount_text=amount_text)
    return render_template("wallet/confirm.html", register=register, store=register.store, amount=amount, key=key,
                           balance=balance, token=token)


@bp.route("/payments/<int:payment_id>")
def payment_done(payment_id: int):
    """決済完了: the screen the customer shows the clerk."""
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.member_id != _member().id:
        abort(404)
    return render_template("wallet/done.html", payment=payment, remaining=payments.balance_after(payment, current_user.id, request.args.get("key")))


@bp.route("/history")
def history():
    """利用履歴: the member's own payments, newest first."""
    rows = list(db.session.scalars(
        select(Payment).where(Payment.member_id == _member().id).order_by(Payment.created_at.desc(), Payment.id.desc()).limit(HISTORY_ROWS)
    ))
    return render_template("wallet/history.html", payments=rows, balance=ledger.member_balance(_member().id))
