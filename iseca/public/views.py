"""Public pages."""
from flask import current_app, render_template, send_from_directory, url_for

from . import content
from .blueprint import bp


@bp.route("/")
def index():
    """The public front page."""
    return render_template("public/index.html")


@bp.route("/faq")
def faq():
    """よくあるご質問, and 加盟店アプリのインストール手順 (「ホーム画面に追加」)."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return render_template("public/faq.html", faq=content.faq(), terminal_url=base + url_for("terminal.index"),
                           wallet_url=base + url_for("wallet.index"))


@bp.route("/not-payable")
def not_payable():
    """ISECAで決済できないモノ・サービス."""
    return render_template("public/not_payable.html", items=content.not_payable())


@bp.route("/contact")
def contact():
    """お問い合わせ先."""
    return render_template("public/contact.html", contact=content.contact())


@bp.route("/favicon.ico")
def favicon():
    """The icon a browser asks for by itself (and link previews, feed
    readers): the site's SVG icon, which every current browser draws."""
    return send_from_directory(current_app.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=7 * 86400)
