"""Terminal pages."""
from flask import render_template
from flask_login import current_user

from ..money import day_totals
from ..timeutil import today_jst
from .blueprint import bp


@bp.route("/")
def index():
    """HOME画面: 決済する, 店舗利用履歴, 管理サイト, ログアウト, and 今日の決済."""
    store = current_user.store
    return render_template("terminal/index.html", store=store, today=day_totals.store_day(store.id, today_jst()))
