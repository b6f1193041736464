"""The terminal blueprint itself, apart from the modules that add its views (so
that they import it without importing the package that imports them)."""
from flask import Blueprint

from ..auth.guards import require_kinds_for_blueprint
from ..models import AccountKind
from ..web import installable
from ..web.cancel import bp as cancel_pages
from ..web.receipts import bp as receipt_pages
from ..web.settlements import bp as settlement_pages

bp = Blueprint("terminal", __name__)
require_kinds_for_blueprint(bp, AccountKind.STORE, public_endpoints=installable.public_endpoints("terminal"))
# 取消 of a payment from 店舗利用履歴 (its detail page).
bp.register_blueprint(cancel_pages, url_prefix="/history", url_defaults={"list_endpoint": "terminal.history"})
# 精算 in the phone layout (the guide: 利用額明細は加盟店アプリまたは管理サイトでご確認ください).
bp.register_blueprint(settlement_pages, url_prefix="/settlements")
# レシート of a payment or its 取消 (決済完了, 店舗利用履歴).
bp.register_blueprint(receipt_pages, url_prefix="/history", url_defaults={"list_endpoint": "terminal.history"})
# 「ホーム画面に追加」: manifest, service worker and offline page at /terminal/.
bp.register_blueprint(installable.bp)
