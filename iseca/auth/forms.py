"""Login and password forms."""
import unicodedata

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, RadioField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from ..numbers import is_ascii_digits

# A code's first letter says its kind (店舗 S00001, 事業者 B00001), so a wrong
# ユーザー種別 is told apart from a wrong password without looking anything up.
CODE_PREFIX_KINDS = {"S": "store", "B": "business"}
TOO_LONG = _l("長すぎます。%(max)d文字以内で入力してください。")


def kind_words() -> dict[str, tuple[str, str]]:
    """Each ユーザー種別 as the form names it, and its code, in the reader's language."""
    return {"store": (pgettext("user type", "店舗"), _("店舗コード")),
            "business": (pgettext("user type", "事業者"), _("事業者コード"))}


class LoginForm(FlaskForm):
    kind = RadioField(
        _l("ユーザー種別"),
        choices=[("store", "店舗"), ("business", "事業者")],  # in the reader's words: __init__
        default="store",
        validators=[DataRequired(message=_l("ユーザー種別を選んでください。"))],
    )
    code = StringField(
        _l("ユーザー名"),
        validators=[DataRequired(message=_l("ユーザー名を入力してください。")), Length(max=254, message=TOO_LONG)],
    )
    password = PasswordField(
        _l("パスワード"),
        validators=[DataRequired(message=_l("パスワードを入力してください。")), Length(max=256, message=TOO_LONG)],
    )
    remember = BooleanField(_l("ログイン状態を保持する"))
    submit = SubmitField(_l("ログイン"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        words = kind_words()
        self.kind.choices = [(kind, words[kind][0]) for kind, _label in self.kind.choices]

    def validate_kind(self, field):
        """店舗 ticked with a B-code (or 事業者 with an S-code): say which to choose."""
        code = unicodedata.normalize("NFKC", self.code.data or "").strip().upper()
        kind = CODE_PREFIX_KINDS.get(code[:1])
        if kind is not None and is_ascii_digits(code[1:]) and field.data != kind:
            label, code_name = kind_words()[kind]
            raise ValidationError(_(
                "「%(letter)s」で始まるコードは%(code_name)sです。ユーザー種別で「%(kind)s」を選んでからログインしてください。",
                letter=code[:1], code_name=code_name, kind=label))


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        _l("現在のパスワード"),
        validators=[DataRequired(message=_l("現在のパスワードを入力してください。")), Length(max=256, message=TOO_LONG)],
    )
    new_password = PasswordField(
        _l("新しいパスワード"),
        validators=[DataRequired(message=_l("新しいパスワードを入力してください。")), Length(max=256, message=TOO_LONG)],
    )
    new_password_confirm = PasswordField(
        _l("新しいパスワード（確認）"),
        validators=[
            DataRequired(message=_l("確認のため、新しいパスワードをもう一度入力してください。")),
            EqualTo("new_password", message=_l("確認用のパスワードが一致しません。")),
        ],
    )
    submit = SubmitField(_l("パスワードを変更する"))
