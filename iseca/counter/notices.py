"""お知らせ at the counter: publish a notice for a period and an audience, end one early."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from ..city import notices
from ..extensions import db
from ..labels import choices
from ..models import Notice, NoticeAudience
from ..web.forms import ButtonForm, JapaneseForm
from ..web.inputs import JapaneseDateField
from .blueprint import bp


class NoticeForm(JapaneseForm):
    title = StringField(_l("見出し"), validators=[DataRequired(message=_l("見出しを入力してください。")), Length(max=200)])
    body = TextAreaField(_l("本文（任意）"), validators=[Optional(), Length(max=2000, message=_l("本文は2000文字以内にしてください。"))])
    audience = SelectField(_l("表示先"), choices=choices("notice_audience"), validate_choice=False)
    starts_on = JapaneseDateField(_l("表示開始日"), validators=[InputRequired(message=_l("表示開始日を入力してください。"))])
    ends_on = JapaneseDateField(_l("表示終了日"), validators=[InputRequired(message=_l("表示終了日を入力してください。"))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The words in the reader's language (the class attribute was read at import).
        self.audience.choices = choices("notice_audience")

    def validate_audience(self, field) -> None:
        if field.data not in {value for value, _label in choices("notice_audience")}:
            raise ValidationError(_("表示先を一覧から選んでください。"))

    def validate_ends_on(self, field) -> None:
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_("終了日は開始日と同じか、それより後の日付にしてください。"))


@bp.route("/notices", methods=["GET", "POST"])
def notices_page():
    """お知らせ: the list, and a new notice."""
    form = NoticeForm()
    if form.validate_on_submit():
        notices.publish_notice(form.title.data.strip(), (form.body.data or "").strip(), NoticeAudience(form.audience.data),
                               form.starts_on.data, form.ends_on.data, current_user._get_current_object())
        db.session.commit()
        flash(_("お知らせを掲載しました。"), "success")
        return redirect(url_for("counter.notices_page"), code=303)
    return render_template("counter/notices.html", form=form, action_form=ButtonForm(),
                           notices=[(n, *notices.shown_bounds(n)) for n in notices.all_notices()])


@bp.route("/notices/<int:notice_id>/end", methods=["POST"])
def notice_end(notice_id: int):
    """「掲載を終了する」."""
    notice = db.get_or_404(Notice, notice_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    if notices.end_notice(notice, current_user._get_current_object()):
        db.session.commit()
    flash(_("お知らせの掲載を終了しました。"), "success")
    return redirect(url_for("counter.notices_page"), code=303)
