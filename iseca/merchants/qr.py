"""店舗QRコード: the code of each register (レジ), which a customer's wallet
reads to pay that register (決済方法①).

The code encodes an https address of this app, PUBLIC_BASE_URL + the
wallet's pay path + the register's random `qr_token`. Reissuing
(「QRコード再発行」) gives the register a new token and keeps the old one in
`RetiredQrToken`, so an old printed code opens a clear "no longer valid" page
and can never be paid to.

Outputs: a PNG (「画像形式でダウンロード」), an SVG for pages, and the
掲示用QRコード台紙 as an A4 PDF (one page per register) with Japanese text
in an embedded font.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import qrcode
import qrcode.constants
from flask import current_app
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select, update

from .. import audit, i18n
from ..extensions import db
from ..i18n import N_
from ..models import Register, RetiredQrToken, Store, utcnow
from ..pdffonts import japanese_font
from ..timeutil import JST
from .records import new_qr_token

# Error correction M (about 15 % of the code may be damaged or dirty) keeps the
# modules large enough to read from a metre on the printed sheet.
ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_M
QUIET_ZONE = 4  # modules of white border, as ISO/IEC 18004 asks
PNG_BOX_SIZE = 20  # pixels per module: about 900 px square, sharp when printed

PAY_ENDPOINT = "wallet.pay"

# What the 掲示用QRコード台紙 tells customers (決済方法①, in the guide's words:
# お客様が「店舗QRコード」を読み取り金額を入力). Customers read it with the ISECA
# wallet's 読み取り or their phone's camera app (the code is the wallet's address).
# Marked here, translated where shown: the sheet speaks the language of who prints it.
SHEET_TITLE = N_("ISECAが使えます")
SHEET_SUBTITLE = N_("伊勢崎市電子地域通貨 ISECA（いせか）")
SHEET_LEAD = N_("ISECAウォレットかスマートフォンのカメラで読み取り、金額を入力してください")
SHEET_INSTRUCTIONS = (
    N_("ISECAウォレット（またはスマートフォンのカメラ）で、このQRコードを読み取ってください"),
    N_("お支払い金額（税込）を入力し、決済してください"),
    N_("決済完了の画面をお店の方にお見せください"),
)
SHEET_FOOTER = N_("お問い合わせ：ISECA窓口（伊勢崎市 企画部 事務管理課）TEL 0270-27-2708")


# ---------------------------------------------------------------------------
# The address in the code, and reading it back
# ---------------------------------------------------------------------------


def pay_url_for_token(token: str) -> str:
    """The absolute address a register code carries, built from
    PUBLIC_BASE_URL (works outside a request too: CLI, PDF batches)."""
    base = urlsplit(str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/"))
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https")
    return adapter.build(PAY_ENDPOINT, {"token": token}, force_external=True)


def base_url_problem() -> str | None:
    """Why codes made now would be wrong to print (PUBLIC_BASE_URL not an
    https address), or None."""
    base = urlsplit(str(current_app.config.get("PUBLIC_BASE_URL") or ""))
    if base.scheme != "https" or not base.netloc:
        return _("QRコードのアドレスが https の公開アドレスになっていません（設定 ISECA_PUBLIC_BASE_URL = "
                 "%(url)s）。このまま印刷・掲示しないでください。", url=current_app.config.get("PUBLIC_BASE_URL"))
    return None


def register_pay_url(register: Register) -> str:
    """The address encoded in `register`'s store QR code (決済方法①)."""
    return pay_url_for_token(register.qr_token)


class RetiredToken(Exception):
    """The code was valid once but is no longer: the register's code was
    reissued (`reason == "reissued"`) or the register was retired
    (`reason == "register_retired"`)."""

    def __init__(self, register: Register, reason: str):
        super().__init__(reason)
        self.register = register
        self.reason = reason


def resolve_register_token(token: str) -> Register | None:
    """The register a scanned token pays; None for an unknown token;
    raises RetiredToken for a token that no longer pays anyone."""
    if not token or len(token) > 64:
        return None
    register = db.session.scalar(select(Register).where(Register.qr_token == token))
    if register is not None:
        if register.retired_at is not None:
            raise RetiredToken(register, "register_retired")
        return register
    old = db.session.scalar(select(RetiredQrToken).where(RetiredQrToken.token == token))
    if old is not None:
        register = db.session.get(Register, old.register_id)
        raise RetiredToken(register, "reissued")
    return None


def token_fingerprint(register: Register) -> str:
    """A short digest of the current token: a confirmation form carries it so
    that a repeated 「再発行する」 does not reissue twice."""
    return hashlib.sha256(register.qr_token.encode()).hexdigest()[:16]


def reissue_qr(register: Register, expected_fingerprint: str | None = None) -> bool:
    """「QRコード再発行」: give `register` a new token; the old one is kept as
    retired. Returns False (and changes nothing) when the code was already
    reissued since `expected_fingerprint` was shown, or the register is retired."""
    if register.retired_at is not None:
        return False
    old_token = register.qr_token
    if expected_fingerprint is not None and expected_fingerprint != token_fingerprint(register):
        return False
    new_token = new_qr_token()
    now = utcnow()
    # Conditional update: of two concurrent reissues only one wins, so the old
    # token is retired exactly once.
    result = db.session.execute(
        update(Register)
        .where(Register.id == register.id, Register.qr_token == old_token, Register.retired_at.is_(None))
        .values(qr_token=new_token, qr_issued_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(register)
        return False
    db.session.add(RetiredQrToken(register_id=register.id, token=old_token, retired_at=now))
    db.session.flush()
    db.session.refresh(register)
    audit.record(
        "register.qr_reissue",
        register,
        {"store_code": register.store.code, "register": register.name,
         "old_token_sha256": hashlib.sha256(old_token.encode()).hexdigest()[:16]},
    )
    return True


# ---------------------------------------------------------------------------
# Images: PNG and SVG
# ---------------------------------------------------------------------------


def _qr(data: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION, border=QUIET_ZONE, box_size=PNG_BOX_SIZE)
    code.add_data(data)
    code.make(fit=True)
    return code


def qr_matrix(data: str) -> list[list[bool]]:
    """The modules of the code for `data`, quiet zone included (True = dark)."""
    return _qr(data).get_matrix()


def qr_png(data: str, box_size: int = PNG_BOX_SIZE) -> bytes:
    """A black-on-white PNG of the code for `data`, with its quiet zone."""
    code = _qr(data)
    code.box_size = box_size
    image = code.make_image(fill_color="black", back_color="white")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def register_qr_png(register: Register) -> bytes:
    """「画像形式でダウンロード」: the register's code as a PNG."""
    return qr_png(register_pay_url(register))


def qr_svg(data: str, title: str = "QRコード") -> Markup:
    """The code as an inline SVG (one path, scales sharply on screen and paper)."""
    matrix = qr_matrix(data)
    size = len(matrix)
    parts = []
    for y, row in enumerate(matrix):
        x = 0
        while x < size:
            if row[x]:
                start = x
                while x < size and row[x]:
                    x += 1
                parts.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="qr-code" viewBox="0 0 {size} {size}" '
        f'role="img" aria-label="{Markup.escape(title)}" shape-rendering="crispEdges">'
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(parts)}"/></svg>'
    )
    return Markup(svg)


_UNSAFE_FILENAME = re.compile(r'[\\/:*?"<>|\x00-\x1f\s]+')


def png_filename(register: Register) -> str:
    """e.g. ISECA_QR_S00012_R0003_レジ1.png: the store code and the register."""
    name = _UNSAFE_FILENAME.sub("_", unicodedata.normalize("NFC", register.name)).strip("_") or "register"
    return f"ISECA_QR_{register.store.code}_R{register.id:04d}_{name}.png"


def sheet_filename(registers: Sequence[Register]) -> str:
    """The PDF's file name: the register's for one sheet, a batch name otherwise."""
    if len(registers) == 1:
        return png_filename(registers[0])[: -len(".png")] + ".pdf"
    stamp = dt.datetime.now(JST).strftime("%Y%m%d_%H%M")
    return f"ISECA_QR_sheets_{stamp}_{len(registers)}.pdf"


# ---------------------------------------------------------------------------
# 掲示用QRコード台紙 (A4 PDF)
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SheetData:
    """What one 台紙 shows (plain values, read before drawing)."""

    store_name: str
    store_code: str
    register_name: str
    url: str
    issued_at: dt.datetime


def sheet_data(register: Register) -> SheetData:
    return SheetData(
        store_name=register.store.name,
        store_code=register.store.code,
        register_name=register.name,
        url=register_pay_url(register),
        issued_at=register.qr_issued_at,
    )


def _fit_font_size(text: str, font: str, size: float, max_width: float, minimum: float = 10) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    while size > minimum and stringWidth(text, font, size) > max_width:
        size -= 1
    return size


def _draw_sheet(canvas, sheet: SheetData, font: str) -> None:
    from reportlab.lib.colors import HexColor, black, white
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm

    width, height = A4
    brand = HexColor("#0b6e4f")
    margin = 15 * mm
    inner = width - 2 * margin

    # Header band: ISECA name.
    canvas.setFillColor(brand)
    canvas.rect(0, height - 42 * mm, width, 42 * mm, stroke=0, fill=1)
    canvas.setFillColor(white)
    canvas.setFont(font, 40)
    canvas.drawCentredString(width / 2, height - 24 * mm, _(SHEET_TITLE))
    canvas.setFont(font, 14)
    canvas.drawCentredString(width / 2, height - 35 * mm, _(SHEET_SUBTITLE))

    # Store and register names.
    canvas.setFillColor(black)
    size = _fit_font_size(sheet.store_name, font, 30, inner)
    canvas.setFont(font, size)
    canvas.drawCentredString(width / 2, height - 60 * mm, sheet.store_name)
    register_line = _("レジ：%(name)s", name=sheet.register_name)
    size = _fit_font_size(register_line, font, 20, inner)
    canvas.setFont(font, size)
    canvas.drawCentredString(width / 2, height - 72 * mm, register_line)

    # The code: 130 mm with its quiet zone, about 3 mm per module (readable
    # from a metre and more).
    matrix = qr_matrix(sheet.url)
    n = len(matrix)
    side = 130 * mm
    module = side / n
    left = (width - side) / 2
    top = height - 80 * mm
    canvas.setFillColor(white)
    canvas.rect(left, top - side, side, side, stroke=0, fill=1)
    canvas.setFillColor(black)
    for y, row in enumerate(matrix):
        x = 0
        while x < n:
            if row[x]:
                start = x
                while x < n and row[x]:
                    x += 1
                canvas.rect(left + start * module, top - (y + 1) * module, (x - start) * module, module, stroke=0, fill=1)
            else:
                x += 1

    # Instructions for customers.
    y = top - side - 12 * mm
    lead = _(SHEET_LEAD)
    canvas.setFont(font, _fit_font_size(lead, font, 18, inner))
    canvas.setFillColor(brand)
    canvas.drawCentredString(width / 2, y, lead)
    canvas.setFillColor(black)
    y -= 10 * mm
    for number, line in enumerate(SHEET_INSTRUCTIONS, start=1):
        mark = '①②③④⑤'[number - 1] if i18n.current() == "ja" else f"{number}."
        text = f"{mark} {_(line)}"
        canvas.setFont(font, _fit_font_size(text, font, 14, inner))
        canvas.drawString(margin + 8 * mm, y, text)
        y -= 8.5 * mm

    # Footer: who to ask, and which code this is (for the store and the counter).
    canvas.setStrokeColor(brand)
    canvas.line(margin, 20 * mm, width - margin, 20 * mm)
    canvas.setFont(font, 9)
    canvas.drawCentredString(width / 2, 14 * mm, _(SHEET_FOOTER))
    issued = i18n.jst(sheet.issued_at, "%Y年%m月%d日")
    canvas.drawCentredString(width / 2, 9 * mm, _("店舗コード %(code)s　レジ %(register)s　発行日 %(date)s",
                                                   code=sheet.store_code, register=sheet.register_name, date=issued))


def qr_sheets_pdf(registers: Iterable[Register]) -> bytes:
    """The 掲示用QRコード台紙 of `registers` as one A4 PDF, one page each."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    sheets = [sheet_data(r) for r in registers]
    font = japanese_font()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1, initialFontName=font, initialFontSize=12)
    canvas.setTitle(_("ISECA 掲示用QRコード台紙"))
    canvas.setAuthor(_("ISECA窓口"))
    canvas.setSubject(_("店舗QRコード"))
    for sheet in sheets:
        _draw_sheet(canvas, sheet, font)
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def registers_for_sheets(store_ids: Iterable[int]) -> list[Register]:
    """The active registers of the given stores, by store code then register:
    what the counter prints for the kit hand-over."""
    ids = {int(i) for i in store_ids}
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(Register)
            .join(Store, Store.id == Register.store_id)
            .where(Register.store_id.in_(ids), Register.retired_at.is_(None))
            .order_by(Store.code, Register.id)
        )
    )
