"""Login and password forms."""
import unicodedata

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, RadioField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from ..numbers import is_ascii_digits

# A code's first letter says its kind (店舗 S00001, 事業者 B00001), so a wrong
# ユーザー種別 is told apart from a wrong password without looking anything up.
CODE_PREFIX_KINDS = {"S": ("store", "店舗", "店舗コード"), "B": ("business", "事業者", "事業者コード")}


class LoginForm(FlaskForm):
    kind = RadioField(
        "ユーザー種別",
        choices=[("store", "店舗"), ("business", "事業者")],
        default="store",
        validators=[DataRequired(message="ユーザー種別を選んでください。")],
    )
    code = StringField(
        "ユーザー名",
        validators=[DataRequired(message="ユーザー名を入力してください。"), Length(max=254)],
    )
    password = PasswordField(
        "パスワード",
        validators=[DataRequired(message="パスワードを入力してください。"), Length(max=256)],
    )
    remember = BooleanField("ログイン状態を保持する")
    submit = SubmitField("ログイン")

    def validate_kind(self, field):
        """店舗 ticked with a B-code (or 事業者 with an S-code): say which to choose."""
        code = unicodedata.normalize("NFKC", self.code.data or "").strip().upper()
        kind, label, code_name = CODE_PREFIX_KINDS.get(code[:1], (None, "", ""))
        if kind is not None and is_ascii_digits(code[1:]) and field.data != kind:
            raise ValidationError(
                f"「{code[:1]}」で始まるコードは{code_name}です。ユーザー種別で「{label}」を選んでからログインしてください。"
            )


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        "現在のパスワード",
        validators=[DataRequired(message="現在のパスワードを入力してください。"), Length(max=256)],
    )
    new_password = PasswordField(
        "新しいパスワード",
        validators=[DataRequired(message="新しいパスワードを入力してください。"), Length(max=256)],
    )
    new_password_confirm = PasswordField(
        "新しいパスワード（確認）",
        validators=[
            DataRequired(message="確認のため、新しいパスワードをもう一度入力してください。"),
            EqualTo("new_password", message="確認用のパスワードが一致しません。"),
        ],
    )
    submit = SubmitField("パスワードを変更する")
