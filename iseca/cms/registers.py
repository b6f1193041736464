"""レジ一覧 and 「QRコード表示」 of the management site (店舗QRコードの出力方法:
管理サイトにログイン > TOPページメニュー > レジ一覧 > 「QRコード表示」)."""
from __future__ import annotations

from flask import url_for
from flask_login import current_user

from .. import register_pages as pages
from ..web.access import stores_of
from . import bp

UI = pages.RegisterUi(
    bp="cms",
    layout="cms/layout.html",
    list_url=lambda store: url_for("cms.registers") + f"#store-{store.id}",
)


@bp.route("/registers")
def registers():
    """レジ一覧: the registers of the account's stores."""
    return pages.render_list(UI, stores_of(current_user))


@bp.route("/stores/<int:store_id>/registers", methods=["POST"])
def register_add(store_id: int):
    """「レジを追加」."""
    return pages.add(
        UI, store_id,
        on_error=lambda store, form: pages.render_list(UI, stores_of(current_user), forms={store.id: form}),
    )


pages.add_register_routes(bp, UI)
