"""管理サイト (the management site): store and business accounts."""
from .blueprint import bp

# The modules that add views to bp.
from . import views  # noqa: F401
from . import profile_views  # noqa: F401  (店舗情報・事業者情報)
from . import usage  # noqa: F401

__all__ = ["bp"]
