"""The customer wallet (the chiica app's role): app members."""
from .blueprint import bp

# The modules that add views to bp.
from . import views  # noqa: F401
from . import payments  # noqa: F401

__all__ = ["bp"]
