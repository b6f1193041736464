"""The customer wallet (the chiica app's role): app members."""
# The modules that add views to bp.
from . import (
    payments,  # noqa: F401
    views,  # noqa: F401
)
from .blueprint import bp

__all__ = ["bp"]
