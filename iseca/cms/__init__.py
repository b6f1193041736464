"""管理サイト (the management site): store and business accounts."""
from flask import Blueprint

from ..auth.areas import require_kinds_for_blueprint
from ..models import AccountKind

bp = Blueprint("cms", __name__)
require_kinds_for_blueprint(bp, AccountKind.STORE, AccountKind.BUSINESS)

from . import views  # noqa: E402,F401
from . import registers  # noqa: E402,F401  (レジ一覧, 店舗QRコード)
from . import profile_views  # noqa: E402,F401  (店舗情報・事業者情報)
from . import usage  # noqa: E402,F401
