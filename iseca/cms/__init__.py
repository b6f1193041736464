"""管理サイト (the management site): store and business accounts."""
from flask import Blueprint

from ..auth.areas import require_kinds_for_blueprint
from ..models import AccountKind

bp = Blueprint("cms", __name__)
require_kinds_for_blueprint(bp, AccountKind.STORE, AccountKind.BUSINESS)

from . import views  # noqa: E402,F401
from . import usage  # noqa: E402,F401
