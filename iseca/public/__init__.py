"""Public pages: no login."""
from flask import Blueprint

bp = Blueprint("public", __name__)

from . import views  # noqa: E402,F401
from . import onboarding_views  # noqa: E402,F401
from . import card  # noqa: E402,F401
