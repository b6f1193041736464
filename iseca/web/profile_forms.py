"""Forms of 店舗情報 and 事業者情報."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..labels import RECEIPT_WIDTH, STORE_AREA, STORE_CATEGORY, choices
from .forms import (
    BankAccountMixin,
    JapaneseForm,
    in_city,
    nfkc,
    required,
    valid_email,
    valid_phone,
    valid_postal,
    valid_url,
)


class StoreProfileForm(JapaneseForm):
    """店舗情報: contact details, hours, description (name and code are the counter's)."""

    category = SelectField(_l("業種"), choices=choices("store_category"), validators=[DataRequired(message=_l("業種を選んでください。"))])
    area = SelectField(_l("地区"), choices=choices("store_area"), validators=[DataRequired(message=_l("地区を選んでください。"))])
    postal_code = StringField(_l("郵便番号"), filters=[nfkc], validators=[required(_l("郵便番号")), valid_postal])
    address = StringField(_l("所在地"), filters=[nfkc], validators=[required(_l("所在地")), Length(max=300), in_city])
    phone = StringField(_l("電話番号"), filters=[nfkc], validators=[required(_l("電話番号")), valid_phone])
    hours = StringField(_l("営業時間"), filters=[nfkc], validators=[required(_l("営業時間")), Length(max=300)])
    holidays_text = StringField(_l("定休日"), filters=[nfkc], validators=[Optional(), Length(max=200)])
    website = StringField(_l("ホームページ"), filters=[nfkc], validators=[Optional(), Length(max=300), valid_url])
    description = TextAreaField(_l("お店の紹介"), validators=[Optional(), Length(max=2000, message=_l("お店の紹介は2000文字以内にしてください。"))])
    confirm_before_charge = BooleanField(_l("加盟店アプリで、決済する前に確認画面を表示する"))
    receipt_width = SelectField(_l("レシートの幅"), choices=choices("receipt_width"), default="a4")

    def validate_category(self, field):
        if field.data not in STORE_CATEGORY:
            raise ValidationError(_("業種を一覧から選んでください。"))

    def validate_area(self, field):
        if field.data not in STORE_AREA:
            raise ValidationError(_("地区を一覧から選んでください。"))

    def validate_receipt_width(self, field):
        if field.data not in RECEIPT_WIDTH:
            raise ValidationError(_("レシートの幅を一覧から選んでください。"))


class StoreImageForm(JapaneseForm):
    image = FileField(_l("画像ファイル（JPEG・PNG・GIF・WebP、5MBまで）"))
    caption = StringField(_l("画像の説明（任意）"), filters=[nfkc], validators=[Optional(), Length(max=200)])


class BusinessProfileForm(BankAccountMixin, JapaneseForm):
    """事業者情報: contact details and the bank account (振込先)."""

    representative = StringField(_l("代表者名"), filters=[nfkc], validators=[required(_l("代表者名")), Length(max=100)])
    postal_code = StringField(_l("郵便番号"), filters=[nfkc], validators=[required(_l("郵便番号")), valid_postal])
    address = StringField(_l("所在地"), filters=[nfkc], validators=[required(_l("所在地")), Length(max=300)])
    phone = StringField(_l("電話番号"), filters=[nfkc], validators=[required(_l("電話番号")), valid_phone])
    email = StringField(_l("メールアドレス"), filters=[nfkc], validators=[required(_l("メールアドレス")), Length(max=254), valid_email])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        return self.check_bank() and ok


class _NameFields:
    name = StringField(_l("名称"), filters=[nfkc], validators=[required(_l("名称")), Length(max=200)])
    name_kana = StringField(_l("名称（フリガナ）"), filters=[nfkc], validators=[Optional(), Length(max=200)])


class StaffBusinessForm(BusinessProfileForm, _NameFields):
    """事業者情報 as the counter corrects it: the name as well."""


class StaffStoreForm(StoreProfileForm, _NameFields):
    """店舗情報 as the counter corrects it: the name as well."""
