"""レシート in Debian's chromium: opened from the till's 履歴の詳細, 「印刷する」
opening the print dialog, printed to PDF at 58 mm and 80 mm as a thermal
printer takes it (print media), read back with poppler: every field there
and no word beyond the paper's edge; the QR code printed on it, decoded by
zbar, opens the public receipt without a login."""
from __future__ import annotations

import datetime as dt
import re
import subprocess
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from iseca.extensions import db
from iseca.models import AccountKind
from iseca.money import cancellation
from iseca.timeutil import JST
from tests import factories
from tests.browser.test_accessibility import axe_violations
from tests.qr_helpers import decode_qr, pdf_page_images, pdf_pages, pdf_text
from tests.support.browser import SCREENSHOTS, log_in, screenshot

MM = 72 / 25.4  # PDF points per millimetre
PAPER_LENGTH = "160mm"  # the receipt stylesheets' page length
PAID_AT = dt.datetime(2026, 12, 3, 14, 5, tzinfo=JST)
WORD = re.compile(r'<word xMin="(-?[\d.]+)" yMin="(-?[\d.]+)" xMax="(-?[\d.]+)" yMax="(-?[\d.]+)">([^<]*)</word>')
PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">')


def words_with_boxes(pdf: bytes) -> tuple[tuple[float, float], list[tuple[float, float, float, float, str]]]:
    """pdftotext -bbox: the first page's size and every word with its box (points)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "receipt.pdf"
        path.write_bytes(pdf)
        out = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    width, height = (float(v) for v in PAGE.search(out).groups())
    words = [(float(a), float(b), float(c), float(d), w) for a, b, c, d, w in WORD.findall(out)]
    return (width, height), words



@pytest.fixture
def sale(app, live_server):
    # The QR code carries the public address; here that is the test server.
    app.config["PUBLIC_BASE_URL"] = live_server.url
    store = factories.make_store(name="いせさき駅前ベーカリー＆カフェ　本町通り店", postal_code="372-0014",
                                 address="群馬県伊勢崎市今泉町二丁目410番地 いせさき駅前ビル1階")
    member, card = factories.make_card_member(balance=12_345)
    paid = factories.make_payment_at(store.registers[0], member, 1_234, PAID_AT, card=card)
    return store, member, card, paid


def _open_receipt(page, store, paid):
    log_in(page, "terminal", store.code)
    page.goto(f"/terminal/history/{paid.id}")
    page.get_by_role("link", name="レシート", exact=True).click()
    page.wait_for_url(re.compile(rf"/terminal/history/{paid.id}/receipt"))


def test_receipt_prints_at_58_and_80_mm_with_every_field_inside_the_paper(page, new_context, live_server, sale):
    store, member, card, paid = sale
    _open_receipt(page, store, paid)
    # 「印刷する」 opens the browser's print dialog (window.print, counted here instead).
    page.evaluate("() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; }")
    page.get_by_role("button", name="印刷する").click()
    assert page.evaluate("window.__printed") == 1
    receipt_url = page.url

    fields = ["いせさき駅前ベーカリー", "372-0014", "2026/12/03", "14:05", "ISECAポイント", "1,234円",
              f"****{card.number[-4:]}", paid.number, "11,111"]
    codes = []
    for width in ("58mm", "80mm"):
        page.goto(receipt_url.split("?")[0] + f"?width={width}")
        page.emulate_media(media="print")
        # The stylesheet's own paper (@page size) is the roll's width.
        css_paper = page.pdf(prefer_css_page_size=True)
        assert abs(words_with_boxes(css_paper)[0][0] - float(width[:-2]) * MM) < 1
        pdf = page.pdf(width=width, height=PAPER_LENGTH, print_background=True)
        (SCREENSHOTS / f"receipt-{width}.pdf").write_bytes(pdf)
        page.emulate_media(media="screen")
        assert pdf_pages(pdf) == 1
        text = pdf_text(pdf)
        flat = re.sub(r"\s+", "", text)
        for field in fields:
            assert re.sub(r"\s+", "", field) in flat, (width, field, text)
        assert card.number not in flat and member.code not in flat
        assert "印刷する" not in flat and "レシートの言語" not in flat  # the clerk's controls are not printed
        (page_width, page_height), words = words_with_boxes(pdf)
        assert abs(page_width - float(width[:-2]) * MM) < 1
        # Across the roll nothing passes either edge; along it, nothing runs past the page's end.
        # (A word's box is its font's full line height: the first line's may reach above the top
        # margin without any ink there, so the top is not measured.)
        outside = [w for w in words if w[0] < 0 or w[2] > page_width or w[3] > page_height]
        assert any(w[4] == paid.number for w in words) and outside == [], (width, outside)
        # A little margin on both sides: nothing printed on the roll's very edge.
        assert min(w[0] for w in words) >= 2 * MM and max(w[2] for w in words) <= page_width - 2 * MM, width
        images = pdf_page_images(pdf, dpi=300)
        images[0].save(SCREENSHOTS / f"receipt-{width}.png")
        found = decode_qr(images[0])
        assert len(found) == 1, (width, found)
        codes.append(found[0])

    assert codes[0] == codes[1] and codes[0].startswith(f"{live_server.url}/receipt/")
    # The QR code opens the same receipt for anyone, without a login.
    stranger = new_context(http_credentials=None).new_page()
    answer = stranger.goto(codes[0])
    assert answer.status == 200
    shown = re.sub(r"\s+", "", stranger.locator("article.receipt").inner_text())
    for field in fields:
        assert re.sub(r"\s+", "", field) in shown, field
    assert card.number not in stranger.content() and member.name not in stranger.content()
    stranger.get_by_role("link", name="English").click()
    expect(stranger.locator("article.receipt")).to_contain_text("ISECA points")


def test_cancellation_receipt_is_marked_and_speaks_the_customers_language(page, app, sale):
    store, member, card, paid = sale
    cancellation.cancel_payment(paid, actor=factories.account_of(AccountKind.STORE, store.code))
    db.session.commit()
    log_in(page, "terminal", store.code)
    page.goto(f"/terminal/history/{paid.id}")
    page.get_by_role("link", name="取消のレシート").click()
    page.wait_for_url(re.compile("kind=cancellation"))
    page.get_by_role("link", name="Tiếng Việt").click()
    receipt = page.locator("article.receipt")
    expect(receipt).to_contain_text("ĐÃ HỦY")
    expect(receipt).to_contain_text("Số dư thẻ")
    assert receipt.get_attribute("lang") == "vi"
    expect(page.get_by_role("button", name="印刷する")).to_be_visible()  # the clerk's controls stay Japanese
    page.emulate_media(media="print")
    pdf = page.pdf(width="58mm", height=PAPER_LENGTH, print_background=True)
    # Without spaces: pdftotext splits a word where the glyphs come from two fonts (Đ, Ã).
    text = re.sub(r"\s+", "", pdf_text(pdf))
    assert "ĐÃHỦY" in text and paid.number in text and "12.345điểm" in text


@pytest.mark.parametrize("width", [360, 390])
def test_receipt_page_on_a_phone(new_context, sale, width):
    store, member, card, paid = sale
    # axe is added to the page as a script: the test's own, so the CSP is bypassed for it.
    page = new_context(bypass_csp=True, viewport={"width": width, "height": 800}).new_page()
    log_in(page, "terminal", store.code)
    page.goto("/terminal/history")
    screenshot(page, f"terminal-history-receipt-{width}px")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.get_by_role("link", name="レシート 12/03 14:05 1,234円").click()  # the row's own button
    page.wait_for_url(re.compile(rf"/terminal/history/{paid.id}/receipt"))
    page.get_by_role("link", name="58mm（感熱ロール紙）").click()
    page.wait_for_url(re.compile("width=58mm"))
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling
    expect(page.locator("article.receipt")).to_contain_text("ISECAポイント")
    screenshot(page, f"receipt-{width}px")
    assert axe_violations(page) == []
