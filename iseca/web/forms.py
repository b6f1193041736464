"""Forms and validators of every area: the base form with Japanese messages,
the field rules (e-mail, phone, postal code, an address in the city, kana,
URL), the bank account fields, and 加盟店登録 (the application form), which
the public site and the counter (paper applications) both use."""
from __future__ import annotations

import re
import unicodedata

import jaconv
from flask import request
from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, Form, FormField, HiddenField, RadioField, SelectField, StringField, SubmitField
from wtforms.i18n import get_translations
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from .. import banking, onboarding, outbox
from ..banking import BankAccountProblems, check_bank_account
from ..extensions import db
from ..kana import KanaError, to_zengin_kana
from ..models import MerchantApplication
from ..onboarding import AREAS, CATEGORIES, ELIGIBILITY, OUTSIDE_CITY_MESSAGE, in_isesaki
from ..registers import NAME_MAX_LENGTH

MAX_STORES = 20


def _japanese(self, form):
    return get_translations(["ja"])


class JapaneseForm(FlaskForm):
    """A form whose built-in messages (bad number, bad date, bad choice) are Japanese."""

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


def required(label: str):
    return DataRequired(message=f"{label}を入力してください。")


def valid_email(form, field):
    if field.data and not EMAIL_RE.match(field.data):
        raise ValidationError("メールアドレスの形式が正しくありません（例: info@example.jp）。")


def valid_phone(form, field):
    if field.data and not PHONE_RE.match(field.data):
        raise ValidationError("電話番号は市外局番から数字で入力してください（例: 0270-27-2708）。")


def valid_postal(form, field):
    if field.data and not POSTAL_RE.match(field.data):
        raise ValidationError("郵便番号は7桁の数字で入力してください（例: 372-8501）。")
    if field.data and "-" not in field.data:
        field.data = f"{field.data[:3]}-{field.data[3:]}"


def in_city(form, field):
    if field.data and not in_isesaki(field.data):
        raise ValidationError(OUTSIDE_CITY_MESSAGE)


def valid_kana_reading(form, field):
    if field.data and not re.fullmatch(r"[\u30a0-\u30ffー\s　A-Za-z0-9・.()（）&＆-]+", field.data):
        raise ValidationError("フリガナはカタカナで入力してください。")


def valid_url(form, field):
    if field.data and not re.match(r"^https?://[^\s<>\"']+$", field.data):
        raise ValidationError("ホームページは http:// または https:// から始まるアドレスを入力してください。")


class BankAccountMixin:
    """振込先口座: the five fields and the check against the bank code list."""

    bank_code = StringField("金融機関コード（4桁）", filters=[nfkc], validators=[Length(max=8)])
    branch_code = StringField("支店コード（3桁）", filters=[nfkc], validators=[Length(max=8)])
    account_type = RadioField("預金種目", choices=[("1", "普通"), ("2", "当座")], default="1",
                              validate_choice=False)
    account_number = StringField("口座番号（7桁）", filters=[nfkc], validators=[Length(max=12)])
    account_holder_kana = StringField("口座名義（カナ）", validators=[Length(max=100)])

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

    name = StringField("店舗名", filters=[nfkc], validators=[required("店舗名"), Length(max=200)])
    name_kana = StringField("店舗名（フリガナ）", filters=[katakana],
                            validators=[required("店舗名のフリガナ"), Length(max=200), valid_kana_reading])
    category = SelectField("業種", choices=[("", "選んでください")] + [(c, c) for c in CATEGORIES],
                           validators=[DataRequired(message="業種を選んでください。")])
    area = SelectField("地区", choices=[("", "選んでください")] + [(a, a) for a in AREAS],
                       validators=[DataRequired(message="地区を選んでください。")])
    postal_code = StringField("郵便番号", filters=[nfkc], validators=[required("郵便番号"), valid_postal])
    address = StringField("所在地", filters=[nfkc], validators=[required("店舗の所在地"), Length(max=300), in_city])
    phone = StringField("電話番号", filters=[nfkc], validators=[required("電話番号"), valid_phone])
    hours = StringField("営業時間", filters=[nfkc], validators=[required("営業時間"), Length(max=300)])
    holidays_text = StringField("定休日", filters=[nfkc], validators=[Optional(), Length(max=200)])

    def validate_category(self, field):
        if field.data and field.data not in CATEGORIES:
            raise ValidationError("業種を一覧から選んでください。")

    def validate_area(self, field):
        if field.data and field.data not in AREAS:
            raise ValidationError("地区を一覧から選んでください。")


class ApplicationForm(BankAccountMixin, JapaneseForm):
    """加盟店登録: the business, its bank account, its stores, the declarations."""

    name = StringField("事業者名（法人名・屋号）", filters=[nfkc], validators=[required("事業者名"), Length(max=200)])
    name_kana = StringField("事業者名（フリガナ）", filters=[katakana],
                            validators=[required("事業者名のフリガナ"), Length(max=200), valid_kana_reading])
    representative = StringField("代表者名", filters=[nfkc], validators=[required("代表者名"), Length(max=100)])
    postal_code = StringField("郵便番号", filters=[nfkc], validators=[required("郵便番号"), valid_postal])
    address = StringField("所在地", filters=[nfkc], validators=[required("所在地"), Length(max=300)])
    phone = StringField("電話番号", filters=[nfkc], validators=[required("電話番号"), valid_phone])
    email = StringField("メールアドレス", filters=[nfkc], validators=[required("メールアドレス"), Length(max=254), valid_email])
    stores = FieldList(FormField(StoreEntryForm), min_entries=1, max_entries=MAX_STORES)
    eligibility_1 = BooleanField(ELIGIBILITY[0])
    eligibility_2 = BooleanField(ELIGIBILITY[1])
    eligibility_3 = BooleanField(ELIGIBILITY[2])
    eligibility_4 = BooleanField(ELIGIBILITY[3])
    eligibility_5 = BooleanField(ELIGIBILITY[4])
    agree = BooleanField("加盟店向け資料の内容（ISECAで決済できないモノ・サービス、精算の方法など）を確認し、同意します")

    def eligibility_fields(self):
        return [self.eligibility_1, self.eligibility_2, self.eligibility_3, self.eligibility_4, self.eligibility_5]

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        for f in self.eligibility_fields():
            if not f.data:
                f.errors = list(f.errors) + ["この要件に該当することを確認し、チェックを入れてください。"]
                ok = False
        if not self.agree.data:
            self.agree.errors = list(self.agree.errors) + ["同意のうえ、チェックを入れてください。"]
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
            "eligibility": [f.label.text for f in self.eligibility_fields() if f.data],
            "agreed": bool(self.agree.data),
        }


def submit_application_form(form: ApplicationForm, *, source: str) -> MerchantApplication | None:
    """加盟店登録 sent, online or keyed in at the counter from paper: the
    store buttons change the form; a valid form is stored, committed, and
    its 受付 mail sent. None while the form is to be shown again."""
    if request.method != "POST" or handle_store_buttons(form) or not form.validate_on_submit():
        return None
    application, message = onboarding.submit_application(form.as_data(), source=source)
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
        "レジ名",
        validators=[
            DataRequired(message="レジ名を入力してください。"),
            Length(max=NAME_MAX_LENGTH, message=f"レジ名は{NAME_MAX_LENGTH}文字以内で入力してください。"),
        ],
    )
    submit = SubmitField("保存する")


class ConfirmForm(FlaskForm):
    """A confirmation page's form; `fingerprint` names the QR code the user saw,
    so that a repeated submission does not act twice."""

    fingerprint = HiddenField()
    submit = SubmitField("実行する")
