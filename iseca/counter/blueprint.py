"""The counter blueprint itself, apart from the modules that add its views (so
that they import it without importing the package that imports them)."""
from flask import Blueprint

from ..auth.guards import require_kinds_for_blueprint
from ..models import AccountKind
from ..web.registers import bp as register_pages

bp = Blueprint("counter", __name__)
require_kinds_for_blueprint(bp, AccountKind.STAFF)
# A store's レジ一覧 and its QR pages, as in the management site.
bp.register_blueprint(register_pages)
