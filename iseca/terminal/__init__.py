"""加盟店アプリ (the merchant terminal): a phone-first page for store
accounts: views (HOME), payments (決済する), history (店舗利用履歴)."""
from . import history, payments, views  # noqa: F401  (each adds its views to bp)
from .blueprint import bp

__all__ = ["bp"]
