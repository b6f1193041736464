"""Wallet pages."""
from flask import render_template
from flask_login import current_user

from .. import ledger, qr
from . import bp


@bp.route("/")
def index():
    """残高 (balance) of the logged-in member."""
    member = current_user.member
    return render_template("wallet/index.html", member=member, balance=ledger.member_balance(member.id))


@bp.route("/pay/<token>")
def pay(token: str):
    """The address in a store QR code (決済方法①): which store and register the
    code pays. An unknown code is 404; a reissued code or a retired register's
    code is 410 with a clear message, and offers no way to pay."""
    try:
        register = qr.resolve_register_token(token)
    except qr.RetiredToken as retired:
        return render_template("wallet/qr_invalid.html", register=retired.register, reason=retired.reason), 410
    if register is None:
        return render_template("wallet/qr_invalid.html", register=None, reason="unknown"), 404
    return render_template("wallet/pay_register.html", register=register, store=register.store)
