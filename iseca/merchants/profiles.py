"""店舗情報・事業者情報の編集: what stores and businesses change themselves
in the management site, including store images (re-encoded, never served
as uploaded) and the business's bank account (audited and mailed)."""
from __future__ import annotations

import io
from typing import Any

from flask import abort, current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import func, select

from .. import audit, i18n, outbox
from ..extensions import db
from ..i18n import N_
from ..labels import FIELD
from ..models import (
    Account,
    AccountType,
    Business,
    OutboxMessage,
    Store,
    StoreImage,
    utcnow,
)
from ..money import banking
from ..money.banking import BankAccount

SUBJECT_BANK_CHANGED = N_("【ISECA】振込先口座が変更されました")

STORE_FIELDS = ("category", "area", "postal_code", "address", "phone", "hours", "holidays_text", "website", "description",
                "receipt_width")
STORE_SETTINGS = ("confirm_before_charge",)  # on/off choices of the store
BUSINESS_FIELDS = ("representative", "postal_code", "address", "phone", "email")
NAME_FIELDS = ("name", "name_kana")  # the counter's alone: a merchant asks the counter to change them
SUBJECT_DETAILS_CHANGED = N_("【ISECA】登録内容の変更のお知らせ")
BANK_FIELDS = ("bank_code", "branch_code", "account_type", "account_number", "account_holder_kana")

# What an upload may be before re-encoding; anything else is refused.
ACCEPTED_FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}
MAX_SIDE = 1600  # pixels: larger images are scaled down
# A store photo needs no more than a phone camera gives (12 MP, 4032×3024);
# 4096×4096 leaves room and bounds what decoding one upload costs a worker
# (64 MB as RGBA). A PNG of 6300×6300 is only 150 KB on the wire but would
# take over 500 MB to decode: the size is read from the header and refused
# before any pixel is decoded.
MAX_PIXELS = 4096 * 4096
# Pillow itself refuses images beyond twice this (DecompressionBombError)
# wherever the app opens one; the check below refuses from the header first.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class ImageProblem(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def update_store_profile(store: Store, values: dict[str, Any], actor: Account) -> list[str]:
    """Change the store's editable fields; returns the names that changed."""
    changed = []
    for name in STORE_FIELDS:
        if name in values and (values[name] or "") != (getattr(store, name) or ""):
            setattr(store, name, values[name] or "")
            changed.append(name)
    for name in STORE_SETTINGS:
        if name in values and bool(values[name]) != getattr(store, name):
            setattr(store, name, bool(values[name]))
            changed.append(name)
    if changed:
        audit.record("store_profile_updated", store, {"store": store.code, "fields": changed}, actor=actor)
    return changed


def reencode_image(data: bytes) -> tuple[bytes, str, int, int]:
    """A JPEG (or PNG when the image has transparency) made afresh from the
    decoded pixels: no metadata, no trailing bytes, at most MAX_SIDE pixels.
    Raises ImageProblem for anything that is not a picture we take."""
    max_bytes = int(current_app.config.get("STORE_IMAGE_MAX_BYTES", 5 * 1024 * 1024))
    if not data:
        raise ImageProblem(_("画像ファイルを選んでください。"))
    if len(data) > max_bytes:
        raise ImageProblem(_("画像ファイルが大きすぎます（%(size)sMB）。%(max)sMB以下にしてください。",
                             size=f"{len(data) / 1024 / 1024:.1f}", max=max_bytes // 1024 // 1024))
    try:
        # Image.open reads the header only: format and size, no pixels yet.
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ACCEPTED_FORMATS:
                raise ImageProblem(_("JPEG・PNG・GIF・WebP形式の画像を選んでください。"))
            if probe.width * probe.height > MAX_PIXELS:
                raise _too_many_pixels(_("%(width)s×%(height)sピクセル", width=probe.width, height=probe.height))
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            # Scaled first (a JPEG is decoded at a reduced size), turned upright after:
            # turning the full-size picture would hold a second copy of it.
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            image = ImageOps.exif_transpose(image)
            has_alpha = image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info)
            out = io.BytesIO()
            if has_alpha:
                image = image.convert("RGBA")
                image.save(out, format="PNG", optimize=True)
                content_type = "image/png"
            else:
                image = image.convert("RGB")
                image.save(out, format="JPEG", quality=85, optimize=True)
                content_type = "image/jpeg"
            return out.getvalue(), content_type, image.width, image.height
    except ImageProblem:
        raise
    except Image.DecompressionBombError:
        raise _too_many_pixels("") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ImageProblem(_("画像として読み取れないファイルです。JPEG・PNG・GIF・WebP形式の画像を選んでください。")) from None


def _too_many_pixels(size: str) -> ImageProblem:
    if size:
        return ImageProblem(_("画像の画素数が大きすぎます（%(size)s）。縦横4096ピクセル以内に縮小してからお送りください。", size=size))
    return ImageProblem(_("画像の画素数が大きすぎます。縦横4096ピクセル以内に縮小してからお送りください。"))


def add_store_image(store: Store, data: bytes, caption: str, actor: Account) -> StoreImage:
    """Re-encode an upload and add it as the store's last image."""
    max_images = int(current_app.config.get("STORE_IMAGES_MAX", 10))
    count = db.session.scalar(select(func.count()).select_from(StoreImage).where(StoreImage.store_id == store.id)) or 0
    if count >= max_images:
        raise ImageProblem(_("画像は1店舗%(max)s枚までです。不要な画像を削除してから追加してください。", max=max_images))
    encoded, content_type, width, height = reencode_image(data)
    last = db.session.scalar(select(func.max(StoreImage.position)).where(StoreImage.store_id == store.id))
    image = StoreImage(store_id=store.id, position=(last if last is not None else -1) + 1, content_type=content_type,
                       width=width, height=height, data=encoded, caption=caption or "")
    db.session.add(image)
    db.session.flush()
    audit.record("store_image_added", store, {"store": store.code, "image": image.id, "bytes": len(encoded)}, actor=actor)
    return image


def get_store_image_or_404(store: Store, image_id: int) -> StoreImage:
    """An image of this store (404 for another store's image)."""
    image = db.session.get(StoreImage, image_id)
    if image is None or image.store_id != store.id:
        abort(404)
    return image


def delete_store_image(store: Store, image: StoreImage, actor: Account) -> None:
    db.session.delete(image)
    audit.record("store_image_deleted", store, {"store": store.code, "image": image.id}, actor=actor)


def move_store_image(store: Store, image: StoreImage, step: int, actor: Account) -> None:
    """Swap the image with its neighbour (step -1: earlier, +1: later)."""
    images = list(db.session.scalars(
        select(StoreImage).where(StoreImage.store_id == store.id).order_by(StoreImage.position, StoreImage.id)
    ))
    index = next(i for i, im in enumerate(images) if im.id == image.id)
    other = index + step
    if not 0 <= other < len(images):
        return
    images[index], images[other] = images[other], images[index]
    for position, im in enumerate(images):
        im.position = position
    audit.record("store_images_reordered", store, {"store": store.code, "order": [im.id for im in images]}, actor=actor)


def bank_of(business: Business) -> dict[str, str]:
    return {
        "bank_code": business.bank_code,
        "branch_code": business.branch_code,
        "account_type": str(business.account_type.value if business.account_type else ""),
        "account_number": business.account_number,
        "account_holder_kana": business.account_holder_kana,
    }


def update_business_profile(business: Business, values: dict[str, Any], bank: BankAccount,
                            actor: Account) -> list[OutboxMessage]:
    """Change contact details and the bank account. A bank change is audited
    with masked old and new values and mailed to the business (to the old
    address too when that changes in the same edit)."""
    messages: list[OutboxMessage] = []
    old_email = business.email
    changed = []
    for name in BUSINESS_FIELDS:
        if name in values and (values[name] or "") != (getattr(business, name) or ""):
            setattr(business, name, values[name] or "")
            changed.append(name)
    if "email" in changed:
        for account in db.session.scalars(select(Account).where(Account.business_id == business.id,
                                                                Account.email == old_email)):
            account.email = business.email
    if changed:
        audit.record("business_profile_updated", business, {"business": business.code, "fields": changed}, actor=actor)
    old_bank = bank_of(business)
    new_bank = bank.as_dict()
    if old_bank != new_bank:
        business.bank_code = bank.bank_code
        business.branch_code = bank.branch_code
        business.account_type = AccountType(bank.account_type)
        business.account_number = bank.account_number
        business.account_holder_kana = bank.account_holder_kana
        business.bank_changed_at = utcnow()
        audit.record("bank_account_changed", business, {
            "business": business.code, "old": banking.masked(old_bank), "new": banking.masked(new_bank),
        }, actor=actor)
        locale = outbox.locale_of_business(business)
        for address in dict.fromkeys(a for a in (business.email, old_email) if a):
            messages.append(outbox.queue_mail(
                address, SUBJECT_BANK_CHANGED, "bank_changed", locale=locale, business=business,
                old=banking.describe(old_bank), new=banking.describe(new_bank),
                when=i18n.jst(business.bank_changed_at, "%Y/%m/%d %H:%M", locale=locale)))
    return messages


def _set_names(target, values: dict[str, Any]) -> list[str]:
    changed = []
    for name in NAME_FIELDS:
        if name in values and (values[name] or "") != (getattr(target, name) or ""):
            setattr(target, name, values[name] or "")
            changed.append(name)
    return changed


def _mail_details_changed(business: Business, what_kind: str, what_name: str,
                          fields: list[str]) -> OutboxMessage | None:
    """The business told which fields the counter changed; the words stay
    Japanese here and the mail translates them into the business's language."""
    if not business.email:
        return None
    return outbox.queue_mail(business.email, SUBJECT_DETAILS_CHANGED, "details_changed",
                             locale=outbox.locale_of_business(business), business=business, what_kind=what_kind,
                             what_name=what_name, fields=[FIELD.get(name, name) for name in fields])


def staff_update_business(business: Business, values: dict[str, Any], bank: BankAccount,
                          staff: Account) -> list[OutboxMessage]:
    """The counter corrects a business's details (its name too): audited as
    a merchant's own edit is, and the business told by mail what changed."""
    renamed = _set_names(business, values)
    if renamed:
        audit.record("business_profile_updated", business, {"business": business.code, "fields": renamed}, actor=staff)
    before = {name: getattr(business, name) for name in BUSINESS_FIELDS}
    old_bank = bank_of(business)
    messages = update_business_profile(business, values, bank, staff)
    changed = renamed + [name for name in BUSINESS_FIELDS if getattr(business, name) != before[name]]
    if bank_of(business) != old_bank:
        changed.append("bank")
    if changed:
        message = _mail_details_changed(business, "business", business.name, changed)
        messages += [message] if message is not None else []
    return messages


def staff_update_store(store: Store, values: dict[str, Any], staff: Account) -> list[OutboxMessage]:
    """The counter corrects a store's details (its name too); audited, the business mailed."""
    renamed = _set_names(store, values)
    if renamed:
        audit.record("store_profile_updated", store, {"store": store.code, "fields": renamed}, actor=staff)
    changed = renamed + update_store_profile(store, values, staff)
    message = _mail_details_changed(store.business, "store", store.name, changed) if changed else None
    return [message] if message is not None else []
