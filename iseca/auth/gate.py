"""The management site's first gate: HTTP BASIC authentication, as the
merchant guide shows it (guest/guest unless configured otherwise)."""
from __future__ import annotations

import hmac

from flask import Flask, current_app, render_template, request
from flask_babel import gettext
from flask_basicauth import BasicAuth

GATED_PREFIX = "/cms"


class ConstantTimeBasicAuth(BasicAuth):
    """Flask-BasicAuth compares with ==; compare in constant time instead."""

    def check_credentials(self, username: str, password: str) -> bool:
        expected_user = str(current_app.config["BASIC_AUTH_USERNAME"]).encode()
        expected_password = str(current_app.config["BASIC_AUTH_PASSWORD"]).encode()
        user_ok = hmac.compare_digest((username or "").encode(), expected_user)
        password_ok = hmac.compare_digest((password or "").encode(), expected_password)
        return user_ok and password_ok


basic_auth = ConstantTimeBasicAuth()


def is_gated(path: str) -> bool:
    return path == GATED_PREFIX or path.startswith(GATED_PREFIX + "/")


def init_app(app: Flask) -> None:
    """Guard every path under /cms with the BASIC gate."""
    basic_auth.init_app(app)

    @app.before_request
    def _basic_gate():
        if is_gated(request.path) and not basic_auth.authenticate():
            return challenge()
        return None


def challenge():
    """401 asking for the gate's ID and password. Its page is what a person
    sees after cancelling the browser's prompt: which two passwords the
    management site asks for, and which mail brought them."""
    from ..merchants.onboarding import SUBJECT_BUSINESS_ACCOUNT, SUBJECT_STORE_ACCOUNT

    response = basic_auth.challenge()
    # The mails' subjects in the reader's language, and as sent (the mail of
    # a new account may have gone out in Japanese).
    store_mail, business_mail = str(SUBJECT_STORE_ACCOUNT), str(SUBJECT_BUSINESS_ACCOUNT)
    response.set_data(render_template("auth/gate.html", store_mail=gettext(store_mail),
                                      business_mail=gettext(business_mail), store_mail_sent=store_mail,
                                      business_mail_sent=business_mail))
    response.content_type = "text/html; charset=utf-8"
    return response
