"""Forms of the counter's 精算 pages."""
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..web.forms import ButtonForm, JapaneseForm
from ..web.inputs import JapaneseDateField

# A confirmation page's button (締める, 振込データ作成, 振込完了): the CSRF token alone.
ConfirmForm = ButtonForm


class ScheduleUploadForm(JapaneseForm):
    file = FileField(_l("振込スケジュールのCSV"), validators=[FileRequired(message=_l("CSVファイルを選んでください。"))])


class TransferDateForm(JapaneseForm):
    transfer_date = JapaneseDateField(_l("振込予定日"), validators=[Optional()], render_kw={"type": "date"})


MISSING_TRANSFER_DAY = _l("振込日を入力してください。")


class TransferDoneForm(JapaneseForm):
    # InputRequired, not DataRequired: a date typed wrong keeps its own message.
    transferred_on = JapaneseDateField(_l("振込日"), validators=[InputRequired(message=MISSING_TRANSFER_DAY)],
                                       render_kw={"type": "date"})


class TransferFailedForm(JapaneseForm):
    reason = StringField(_l("振込不能の理由"), validators=[
        DataRequired(message=_l("振込不能の理由を入力してください（例: 口座解約済み）。")), Length(max=200)])
