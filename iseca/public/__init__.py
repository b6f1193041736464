"""Public pages: no login."""
# The modules that add views to bp.
from . import (
    card,  # noqa: F401
    onboarding_views,  # noqa: F401
    views,  # noqa: F401
)
from .blueprint import bp

__all__ = ["bp"]
