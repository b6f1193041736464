"""Reading back what users get: QR codes decoded by a real reader (zbar via
pyzbar), PDFs read with poppler (pdftotext, pdffonts, pdftoppm)."""
from __future__ import annotations

import io
import subprocess
import tempfile
from pathlib import Path

from PIL import Image
from pyzbar.pyzbar import ZBarSymbol, decode


def decode_qr(image: Image.Image | bytes) -> list[str]:
    """Every QR code zbar finds in an image (PNG bytes or a PIL image)."""
    if isinstance(image, (bytes, bytearray)):
        image = Image.open(io.BytesIO(image))
    return [symbol.data.decode("utf-8") for symbol in decode(image.convert("L"), symbols=[ZBarSymbol.QRCODE])]


def pdf_text(pdf: bytes) -> str:
    return _poppler(["pdftotext", "-layout", "{pdf}", "-"], pdf)


def pdf_fonts(pdf: bytes) -> str:
    return _poppler(["pdffonts", "{pdf}"], pdf)


def pdf_pages(pdf: bytes) -> int:
    info = _poppler(["pdfinfo", "{pdf}"], pdf)
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def pdf_page_images(pdf: bytes, dpi: int = 100) -> list[Image.Image]:
    """Each page rasterised by pdftoppm, as a browser-grade renderer draws it."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        path.write_bytes(pdf)
        result = subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(path), str(Path(tmp) / "page")],
                                capture_output=True, text=True, check=True)
        assert "Error" not in result.stderr, result.stderr
        return [Image.open(p).copy() for p in sorted(Path(tmp).glob("page-*.png"))]


def _poppler(argv: list[str], pdf: bytes) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        path.write_bytes(pdf)
        result = subprocess.run([a.replace("{pdf}", str(path)) for a in argv], capture_output=True, text=True, check=True)
        assert "Error" not in result.stderr, result.stderr
        return result.stdout
