"""Forms of the register list (レジ一覧), shared by the management site and
the counter console."""
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from .registers import NAME_MAX_LENGTH


class RegisterNameForm(FlaskForm):
    """Name of a new register, or the new name of one."""

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
