"""Terminal pages."""
from flask import render_template
from flask_login import current_user

from .blueprint import bp


@bp.route("/")
def index():
    """HOME画面: 決済する, 店舗利用履歴, 管理サイト, ログアウト."""
    return render_template("terminal/index.html", store=current_user.store)
