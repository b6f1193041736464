"""The customer wallet (the chiica app's role): app members: views, payments (決済方法①)."""
from . import payments, views  # noqa: F401  (each adds its views to bp)
from .blueprint import bp

__all__ = ["bp"]
