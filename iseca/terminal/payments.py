"""決済する (決済方法②): read the customer's QR or card, enter the amount and
charge (a confirmation page first where the store asked for one); and the
payments customers made from their wallet (決済方法①), shown to the till as
they come in."""
from __future__ import annotations

import datetime as dt
import functools
from functools import partial

from flask import abort, current_app, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from ..extensions import db, limiter
from ..members import payers
from ..models import Payment, PaymentMethod, PaymentStatus, Register, utcnow
from ..money import day_totals, idempotency, ledger, payments
from ..timeutil import today_jst
from ..web.access import get_register_or_404, get_store_or_404
from ..web.charge import charge
from ..web.inputs import value_id
from ..web.pages import content_version, page_or_fragment, wants_fragment
from .blueprint import bp

INCOMING_MINUTES = 15


def _store():
    """The till's store, loaded once per request and held on `g` (the
    session's identity map keeps objects only while they are referenced)."""
    if "terminal_store" not in g:
        g.terminal_store = get_store_or_404(current_user, current_user.store_id)
    return g.terminal_store


def _register() -> Register:
    """The register this till books on: `register` if given (it must be
    the store's own; `r`, its old name, still read for bookmarked tills),
    else the store's first register in use."""
    register_id = value_id("register")
    if register_id is None:
        register_id = value_id("r")
    _store()
    if register_id is not None:
        register = get_register_or_404(current_user, register_id)
        if register.retired_at is not None:
            abort(404)
        return register
    register = next((r for r in _store().registers if r.retired_at is None), None)
    if register is None:
        abort(404)
    return register


# 合算: the payments of one customer made one card after another.
def _run_serializer() -> URLSafeSerializer:
    return _run_serializer_of(current_app.config["SECRET_KEY"])


@functools.lru_cache(maxsize=4)
def _run_serializer_of(secret_key: str) -> URLSafeSerializer:
    # Made once per key, not at every charge.
    return URLSafeSerializer(secret_key, salt="terminal-run")


def _run_ids(run: str | None) -> list[int]:
    if not run:
        return []
    try:
        ids = _run_serializer().loads(run)
    except BadSignature:
        return []
    return [i for i in ids if isinstance(i, int)][:50] if isinstance(ids, list) else []


def _run_payments(run: str | None) -> list[Payment]:
    ids = _run_ids(run)
    if not ids:
        return []
    rows = db.session.scalars(select(Payment).where(Payment.id.in_(ids), Payment.store_id == _store().id).order_by(Payment.id))
    return list(rows)


def _context(register: Register, run: str | None, **extra):
    run_payments = _run_payments(run)
    return dict(
        store=_store(),
        register=register,
        registers=[r for r in _store().registers if r.retired_at is None],
        run=run or "",
        run_payments=run_payments,
        run_total=sum(p.amount for p in run_payments if p.status == PaymentStatus.COMPLETED),
        max_amount=payments.max_amount(),
        **extra,
    )


def _scan_failed(response) -> bool:
    return bool(g.get("scan_failed"))


def _till_account_key() -> str:
    return f"till:{current_user.get_id() and current_user.id}"


@bp.route("/pay", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config.get("TERMINAL_SCAN_FAILURES_PER_ACCOUNT", "30 per 15 minutes"),
               key_func=_till_account_key, methods=["POST"], deduct_when=_scan_failed, scope="till-scan")
def pay_scan():
    """QRコードの読み取り画面: camera, handheld scanner or typed card number."""
    register = _register()
    run = request.values.get("run", "")
    error = None
    code = ""
    if request.method == "POST":
        code = request.form.get("code", "")
        try:
            payer = payers.identify(code)
        except payments.PaymentRefused as refusal:
            # Unknown numbers are counted: a store account cannot sweep
            # card numbers to find ones that pay.
            g.scan_failed = isinstance(refusal, payers.PayerUnknown)
            error = str(refusal)
        else:
            reference = payers.payer_reference(payer, _store().id)
            return redirect(url_for("terminal.pay_amount", payer=reference, register=register.id, run=run or None), code=303)
    status = 422 if error else 200
    return render_template("terminal/pay/scan.html", code=code, error=error, **_context(register, run)), status


def _rescan(register: Register, run: str, refusal: payments.PaymentRefused):
    """The reading screen again, saying why the payer read before cannot be used
    (nothing charged: the answer of a pending charge sent or looked up)."""
    answered = request.method == "POST" or request.args.get("pending")
    return render_template("terminal/pay/scan.html", code="", error=str(refusal),
                           till_answer=request.values.get("key", "") if answered else "", **_context(register, run)), 422


def _shown_payer(register: Register, run: str):
    """The payer of `p` for a page that shows it (checked: a card stopped
    since it was read is refused here); or the reading screen again."""
    try:
        payer = payers.payer_from_reference(request.values.get("payer", ""), _store().id)
        payments.check_payer(payer.member, payer.card)
    except payments.PaymentRefused as refusal:
        return None, _rescan(register, run, refusal)
    return payer, None


def _amount_page(register, run, payer, *, amount_text="", error=None, insufficient=None, status=200, not_charged=False):
    """The amount page: member code, 利用可能ポイント and the amount, with
    「決済する」 (or 「確認へ」 where the store asked for a confirmation page).
    As the answer of a charge (or `not_charged`: a lost answer found to have
    charged nothing) it tells the till's pending-charge record (till.js) that
    the charge of its key has its answer."""
    key = request.values.get("key", "")
    if not idempotency.valid_key(key):
        key = idempotency.new_key()
    answered = request.method == "POST" or not_charged
    return render_template(
        "terminal/pay/amount.html",
        payer=payer,
        reference=request.values.get("payer", ""),
        available=ledger.member_balance(payer.member.id),
        amount_text=amount_text,
        error=error,
        insufficient=insufficient,
        key=key,
        confirm_first=_store().confirm_before_charge,
        not_charged=not_charged,
        till_answer=key if answered else "",
        **_context(register, run),
    ), status


def _refused_page(register, run, message: str, status: int):
    # 409 (the same charge still running) is no answer: till.js asks again.
    answer = request.form.get("key", "") if status != 409 else ""
    return render_template("terminal/pay/refused.html", message=message, till_answer=answer,
                           **_context(register, run)), status


def _duplicate_page(register, run, payer, amount_text: str, suspected: payments.DuplicateSuspected, status: int):
    """「同じカードで同じ金額の決済が○分前に完了しています」: the earlier payment and
    the choice; 「もう一度決済する」 sends the same key with the earlier payment's id."""
    return render_template("terminal/pay/duplicate.html", payer=payer, reference=request.form.get("payer", ""),
                           amount_text=amount_text, key=request.form.get("key", ""), suspected=suspected,
                           earlier=suspected.earlier, till_answer=request.form.get("key", ""),
                           **_context(register, run)), status


@bp.route("/pay/amount")
def pay_amount():
    """会員コードと利用可能ポイント; 税込金額の入力と「決済する」."""
    register = _register()
    run = request.args.get("run", "")
    payer, refusal = _shown_payer(register, run)
    if refusal:
        return refusal
    if request.args.get("pending") and idempotency.valid_key(request.args.get("key")):
        # The till lost the answer of this key's charge (till.js): done, or the
        # amount again with the same key (sending it again charges once).
        found = idempotency.outcome(current_user.id, request.args["key"])
        if found.state == idempotency.Outcome.DONE:
            return redirect(_done_url(found.payment_id, request.args["key"], run), code=303)
        return _amount_page(register, run, payer, amount_text=request.args.get("amount", ""), not_charged=True)
    return _amount_page(register, run, payer, amount_text=request.args.get("amount", ""))


def _done_url(payment_id: int, key: str, run: str | None, *, resolved: bool = True) -> str:
    """決済完了 of `payment_id`, added to the 合算 run; `resolved`: reached
    after a lost answer (「決済は完了しています」)."""
    ids = _run_ids(run)
    if payment_id not in ids:
        ids.append(payment_id)
    return url_for("terminal.pay_done", payment_id=payment_id, run=_run_serializer().dumps(ids), key=key,
                   resolved=1 if resolved else None)


@bp.route("/pay/outcome")
def pay_outcome():
    """What became of the charge sent with `key` by this store's login (the
    till lost its answer): JSON {state: done, number, amount, balance_after,
    url of 決済完了} or {state: pending} (202, still running); 404 {state:
    none} when this login never charged with that key (nothing was charged;
    another store's key is the same 404)."""
    key = request.args.get("key", "")
    found = idempotency.outcome(current_user.id, key)
    if found.state == idempotency.Outcome.DONE:
        result = found.result
        return _no_store(jsonify(state=found.state, number=result.get("number"), amount=result.get("amount"),
                                 balance_after=result.get("balance_after"),
                                 url=_done_url(found.payment_id, key, request.args.get("run")))), 200
    if found.state == idempotency.Outcome.PENDING:
        return _no_store(jsonify(state=found.state)), 202
    return _no_store(jsonify(state=found.state)), 404


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/pay/confirm")
def pay_confirm():
    """決済内容の確認 (stores that switched it on in 店舗情報): the amount checked before 「決済する」."""
    register = _register()
    run = request.args.get("run", "")
    payer, refusal = _shown_payer(register, run)
    if refusal:
        return refusal
    amount_text = request.args.get("amount", "")
    try:
        amount = payments.parse_amount(amount_text)
    except payments.AmountInvalid as invalid:
        return _amount_page(register, run, payer, amount_text=amount_text, error=str(invalid), status=422)
    available = ledger.member_balance(payer.member.id)
    if amount > available:
        return _amount_page(register, run, payer, amount_text=amount_text, insufficient=available, status=422)
    key = request.args.get("key", "")
    if not idempotency.valid_key(key):
        return _amount_page(register, run, payer, amount_text=amount_text)
    return render_template("terminal/pay/confirm.html", payer=payer, reference=request.args.get("payer", ""),
                           amount=amount, available=available, key=key, **_context(register, run))


@bp.route("/pay/charge", methods=["POST"])
def pay_charge():
    """決済する: charge once per idempotency key, then the completion screen."""
    register = _register()
    run = request.form.get("run", "")
    try:
        # Checked once, by the payment itself.
        payer = payers.payer_from_reference(request.form.get("payer", ""), _store().id)
    except payments.PaymentRefused as refusal:
        return _rescan(register, run, refusal)
    amount_text = request.form.get("amount", "")
    outcome = charge(current_user._get_current_object(), request.form.get("key", ""), payer.member, register,
                     amount_text, PaymentMethod.STORE_SCAN, card=payer.card, confirmed=value_id("duplicate_of"),
                     amount_page=partial(_amount_page, register, run, payer, amount_text=amount_text),
                     refused_page=partial(_refused_page, register, run),
                     duplicate_page=partial(_duplicate_page, register, run, payer, amount_text))
    if not isinstance(outcome, payments.PaymentResult):
        return outcome
    # A repeat of a charge already made (a reload of a lost answer) says so.
    return redirect(_done_url(outcome.payment_id, request.form.get("key", ""), run, resolved=outcome.replayed),
                    code=303)


def _store_payment_or_404(payment_id: int) -> Payment:
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.store_id != _store().id:
        abort(404)
    return payment


@bp.route("/pay/done/<int:payment_id>")
def pay_done(payment_id: int):
    """決済完了: amount, remaining balance, transaction number and time; 合算 of a multi-card run."""
    payment = _store_payment_or_404(payment_id)
    run = request.args.get("run", "")
    key = request.args.get("key", "")
    remaining = payments.balance_after(payment, current_user.id, key)
    # The answer of the till's pending charge when the key is this payment's own.
    return render_template("terminal/pay/done.html", payment=payment, remaining=remaining,
                           resolved=bool(request.args.get("resolved")), till_answer=key if remaining is not None else "",
                           **_context(payment.register, run))


@bp.route("/pay/incoming")
def pay_incoming():
    """決済方法①: payments customers just made from their wallet, for the clerk's 「金額を確認」.
    The same URL serves the page and, for htmx polling, the list alone."""
    since = utcnow() - dt.timedelta(minutes=INCOMING_MINUTES)
    rows = list(db.session.scalars(
        select(Payment)
        .where(Payment.store_id == _store().id, Payment.method == PaymentMethod.CUSTOMER_SCAN, Payment.created_at >= since)
        .order_by(Payment.created_at.desc(), Payment.id.desc())
        .limit(20)
    ))
    # HOME's poll also refreshes 今日の決済 (an out-of-band part of the answer).
    today = day_totals.store_day(_store().id, today_jst()) if wants_fragment() and request.args.get("today") else None
    # The list's version: a poll that finds nothing new gets 204 and htmx leaves
    # the live region alone, so a screen reader does not read it again.
    version = content_version([[(p.id, p.status.value) for p in rows], today])
    if wants_fragment() and request.args.get("v") == version:
        return "", 204
    return page_or_fragment("terminal/pay/incoming.html", "incoming", incoming=rows, minutes=INCOMING_MINUTES,
                            store=_store(), version=version, today=today)
