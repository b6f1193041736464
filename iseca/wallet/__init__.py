"""The customer wallet (the chiica app's role): app members."""
from flask import Blueprint

from ..auth.areas import require_kinds_for_blueprint
from ..models import AccountKind

bp = Blueprint("wallet", __name__)
require_kinds_for_blueprint(bp, AccountKind.MEMBER, public_endpoints=("wallet.pay",))

from . import views  # noqa: E402,F401
from . import payments  # noqa: E402,F401
