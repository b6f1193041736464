"""レジ一覧 and 「QRコード表示」 of the management site (店舗QRコードの出力方法:
管理サイトにログイン > TOPページメニュー > レジ一覧 > 「QRコード表示」)."""
from __future__ import annotations

from flask import url_for
from flask_login import current_user

from .. import register_pages as pages
from ..access import stores_of
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


@bp.route("/registers/<int:register_id>/rename", methods=["GET", "POST"])
def register_rename(register_id: int):
    """「名前を変更」."""
    return pages.rename(UI, register_id)


@bp.route("/registers/<int:register_id>/retire", methods=["GET", "POST"])
def register_retire(register_id: int):
    """「廃止」 with confirmation."""
    return pages.retire(UI, register_id)


@bp.route("/registers/<int:register_id>/reissue", methods=["GET", "POST"])
def register_reissue(register_id: int):
    """「QRコード再発行」 with confirmation."""
    return pages.reissue(UI, register_id)


@bp.route("/registers/<int:register_id>/qr")
def register_qr(register_id: int):
    """「QRコード表示」."""
    return pages.show_qr(UI, register_id)


@bp.route("/registers/<int:register_id>/qr.png")
def register_qr_png(register_id: int):
    """「画像形式でダウンロード」."""
    return pages.download_png(register_id)


@bp.route("/registers/<int:register_id>/sheet")
def register_sheet(register_id: int):
    """「印刷用ページを表示」: 掲示用QRコード台紙 (A4)."""
    return pages.print_sheet(UI, register_id)


@bp.route("/registers/<int:register_id>/sheet.pdf")
def register_sheet_pdf(register_id: int):
    """掲示用QRコード台紙 as PDF."""
    return pages.sheet_pdf(register_id)
