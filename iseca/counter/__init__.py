"""ISECA窓口 (the counter console): city staff."""
# The modules that add views to bp.
from . import (  # noqa: F401  (onboarding: 申込・加盟店・メール)
    applications,
    members,  # noqa: F401
    merchants,
    notices,  # noqa: F401  (お知らせ)
    outbox,
    registers,  # noqa: F401  (レジ・店舗QRコード)
    settlements,  # noqa: F401  (精算)
    texts,  # noqa: F401  (公開ページの文章)
    views,  # noqa: F401
)
from .blueprint import bp

__all__ = ["bp"]
