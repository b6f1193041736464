"""店舗情報 and 事業者情報 in the management site."""
from __future__ import annotations

import io
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from iseca.extensions import db
from iseca.models import AuditLog, Business, StoreImage
from tests import factories
from tests.support.client import csrf_from, login, post_form

STORE_FORM = {
    "category": "飲食", "area": "赤堀地区", "postal_code": "379-2204", "address": "群馬県伊勢崎市西久保町2-10",
    "phone": "0270-00-0021", "hours": "8:00〜20:00", "holidays_text": "月曜日", "website": "https://cafe.example.jp/",
    "description": "テラス席のあるカフェです。",
}


def image_file(fmt="PNG", size=(800, 600), mode="RGB", exif=False) -> bytes:
    out = io.BytesIO()
    image = Image.new(mode, size, (10, 120, 200) if mode == "RGB" else (10, 120, 200, 128))
    kwargs = {}
    if exif:
        info = Image.Exif()
        info[0x010F] = "SecretCam"  # Make
        info[0x010E] = "GPS 36.31N 139.19E"  # ImageDescription
        kwargs["exif"] = info.tobytes()
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


def upload(client, store, data: bytes, filename="photo.png", caption=""):
    page = client.get(f"/cms/stores/{store.id}")
    return client.post(f"/cms/stores/{store.id}/images", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "caption": caption,
        "image": (io.BytesIO(data), filename),
    }, content_type="multipart/form-data")


def test_store_edits_its_details(store_client):
    store = store_client.store
    resp = post_form(store_client, f"/cms/stores/{store.id}", STORE_FORM)
    assert resp.status_code == 303
    db.session.refresh(store)
    assert (store.hours, store.area, store.website) == ("8:00〜20:00", "赤堀地区", "https://cafe.example.jp/")
    html = store_client.get(f"/cms/stores/{store.id}").get_data(as_text=True)
    assert "店舗情報を保存しました" in html and 'value="8:00〜20:00"' in html
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "store_profile_updated"))
    assert "hours" in entry.details["fields"] and entry.actor_label == f"store:{store.code}"


@pytest.mark.parametrize("field,value,message", [
    ("address", "群馬県太田市浜町2-35", "伊勢崎市内の店舗・事業所に限られます"),
    ("phone", "電話", "電話番号は市外局番から"),
    ("website", "javascript:alert(1)", "http:// または https://"),
    ("hours", "", "営業時間を入力してください"),
    ("category", "カジノ", "業種"),
])
def test_bad_store_detail_is_refused_and_keeps_the_rest(store_client, field, value, message):
    store = store_client.store
    data = {**STORE_FORM, field: value}
    resp = post_form(store_client, f"/cms/stores/{store.id}", data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and message in html
    assert "テラス席のあるカフェです。" in html and 'value="0270-00-0021"' in html or field == "phone"
    db.session.refresh(store)
    assert store.hours != "8:00〜20:00" or field == "hours"


def test_script_in_description_is_shown_escaped_on_the_public_page(store_client, app):
    store = store_client.store
    post_form(store_client, f"/cms/stores/{store.id}", {**STORE_FORM, "description": "<script>alert(1)</script>\n2行目"})
    store.published_at = store.created_at
    db.session.commit()
    html = app.test_client().get(f"/stores/{store.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>2行目" in html


def test_uploaded_image_is_reencoded_without_metadata(store_client):
    store = store_client.store
    original = image_file("JPEG", exif=True)
    assert b"SecretCam" in original
    resp = upload(store_client, store, original, "photo.jpg", caption="外観")
    assert resp.status_code == 303
    image = db.session.scalar(select(StoreImage))
    assert image.data != original and b"SecretCam" not in image.data
    assert image.content_type == "image/jpeg" and (image.width, image.height) == (800, 600)
    served = store_client.get(f"/cms/stores/{store.id}/images/{image.id}")
    assert served.status_code == 200 and served.data == image.data
    assert served.headers["Content-Type"] == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert not Image.open(io.BytesIO(served.data)).getexif()


def test_large_image_is_scaled_down_and_transparency_kept_as_png(store_client):
    store = store_client.store
    upload(store_client, store, image_file("PNG", size=(3200, 1600), mode="RGBA"))
    image = db.session.scalar(select(StoreImage))
    assert image.content_type == "image/png" and (image.width, image.height) == (1600, 800)


@pytest.mark.parametrize("data,filename,message", [
    (b"<html><script>alert(1)</script></html>", "photo.png", "画像として読み取れないファイルです"),
    (b"%PDF-1.4\n...", "doc.pdf", "画像として読み取れないファイルです"),
    (b"", "empty.png", "画像ファイルを選んでください"),
    (None, "bmp", "JPEG・PNG・GIF・WebP形式の画像を選んでください"),
])
def test_non_image_upload_is_refused_with_a_message(store_client, data, filename, message):
    if data is None:
        out = io.BytesIO()
        Image.new("RGB", (10, 10)).save(out, format="BMP")
        data = out.getvalue()
    resp = upload(store_client, store_client.store, data, filename)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and message in html
    assert db.session.scalar(select(StoreImage)) is None


def test_oversize_upload_is_refused_with_a_message(store_client, app):
    app.config["STORE_IMAGE_MAX_BYTES"] = 100_000
    big = image_file("PNG", size=(1000, 1000))
    noise = io.BytesIO()
    Image.effect_noise((800, 800), 100).convert("RGB").save(noise, format="PNG")
    resp = upload(store_client, store_client.store, noise.getvalue())
    assert "画像ファイルが大きすぎます" in resp.get_data(as_text=True)
    assert db.session.scalar(select(StoreImage)) is None
    assert len(big) < 100_000  # a small file still goes through
    assert upload(store_client, store_client.store, big).status_code == 303


def test_upload_beyond_the_request_limit_says_the_file_is_too_large(store_client, app):
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    resp = upload(store_client, store_client.store, b"\0" * 60_000)
    assert resp.status_code == 303
    assert "画像ファイルが大きすぎます" in store_client.get(resp.headers["Location"]).get_data(as_text=True)


def huge_png(width: int, height: int) -> bytes:
    """A real, valid PNG of width×height black pixels, a few hundred KB on the
    wire however large (written row by row, never held as pixels)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(9)
    row = bytes(1 + width * 3)  # filter byte 0, then RGB
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("size", [(6300, 6300), (5000, 4000)])
def test_a_picture_of_too_many_pixels_is_refused_beside_the_field(store_client, size):
    data = huge_png(*size)
    assert len(data) < 200_000
    assert struct.unpack(">II", data[16:24]) == size  # the header's width and height
    resp = upload(store_client, store_client.store, data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    errors = re.search(r'<ul class="errors" id="image-error">(.*?)</ul>', html, re.S).group(1)
    assert "画像の画素数が大きすぎます" in errors and "縦横4096ピクセル以内" in errors
    assert db.session.scalar(select(StoreImage)) is None


def test_a_phone_camera_photo_is_still_accepted(store_client):
    resp = upload(store_client, store_client.store, image_file("JPEG", size=(4032, 3024)), "IMG_0001.jpg")
    assert resp.status_code == 303
    image = db.session.scalar(select(StoreImage))
    assert (image.width, image.height) == (1600, 1200)


ROOT = Path(__file__).resolve().parents[2]
MEASURE = """
import resource, sys
from flask import Flask
from flask_babel import Babel
from iseca.merchants import profiles
data = sys.stdin.buffer.read()
app = Flask("measure")
Babel(app)  # the refusal is a translated message
with app.app_context():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        profiles.reencode_image(data)
        print("accepted")
    except profiles.ImageProblem as problem:
        print(problem.message)
    print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_a_6300_pixel_square_png_is_refused_before_its_pixels_are_decoded():
    """The worker's peak memory hardly moves (decoding it would take 120 MB at least)."""
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", MEASURE], input=huge_png(6300, 6300),
                         capture_output=True, cwd=ROOT, timeout=120)
    message, grown_mb = out.stdout.decode().split("\n")[:2]
    assert "画像の画素数が大きすぎます" in message, out.stderr.decode()
    assert int(grown_mb) < 20


def test_images_can_be_reordered_and_deleted(store_client):
    store = store_client.store
    for caption in ("1枚目", "2枚目", "3枚目"):
        upload(store_client, store, image_file(), caption=caption)
    images = list(db.session.scalars(select(StoreImage).order_by(StoreImage.position)))
    post_form(store_client, f"/cms/stores/{store.id}/images/{images[2].id}/move", {"direction": "up"},
              page_url=f"/cms/stores/{store.id}")
    order = [im.caption for im in db.session.scalars(select(StoreImage).order_by(StoreImage.position))]
    assert order == ["1枚目", "3枚目", "2枚目"]
    post_form(store_client, f"/cms/stores/{store.id}/images/{images[0].id}/delete", {},
              page_url=f"/cms/stores/{store.id}")
    order = [im.caption for im in db.session.scalars(select(StoreImage).order_by(StoreImage.position))]
    assert order == ["3枚目", "2枚目"]
    html = store_client.get(f"/cms/stores/{store.id}").get_data(as_text=True)
    assert html.index("3枚目") < html.index("2枚目")


# --- 事業者情報 ----------------------------------------------------------------

BUSINESS_FORM = {
    "representative": "赤堀 花子", "postal_code": "379-2204", "address": "群馬県伊勢崎市西久保町2-10",
    "phone": "0270-00-0002", "email": "himawari@example.jp",
    "bank_code": "0001", "branch_code": "001", "account_type": "1", "account_number": "1234567",
    "account_holder_kana": "カブシキガイシャヒマワリ",
}


@pytest.fixture
def business_client(client):
    business = factories.make_business(name="株式会社ひまわり", email="himawari@example.jp", bank_code="0009",
                                       branch_code="001", account_number="7654321", account_holder_kana="ｶ)ﾋﾏﾜﾘ")
    factories.make_store(business)
    assert login(client, business.code, factories.PASSWORD, kind="business").status_code == 303
    client.business = business
    return client


def test_business_changes_bank_account_audited_masked_and_mailed(business_client, smtp):
    business = business_client.business
    resp = post_form(business_client, "/cms/business", BUSINESS_FORM)
    assert resp.status_code == 303
    db.session.refresh(business)
    assert (business.bank_code, business.account_number, business.account_holder_kana) == ("0001", "1234567", "ｶ)ﾋﾏﾜﾘ")
    assert business.bank_changed_at is not None
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "bank_account_changed"))
    assert entry.details["old"] == {"bank_code": "0009", "branch_code": "001", "account_type": "普通",
                                    "account_number": "****321", "account_holder_kana": "ｶ)****"}
    assert entry.details["new"]["account_number"] == "****567"
    assert "7654321" not in str(entry.details) and "1234567" not in str(entry.details)
    [mail] = smtp.with_subject("【ISECA】振込先口座が変更されました")
    assert mail["To"] == "himawari@example.jp"
    body = smtp.body(mail)
    assert "****321" in body and "****567" in body and "1234567" not in body


def test_unchanged_bank_account_is_not_logged_or_mailed(business_client, smtp):
    business = business_client.business
    same = {**BUSINESS_FORM, "bank_code": "0009", "account_number": "7654321", "account_holder_kana": "ｶ)ﾋﾏﾜﾘ"}
    post_form(business_client, "/cms/business", same)
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "bank_account_changed")) is None
    assert smtp.messages == []
    db.session.refresh(business)
    assert business.representative == "赤堀 花子"


def test_changed_email_gets_the_bank_mail_at_both_addresses(business_client, smtp):
    post_form(business_client, "/cms/business", {**BUSINESS_FORM, "email": "new@example.jp"})
    assert sorted(m["To"] for m in smtp.messages) == ["himawari@example.jp", "new@example.jp"]


@pytest.mark.parametrize("field,value,message", [
    ("bank_code", "9999", "金融機関が見つかりません"),
    ("branch_code", "998", "支店が見つかりません"),
    ("account_holder_kana", "ひまわり商店", "「商」は使えません"),
    ("account_number", "abc", "7桁までの数字"),
    ("email", "x", "メールアドレスの形式"),
])
def test_bad_bank_input_changes_nothing_and_keeps_what_was_typed(business_client, field, value, message):
    business = business_client.business
    html = post_form(business_client, "/cms/business", {**BUSINESS_FORM, field: value}).get_data(as_text=True)
    assert message in html
    assert 'value="赤堀 花子"' in html
    db.session.refresh(business)
    assert business.bank_code == "0009" and business.account_number == "7654321" and business.representative == ""


def test_business_page_shows_bank_and_branch_names(business_client):
    html = business_client.get("/cms/business").get_data(as_text=True)
    assert "三井住友" in html and 'value="7654321"' in html


def test_store_account_gets_404_for_business_page(store_client):
    assert store_client.get("/cms/business").status_code == 404
    assert post_form(store_client, "/cms/business", BUSINESS_FORM, page_url="/cms/").status_code == 404
    assert db.session.scalar(select(Business)).bank_code == ""
