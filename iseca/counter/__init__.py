"""ISECA窓口 (the counter console): city staff: views (窓口TOP),
applications (申込), merchants (加盟店), members (会員・カード, grants,
campaigns), registers (店舗QRコード), settlements (精算), notices (お知らせ),
texts (公開ページの文章), outbox (メール送信状況)."""
from . import (  # noqa: F401  (each adds its views to bp)
    applications,
    members,
    merchants,
    notices,
    outbox,
    registers,
    settlements,
    texts,
    views,
)
from .blueprint import bp

__all__ = ["bp"]
