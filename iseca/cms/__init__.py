"""管理サイト (the management site): store and business accounts."""
# The modules that add views to bp.
from . import (
    profile_views,  # noqa: F401  (店舗情報・事業者情報)
    usage,  # noqa: F401
    views,  # noqa: F401
)
from .blueprint import bp

__all__ = ["bp"]
