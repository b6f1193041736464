"""Public pages, no login: views, onboarding_views (加盟店登録), card
(the card's balance page), receipt (a receipt opened from its QR code)."""
from . import card, onboarding_views, receipt, views  # noqa: F401  (each adds its views to bp)
from .blueprint import bp

__all__ = ["bp"]
