"""ISECA窓口 (the counter console): city staff."""
from flask import Blueprint

from ..auth.areas import require_kinds_for_blueprint
from ..models import AccountKind
from ..web.registers import bp as register_pages

bp = Blueprint("counter", __name__)
require_kinds_for_blueprint(bp, AccountKind.STAFF)
# A store's レジ一覧 and its QR pages, as in the management site.
bp.register_blueprint(register_pages)

from . import views  # noqa: E402,F401
from . import registers  # noqa: E402,F401  (レジ・店舗QRコード)
from . import applications, merchants, outbox  # noqa: E402,F401  (onboarding: 申込・加盟店・メール)
from . import members  # noqa: E402,F401
from . import notices  # noqa: E402,F401  (お知らせ)
from . import settlements  # noqa: E402,F401  (精算)
from . import texts  # noqa: E402,F401  (公開ページの文章)
