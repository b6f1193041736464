"""加盟店アプリ (the merchant terminal): a phone-first page for store accounts."""
from flask import Blueprint

from ..auth.areas import require_kinds_for_blueprint
from ..models import AccountKind

bp = Blueprint("terminal", __name__)
require_kinds_for_blueprint(bp, AccountKind.STORE)

from . import views  # noqa: E402,F401
from . import history  # noqa: E402,F401
from . import payments  # noqa: E402,F401
