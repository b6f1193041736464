"""Public pages: no login."""
from .blueprint import bp

# The modules that add views to bp.
from . import views  # noqa: F401
from . import onboarding_views  # noqa: F401
from . import card  # noqa: F401

__all__ = ["bp"]
