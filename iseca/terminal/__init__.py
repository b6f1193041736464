"""加盟店アプリ (the merchant terminal): a phone-first page for store accounts."""
# The modules that add views to bp.
from . import (
    history,  # noqa: F401
    payments,  # noqa: F401
    views,  # noqa: F401
)
from .blueprint import bp

__all__ = ["bp"]
