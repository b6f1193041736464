"""Wallet pages."""
from flask import render_template
from flask_login import current_user

from ..money import ledger
from .blueprint import bp


@bp.route("/")
def index():
    """残高 (balance) of the logged-in member."""
    member = current_user.member
    return render_template("wallet/index.html", member=member, balance=ledger.member_balance(member.id))
