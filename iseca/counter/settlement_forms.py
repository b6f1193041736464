"""Forms of the counter's 精算 pages."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, Length, Optional


class ScheduleUploadForm(FlaskForm):
    file = FileField("振込スケジュールのCSV", validators=[FileRequired(message="CSVファイルを選んでください。")])


class TransferDateForm(FlaskForm):
    transfer_date = DateField("振込予定日", validators=[Optional()],
                              render_kw={"type": "date"})


class TransferFailedForm(FlaskForm):
    reason = StringField("振込不能の理由", validators=[
        DataRequired(message="振込不能の理由を入力してください（例: 口座解約済み）。"), Length(max=200)])


class ConfirmForm(FlaskForm):
    """A confirmation page's button: the CSRF token and nothing else."""
