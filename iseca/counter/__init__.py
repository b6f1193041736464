"""ISECA窓口 (the counter console): city staff."""
from .blueprint import bp

# The modules that add views to bp.
from . import views  # noqa: F401
from . import registers  # noqa: F401  (レジ・店舗QRコード)
from . import applications, merchants, outbox  # noqa: F401  (onboarding: 申込・加盟店・メール)
from . import members  # noqa: F401
from . import notices  # noqa: F401  (お知らせ)
from . import settlements  # noqa: F401  (精算)
from . import texts  # noqa: F401  (公開ページの文章)

__all__ = ["bp"]
