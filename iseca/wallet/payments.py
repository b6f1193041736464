"""決済方法①: the app member reads the store's register QR (or opens its
address), enters the amount, confirms; plus my QR for 決済方法② and history."""
from __future__ import annotations

import re
from functools import partial
from urllib.parse import urlsplit

from flask import abort, current_app, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..members import payers
from ..merchants import qr
from ..models import AccountKind, Payment, PaymentMethod, Register, Store
from ..money import idempotency, ledger, payments
from ..web.charge import charge
from ..web.inputs import value_id
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


def _amount_page(register, *, amount_text="", error=None, insufficient=None, status=200, not_charged=False):
    """The amount; as the answer of a payment sent (or `not_charged`: a lost
    answer found to have charged nothing) it tells till.js the key is answered."""
    key = request.values.get("key", "")
    if not idempotency.valid_key(key):
        key = idempotency.new_key()
    answered = request.method == "POST" or not_charged
    return render_template("wallet/pay.html", register=register, store=register.store, key=key,
                           balance=ledger.member_balance(_member().id), amount_text=amount_text, error=error,
                           insufficient=insufficient, max_amount=payments.max_amount(), not_charged=not_charged,
                           till_answer=key if answered else ""), status


def _refused_page(register, message: str, status: int):
    # 409 (the same payment still running) is no answer: till.js asks again.
    answer = request.form.get("key", "") if status != 409 else ""
    return render_template("wallet/refused.html", message=message, register=register, till_answer=answer), status


def _duplicate_page(register, amount_text: str, suspected: payments.DuplicateSuspected, status: int):
    """「この店舗で同じ金額の決済が○分前に完了しています」: the earlier payment and the
    choice; 「もう一度決済する」 sends the same key with the earlier payment's id."""
    key = request.form.get("key", "")
    return render_template("wallet/duplicate.html", register=register, store=register.store, amount_text=amount_text,
                           key=key, suspected=suspected, earlier=suspected.earlier, till_answer=key), status


def _done_url(payment_id: int, key: str, *, resolved: bool = True) -> str:
    return url_for("wallet.payment_done", payment_id=payment_id, key=key, resolved=1 if resolved else None)


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
        if request.args.get("pending") and idempotency.valid_key(request.args.get("key")):
            # The phone lost the answer of this key's payment (till.js).
            found = idempotency.outcome(current_user.id, request.args["key"])
            if found.state == idempotency.Outcome.DONE:
                return redirect(_done_url(found.payment_id, request.args["key"]), code=303)
            return _amount_page(register, amount_text=request.args.get("amount", ""), not_charged=True)
        return _amount_page(register, amount_text=request.args.get("amount", ""))
    amount_text = request.form.get("amount", "")
    outcome = charge(current_user._get_current_object(), request.form.get("key", ""), _member(), register,
                     amount_text, PaymentMethod.CUSTOMER_SCAN, confirmed=value_id("duplicate_of"),
                     amount_page=partial(_amount_page, register, amount_text=amount_text),
                     refused_page=partial(_refused_page, register),
                     duplicate_page=partial(_duplicate_page, register, amount_text))
    if not isinstance(outcome, payments.PaymentResult):
        return outcome
    return redirect(_done_url(outcome.payment_id, request.form.get("key", ""), resolved=outcome.replayed), code=303)


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
    key = request.args.get("key", "")
    remaining = payments.balance_after(payment, current_user.id, key)
    return render_template("wallet/done.html", payment=payment, remaining=remaining,
                           resolved=bool(request.args.get("resolved")), till_answer=key if remaining is not None else "")


@bp.route("/payments/outcome")
def payment_outcome():
    """What became of the payment this member sent with `key` (the phone lost
    its answer): JSON {state: done, number, amount, balance_after, url of
    お支払い完了}, {state: pending} (202) or 404 {state: none} (nothing paid
    with that key by this member; another account's key is the same 404)."""
    key = request.args.get("key", "")
    found = idempotency.outcome(current_user.id, key)
    if found.state == idempotency.Outcome.DONE:
        result = found.result
        response = jsonify(state=found.state, number=result.get("number"), amount=result.get("amount"),
                           balance_after=result.get("balance_after"), url=_done_url(found.payment_id, key))
        status = 200
    else:
        response = jsonify(state=found.state)
        status = 202 if found.state == idempotency.Outcome.PENDING else 404
    response.headers["Cache-Control"] = "no-store"
    return response, status


@bp.route("/history")
def history():
    """利用履歴: the member's own payments, newest first."""
    rows = list(db.session.scalars(
        select(Payment).where(Payment.member_id == _member().id).order_by(Payment.created_at.desc(), Payment.id.desc()).limit(HISTORY_ROWS)
    ))
    return render_template("wallet/history.html", payments=rows, balance=ledger.member_balance(_member().id))
