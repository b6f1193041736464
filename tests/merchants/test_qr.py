"""店舗QRコード: the address in each register's code, reissue, the PNG and
the 掲示用QRコード台紙 PDF, checked with a real QR reader and poppler."""
from __future__ import annotations

import io
import logging
import re

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import func, select

from iseca.extensions import db
from iseca.merchants import qr
from iseca.merchants.registers import RegisterError, add_register, rename_register, retire_register
from iseca.models import AuditLog, Register, RetiredQrToken
from tests import factories
from tests.qr_helpers import decode_qr, pdf_fonts, pdf_page_images, pdf_pages, pdf_text

# --- the address ---------------------------------------------------------------

def test_register_code_carries_public_https_address_with_random_token(app):
    store = factories.make_store(registers=2)
    first, second = store.registers
    url = qr.register_pay_url(first)
    assert url == f"https://iseca.example.jp/wallet/pay/{first.qr_token}"
    # Not a guessable number: 32 url-safe characters (192 random bits), different per register.
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", first.qr_token)
    assert first.qr_token != second.qr_token


def test_public_base_url_with_a_path_prefix_is_kept(app):
    app.config["PUBLIC_BASE_URL"] = "https://city.example.jp/iseca/"
    register = factories.make_store().registers[0]
    assert qr.register_pay_url(register) == f"https://city.example.jp/iseca/wallet/pay/{register.qr_token}"


def test_address_is_built_outside_a_request(app):
    """Batches (PDF for the counter, CLI) have no request."""
    from flask import has_request_context

    assert not has_request_context()
    register = factories.make_store().registers[0]
    assert qr.register_pay_url(register).startswith("https://iseca.example.jp/wallet/pay/")


# --- resolving a scanned token -------------------------------------------------

def test_resolve_finds_the_register_of_a_valid_token(app):
    register = factories.make_store().registers[0]
    assert qr.resolve_register_token(register.qr_token).id == register.id


@pytest.mark.parametrize("token", ["", "nope", "x" * 65, "1"])
def test_resolve_unknown_token_is_none(app, token):
    factories.make_store()
    assert qr.resolve_register_token(token) is None


def test_reissue_retires_old_token_and_new_one_works(app):
    register = factories.make_store().registers[0]
    old_token, old_issued = register.qr_token, register.qr_issued_at
    assert qr.reissue_qr(register, qr.token_fingerprint(register)) is True
    db.session.commit()

    assert register.qr_token != old_token and register.qr_issued_at >= old_issued
    with pytest.raises(qr.RetiredToken) as info:
        qr.resolve_register_token(old_token)
    assert info.value.reason == "reissued" and info.value.register.id == register.id
    assert qr.resolve_register_token(register.qr_token).id == register.id
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "register.qr_reissue"))
    assert entry.target_id == register.id and old_token not in str(entry.details)


def test_repeated_reissue_confirmation_reissues_once(app):
    register = factories.make_store().registers[0]
    seen = qr.token_fingerprint(register)
    assert qr.reissue_qr(register, seen) is True
    after_first = register.qr_token
    assert qr.reissue_qr(register, seen) is False
    db.session.commit()
    assert register.qr_token == after_first
    assert db.session.scalar(select(func.count()).select_from(RetiredQrToken)) == 1


def test_every_old_token_stays_refused_after_several_reissues(app):
    register = factories.make_store().registers[0]
    tokens = [register.qr_token]
    for _ in range(3):
        qr.reissue_qr(register)
        tokens.append(register.qr_token)
    db.session.commit()
    for old in tokens[:-1]:
        with pytest.raises(qr.RetiredToken):
            qr.resolve_register_token(old)
    assert qr.resolve_register_token(tokens[-1]).id == register.id


def test_retired_register_code_is_refused(app):
    store = factories.make_store(registers=2)
    register = store.registers[1]
    retire_register(register)
    db.session.commit()
    with pytest.raises(qr.RetiredToken) as info:
        qr.resolve_register_token(register.qr_token)
    assert info.value.reason == "register_retired"
    assert qr.reissue_qr(register) is False


# --- registers -----------------------------------------------------------------

def test_add_register_gives_its_own_code_and_is_audited(app):
    store = factories.make_store()
    register = add_register(store, "  テラス席 　レジ ")
    db.session.commit()
    assert register.name == "テラス席 レジ"
    assert register.qr_token != store.registers[0].qr_token
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "register.create")).target_id == register.id


@pytest.mark.parametrize("name,message", [
    ("", "レジ名を入力してください。"),
    ("　 ", "レジ名を入力してください。"),
    ("あ" * 31, "30文字以内"),
    ("レジ1", "すでにあります"),
    ("レジ\u200b", "使えない文字"),
])
def test_bad_register_names_are_refused_with_a_message(app, name, message):
    store = factories.make_store()
    with pytest.raises(RegisterError, match=message):
        add_register(store, name)


def test_same_name_is_allowed_in_another_store_and_after_retirement(app):
    store = factories.make_store(registers=2)
    factories.make_store()  # has its own レジ1
    retire_register(store.registers[0])
    assert add_register(store, "レジ1").name == "レジ1"


def test_rename_keeps_the_code_valid(app):
    store = factories.make_store(registers=2)
    register = store.registers[0]
    token = register.qr_token
    assert rename_register(register, "入口レジ") is True
    assert rename_register(register, "入口レジ") is False
    with pytest.raises(RegisterError, match="すでにあります"):
        rename_register(register, "レジ2")
    db.session.commit()
    assert qr.resolve_register_token(token).name == "入口レジ"


def test_last_register_in_use_cannot_be_retired(app):
    store = factories.make_store(registers=1)
    with pytest.raises(RegisterError, match="1台だけ"):
        retire_register(store.registers[0])


# --- PNG -------------------------------------------------------------------------

def test_png_decodes_to_the_register_address_with_quiet_zone(app):
    register = factories.make_store().registers[0]
    png = qr.register_qr_png(register)
    assert png.startswith(b"\x89PNG")
    assert decode_qr(png) == [qr.register_pay_url(register)]
    image = Image.open(io.BytesIO(png)).convert("L")
    border = qr.QUIET_ZONE * qr.PNG_BOX_SIZE
    w, h = image.size
    for box in [(0, 0, w, border), (0, h - border, w, h), (0, 0, border, h), (w - border, 0, w, h)]:
        assert image.crop(box).getextrema() == (255, 255), "quiet zone must be white"


def test_png_still_reads_with_a_dirty_patch(app):
    """Error correction M: a stain over part of the data still reads."""
    register = factories.make_store().registers[0]
    image = Image.open(io.BytesIO(qr.register_qr_png(register))).convert("L")
    n = len(qr.qr_matrix(qr.register_pay_url(register))) - 2 * qr.QUIET_ZONE
    box = qr.PNG_BOX_SIZE
    start = (qr.QUIET_ZONE + 10) * box
    # A 7x7-module stain (about 5 % of the code) in the data area.
    ImageDraw.Draw(image).rectangle([start, start, start + 7 * box - 1, start + 7 * box - 1], fill=255)
    assert n >= 37
    assert decode_qr(image) == [qr.register_pay_url(register)]


def test_png_filename_names_store_code_and_register(app):
    store = factories.make_store()
    register = add_register(store, "テラス/席")
    assert qr.png_filename(register) == f"ISECA_QR_{store.code}_R{register.id:04d}_テラス_席.png"


# --- 掲示用QRコード台紙 (PDF) ---------------------------------------------------

def test_sheet_pdf_shows_names_in_japanese_and_its_code_reads_back(app):
    store = factories.make_store(name="いせさき青果店")
    register = store.registers[0]
    pdf = qr.qr_sheets_pdf([register])
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    for expected in ("いせさき青果店", "レジ：レジ1", "ISECAが使えます", "ISECAウォレットかスマートフォンのカメラで読み取り、金額を入力してください",
                     store.code, "ISECA窓口"):
        assert expected in text, expected
    fonts = pdf_fonts(pdf)
    assert "IPAexGothic" in fonts
    embedded = [line for line in fonts.splitlines() if "IPAexGothic" in line]
    assert all(" yes " in line for line in embedded), fonts  # embedded subset
    [page] = pdf_page_images(pdf, dpi=100)
    assert decode_qr(page) == [qr.register_pay_url(register)]


def test_sheet_code_is_large_enough_to_read_from_a_metre(app):
    """About 13 cm square on A4: 10 cm of code reads from a metre."""
    register = factories.make_store().registers[0]
    [page] = pdf_page_images(qr.qr_sheets_pdf([register]), dpi=72)
    from pyzbar.pyzbar import decode

    [symbol] = decode(page.convert("L"))
    width_mm = symbol.rect.width / 72 * 25.4
    assert width_mm >= 100, width_mm
    # Even a small, low-resolution picture of the whole page reads (as from afar).
    small = page.resize((page.width // 3, page.height // 3))
    assert decode_qr(small) == [qr.register_pay_url(register)]


def test_many_sheets_one_page_per_register_in_order(app):
    a = factories.make_store(name="赤堀うどん", registers=2)
    b = factories.make_store(name="境の本屋", registers=1)
    registers = qr.registers_for_sheets([b.id, a.id])
    assert [r.store_id for r in registers] == [a.id, a.id, b.id]
    pdf = qr.qr_sheets_pdf(registers)
    assert pdf_pages(pdf) == 3
    images = pdf_page_images(pdf, dpi=80)
    assert [decode_qr(img) for img in images] == [[qr.register_pay_url(r)] for r in registers]
    text = pdf_text(pdf)
    assert text.count("赤堀うどん") >= 2 and "境の本屋" in text


def test_sheets_leave_out_retired_registers(app):
    store = factories.make_store(registers=2)
    retire_register(store.registers[0])
    db.session.commit()
    assert [r.id for r in qr.registers_for_sheets([store.id])] == [store.registers[1].id]


def test_long_store_name_is_shrunk_to_fit_the_page(app):
    name = "伊勢崎市中央町商店街振興組合直営ふれあい市場いせさき本店"
    register = factories.make_store(name=name).registers[0]
    text = pdf_text(qr.qr_sheets_pdf([register]))
    assert name in text.replace("\n", "").replace(" ", "")


def test_without_the_ipaex_font_the_pdf_falls_back_with_a_warning(app, caplog):
    app.config["PDF_JAPANESE_FONT_PATH"] = "/nonexistent/ipaexg.ttf"
    register = factories.make_store(name="ひまわり書店").registers[0]
    with caplog.at_level(logging.WARNING, logger="iseca"):
        pdf = qr.qr_sheets_pdf([register])
    assert any("not found" in r.getMessage() for r in caplog.records)
    assert "HeiseiKakuGo-W5" in pdf_fonts(pdf)
    assert "ひまわり書店" in pdf_text(pdf)


def test_two_simultaneous_reissues_of_one_code_retire_it_once(app):
    """Two devices confirm 「再発行する」 at the same moment: one reissue."""
    import threading

    register = factories.make_store().registers[0]
    register_id, old_token, seen = register.id, register.qr_token, qr.token_fingerprint(register)
    db.session.commit()
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def confirm():
        with app.test_request_context(method="POST"):
            barrier.wait()
            mine = db.session.get(Register, register_id)
            results.append(qr.reissue_qr(mine, seen))
            db.session.commit()
            db.session.remove()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results) == [False, True]
    db.session.expire_all()
    assert db.session.scalars(select(RetiredQrToken.token)).all() == [old_token]
    with pytest.raises(qr.RetiredToken):
        qr.resolve_register_token(old_token)


def test_two_simultaneous_retirements_keep_one_register_in_use(app):
    import threading

    store = factories.make_store(registers=2)
    ids = [r.id for r in store.registers]
    db.session.commit()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def retire(register_id):
        with app.test_request_context(method="POST"):
            barrier.wait()
            try:
                retire_register(db.session.get(Register, register_id))
                db.session.commit()
                outcomes.append("retired")
            except RegisterError:
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=retire, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["refused", "retired"]
    db.session.expire_all()
    from iseca.merchants.registers import active_registers

    assert len(active_registers(store)) == 1
