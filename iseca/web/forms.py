"""Forms and validators of every area: the base form with Japanese messages,
the field rules (e-mail, phone, postal code, an address in the city, kana,
URL), the bank account fields, and 加盟店登録 (the application form), which
the public site and the counter (paper applications) both use."""
from __future__ import annotations

import re
import unicodedata

import jaconv
from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.i18n import get_translations
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from .. import i18n, outbox
from ..extensions import db
from ..labels import STORE_AREA, STORE_CATEGORY, choices
from ..merchants import onboarding
from ..merchants.onboarding import ELIGIBILITY, OUTSIDE_CITY_MESSAGE, in_isesaki
from ..merchants.registers import NAME_MAX_LENGTH
from ..models import MerchantApplication
from ..money import banking
from ..money.banking import BankAccountProblems, check_bank_account
from ..money.kana import KanaError, to_zengin_kana

MAX_STORES = 20


def _japanese(self, form):
    # WTForms' own messages in the reader's language (Japanese by default).
    return get_translations([i18n.current()])


class JapaneseForm(FlaskForm):
    """A form whose built-in messages (bad number, bad date, bad choice) are
    Japanese, or in the reader's language on a page in another one."""

    class Meta:
        get_translations = _japanese


class ButtonForm(JapaneseForm):
    """A button that changes data (承認, 公開, 再送 …): its CSRF token alone."""

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
PHONE_RE = re.compile(r"^0\d{1,4}-?\d{1,4}-?\d{3,4}$")
POSTAL_RE = re.compile(r"^\d{3}-?\d{4}$")


def nfkc(value):
    """Full-width digits and letters folded, spaces around trimmed."""
    return unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else value


def katakana(value):
    """Readings (カナ) stored as full-width katakana, whatever the IME gave."""
    if not isinstance(value, str):
        return value
    return jaconv.hira2kata(unicodedata.normalize("NFKC", value)).strip()


def required(label):
    """「…を入力してください。」 naming the field (`label`: a lazy string)."""
    return DataRequired(message=_l("%(label)sを入力してください。", label=label))


def valid_email(form, field):
    if field.data and not EMAIL_RE.match(field.data):
        raise ValidationError(_("メールアドレスの形式が正しくありません（例: info@example.jp）。"))


def valid_phone(form, field):
    if field.data and not PHONE_RE.match(field.data):
        raise ValidationError(_("電話番号は市外局番から数字で入力してください（例: 0270-27-2708）。"))


def valid_postal(form, field):
    if field.data and not POSTAL_RE.match(field.data):
        raise ValidationError(_("郵便番号は7桁の数字で入力してください（例: 372-8501）。"))
    if field.data and "-" not in field.data:
        field.data = f"{field.data[:3]}-{field.data[3:]}"


def in_city(form, field):
    if field.data and not in_isesaki(field.data):
        raise ValidationError(_(OUTSIDE_CITY_MESSAGE))


def valid_kana_reading(form, field):
    if field.data and not re.fullmatch(r"[\u30a0-\u30ffー\s　A-Za-z0-9・.()（）&＆-]+", field.data):
        raise ValidationError(_("フリガナはカタカナで入力してください。"))


def valid_url(form, field):
    if field.data and not re.match(r"^https?://[^\s<>\"']+$", field.data):
        raise ValidationError(_("ホームページは http:// または https:// から始まるアドレスを入力してください。"))


class BankAccountMixin:
    """振込先口座: the five fields and the check against the bank code list."""

    bank_code = StringField(_l("金融機関コード（4桁）"), filters=[nfkc], validators=[Length(max=8)])
    branch_code = StringField(_l("支店コード（3桁）"), filters=[nfkc], validators=[Length(max=8)])
    account_type = RadioField(_l("預金種目"), choices=[("1", _l("普通")), ("2", _l("当座"))], default="1",
                              validate_choice=False)
    account_number = StringField(_l("口座番号（7桁）"), filters=[nfkc], validators=[Length(max=12)])
    account_holder_kana = StringField(_l("口座名義（カナ）"), validators=[Length(max=100)])

    bank_account = None  # the checked account, after validate()

    def check_bank(self) -> bool:
        """Check the bank fields together; put each message next to its field."""
        try:
            self.bank_account = check_bank_account(
                self.bank_code.data, self.branch_code.data, self.account_type.data,
                self.account_number.data, self.account_holder_kana.data,
            )
        except BankAccountProblems as problems:
            for name, message in problems.errors.items():
                getattr(self, name).errors = list(getattr(self, name).errors) + [message]
            return False
        return True


class StoreEntryForm(Form):
    """One store of an application."""

    class Meta:
        get_translations = _japanese

    name = StringField(_l("店舗名"), filters=[nfkc], validators=[required(_l("店舗名")), Length(max=200)])
    name_kana = StringField(_l("店舗名（フリガナ）"), filters=[katakana],
                            validators=[required(_l("店舗名のフリガナ")), Length(max=200), valid_kana_reading])
    category = SelectField(_l("業種"), choices=[("", _l("選んでください"))] + choices("store_category"),
                           validators=[DataRequired(message=_l("業種を選んでください。"))])
    area = SelectField(_l("地区"), choices=[("", _l("選んでください"))] + choices("store_area"),
                       validators=[DataRequired(message=_l("地区を選んでください。"))])
    postal_code = StringField(_l("郵便番号"), filters=[nfkc], validators=[required(_l("郵便番号")), valid_postal])
    address = StringField(_l("所在地"), filters=[nfkc],
                          validators=[required(_l("店舗の所在地")), Length(max=300), in_city])
    phone = StringField(_l("電話番号"), filters=[nfkc], validators=[required(_l("電話番号")), valid_phone])
    hours = StringField(_l("営業時間"), filters=[nfkc], validators=[required(_l("営業時間")), Length(max=300)])
    holidays_text = StringField(_l("定休日"), filters=[nfkc], validators=[Optional(), Length(max=200)])

    def validate_category(self, field):
        if field.data and field.data not in STORE_CATEGORY:
            raise ValidationError(_("業種を一覧から選んでください。"))

    def validate_area(self, field):
        if field.data and field.data not in STORE_AREA:
            raise ValidationError(_("地区を一覧から選んでください。"))


class ApplicationForm(BankAccountMixin, JapaneseForm):
    """加盟店登録: the business, its bank account, its stores, the declarations."""

    name = StringField(_l("事業者名（法人名・屋号）"), filters=[nfkc],
                       validators=[required(_l("事業者名")), Length(max=200)])
    name_kana = StringField(_l("事業者名（フリガナ）"), filters=[katakana],
                            validators=[required(_l("事業者名のフリガナ")), Length(max=200), valid_kana_reading])
    representative = StringField(_l("代表者名"), filters=[nfkc], validators=[required(_l("代表者名")), Length(max=100)])
    postal_code = StringField(_l("郵便番号"), filters=[nfkc], validators=[required(_l("郵便番号")), valid_postal])
    address = StringField(_l("所在地"), filters=[nfkc], validators=[required(_l("所在地")), Length(max=300)])
    phone = StringField(_l("電話番号"), filters=[nfkc], validators=[required(_l("電話番号")), valid_phone])
    email = StringField(_l("メールアドレス"), filters=[nfkc],
                        validators=[required(_l("メールアドレス")), Length(max=254), valid_email])
    stores = FieldList(FormField(StoreEntryForm), min_entries=1, max_entries=MAX_STORES)
    eligibility_1 = BooleanField(_l(ELIGIBILITY[0]))
    eligibility_2 = BooleanField(_l(ELIGIBILITY[1]))
    eligibility_3 = BooleanField(_l(ELIGIBILITY[2]))
    eligibility_4 = BooleanField(_l(ELIGIBILITY[3]))
    eligibility_5 = BooleanField(_l(ELIGIBILITY[4]))
    agree = BooleanField(_l("加盟店向け資料の内容（ISECAで決済できないモノ・サービス、精算の方法など）を確認し、同意します"))

    def eligibility_fields(self):
        return [self.eligibility_1, self.eligibility_2, self.eligibility_3, self.eligibility_4, self.eligibility_5]

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        for f in self.eligibility_fields():
            if not f.data:
                f.errors = list(f.errors) + [_("この要件に該当することを確認し、チェックを入れてください。")]
                ok = False
        if not self.agree.data:
            self.agree.errors = list(self.agree.errors) + [_("同意のうえ、チェックを入れてください。")]
            ok = False
        return self.check_bank() and ok

    def as_data(self) -> dict:
        """The application as stored (MerchantApplication.data)."""
        return {
            "business": {
                "name": self.name.data, "name_kana": self.name_kana.data, "representative": self.representative.data,
                "postal_code": self.postal_code.data, "address": self.address.data, "phone": self.phone.data,
                "email": self.email.data,
            },
            "bank": self.bank_account.as_dict(),
            "stores": [
                {k: entry.form[k].data or "" for k in
                 ("name", "name_kana", "category", "area", "postal_code", "address", "phone", "hours", "holidays_text")}
                for entry in self.stores
            ],
            # The guide's words as stored, whatever the language of the page.
            "eligibility": [ELIGIBILITY[i] for i, f in enumerate(self.eligibility_fields()) if f.data],
            "agreed": bool(self.agree.data),
        }


def submit_application_form(form: ApplicationForm, *, source: str) -> MerchantApplication | None:
    """加盟店登録 sent, online or keyed in at the counter from paper: the
    store buttons change the form; a valid form is stored, committed, and
    its 受付 mail sent. None while the form is to be shown again."""
    if request.method != "POST" or handle_store_buttons(form) or not form.validate_on_submit():
        return None
    # The receipt speaks the applicant's language (a paper application: Japanese).
    locale = i18n.current() if source == "online" else None
    application, message = onboarding.submit_application(form.as_data(), source=source, locale=locale)
    db.session.commit()
    outbox.send_after_commit([message])
    return application


def handle_store_buttons(form: ApplicationForm) -> bool:
    """「店舗を追加」/「この店舗を削除」: change the list of stores and show the
    form again, keeping everything typed. True when one was pressed."""
    if "add_store" in request.form:
        if len(form.stores.entries) < MAX_STORES:
            form.stores.append_entry()
        return True
    remove = request.form.get("remove_store")
    if remove is not None:
        if len(form.stores.entries) > 1:
            form.stores.entries = [e for e in form.stores.entries if e.name != remove]
            form.stores._compact_indices()
        return True
    return False


def bank_names(form) -> dict:
    """The bank, branch and holder names shown beside the codes typed in `form`."""
    return {
        "bank_label": banking.bank_name(form.bank_code.data),
        "branch_label": banking.branch_name(form.bank_code.data, form.branch_code.data),
        **holder_preview(form.account_holder_kana.data),
    }


def holder_preview(holder: str | None) -> dict:
    """The holder name as the transfer file will carry it, or why it cannot."""
    if not (holder or "").strip():
        return {"holder_label": None, "holder_problem": None}
    try:
        return {"holder_label": to_zengin_kana(holder, max_bytes=banking.HOLDER_MAX, field="口座名義（カナ）"),
                "holder_problem": None}
    except KanaError as problem:
        return {"holder_label": None, "holder_problem": problem.message}


class RegisterNameForm(FlaskForm):
    """Name of a new register, or the new name of one (レジ一覧)."""

    name = StringField(
        _l("レジ名"),
        validators=[
            DataRequired(message=_l("レジ名を入力してください。")),
            Length(max=NAME_MAX_LENGTH, message=_l("レジ名は%(max)s文字以内で入力してください。", max=NAME_MAX_LENGTH)),
        ],
    )
    submit = SubmitField(_l("保存する"))


class ConfirmForm(FlaskForm):
    """A confirmation page's form; `fingerprint` names the QR code the user saw,
    so that a repeated submission does not act twice."""

    fingerprint = HiddenField()
    submit = SubmitField(_l("実行する"))
