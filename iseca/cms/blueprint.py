"""The cms blueprint itself, apart from the modules that add its views (so
that they import it without importing the package that imports them)."""
from flask import Blueprint

from ..auth.guards import require_kinds_for_blueprint
from ..models import AccountKind
from ..web.cancel import bp as cancel_pages
from ..web.receipts import bp as receipt_pages
from ..web.registers import bp as register_pages
from ..web.settlements import bp as settlement_pages

bp = Blueprint("cms", __name__)
require_kinds_for_blueprint(bp, AccountKind.STORE, AccountKind.BUSINESS)
# レジ一覧 and 店舗QRコード (管理サイト > TOPページメニュー > レジ一覧 > 「QRコード表示」).
bp.register_blueprint(register_pages, list_all_stores=True)
# 取消 of a payment from 利用状況一覧.
bp.register_blueprint(cancel_pages, url_prefix="/usage", url_defaults={"list_endpoint": "cms.usage"})
# 精算: 精算金額の確認, 利用額明細 (page, PDF, CSV), 振込スケジュール.
bp.register_blueprint(settlement_pages, url_prefix="/settlements")
# レシート of a payment or its 取消 from 利用状況一覧.
bp.register_blueprint(receipt_pages, url_prefix="/usage", url_defaults={"list_endpoint": "cms.usage"})
