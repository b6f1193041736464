"""Public pages, no login: views, onboarding_views (加盟店登録), card
(the card's balance page)."""
from . import card, onboarding_views, views  # noqa: F401  (each adds its views to bp)
from .blueprint import bp

__all__ = ["bp"]
