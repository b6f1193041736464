"""加盟店アプリ (the merchant terminal): a phone-first page for store accounts."""
from .blueprint import bp

# The modules that add views to bp.
from . import views  # noqa: F401
from . import history  # noqa: F401
from . import payments  # noqa: F401

__all__ = ["bp"]
