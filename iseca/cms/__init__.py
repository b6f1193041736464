"""管理サイト (the management site): store and business accounts: views
(TOP), usage (利用状況一覧, 日計, CSV), profile_views (店舗情報・事業者情報)."""
from . import profile_views, usage, views  # noqa: F401  (each adds its views to bp)
from .blueprint import bp

__all__ = ["bp"]
