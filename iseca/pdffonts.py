"""The Japanese font every PDF is written in (QR sheets, card sheets,
利用額明細): IPAexGothic embedded from Debian's fonts-ipaexfont-gothic."""
from __future__ import annotations

import hashlib
from pathlib import Path

from flask import current_app

FONT_NAME = "IPAexGothic"
FALLBACK_FONT_NAME = "HeiseiKakuGo-W5"
DEFAULT_FONT_PATH = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"


def japanese_font() -> str:
    """The name of a registered reportlab font that renders Japanese: the
    embedded IPAexGothic when its file exists, else the non-embedded CID font
    (which depends on the reader's fonts), with a warning."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    registered = pdfmetrics.getRegisteredFontNames()
    path = Path(current_app.config.get("PDF_JAPANESE_FONT_PATH") or DEFAULT_FONT_PATH)
    if path.is_file():
        name = FONT_NAME if path == Path(DEFAULT_FONT_PATH) else f"{FONT_NAME}-{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
        if name not in registered:
            pdfmetrics.registerFont(TTFont(name, str(path)))
        return name
    current_app.logger.warning(
        "Japanese font %s not found (Debian package fonts-ipaexfont-gothic); PDFs use the "
        "non-embedded CID font %s, which some viewers cannot show", path, FALLBACK_FONT_NAME,
    )
    if FALLBACK_FONT_NAME not in registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT_NAME))
    return FALLBACK_FONT_NAME
