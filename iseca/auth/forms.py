"""Login and password forms."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, RadioField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length


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
