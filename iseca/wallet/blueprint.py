"""The wallet blueprint itself, apart from the modules that add its views (so
that they import it without importing the package that imports them)."""
from flask import Blueprint

from ..auth.guards import require_kinds_for_blueprint
from ..models import AccountKind
from ..web import installable

bp = Blueprint("wallet", __name__)
require_kinds_for_blueprint(bp, AccountKind.MEMBER, public_endpoints=("wallet.pay", *installable.public_endpoints("wallet")))
# 「ホーム画面に追加」: manifest, service worker and offline page at /wallet/.
bp.register_blueprint(installable.bp)
