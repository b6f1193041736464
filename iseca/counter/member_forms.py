"""Forms of the counter's members, cards and grants pages."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, RadioField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from ..members.cards import MAX_BATCH
from ..web.inputs import IdSelectField, JapaneseDateField, WholeNumberField


class AppMemberForm(FlaskForm):
    email = StringField(_l("メールアドレス"), validators=[DataRequired(message=_l("メールアドレスを入力してください。")),
                                                Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("メールアドレスの形式が正しくありません。")), Length(max=254)])
    name = StringField(_l("氏名"), validators=[DataRequired(message=_l("氏名を入力してください。")), Length(max=100)])


class IssueCardsForm(FlaskForm):
    count = WholeNumberField(_l("発行枚数"), default=1, maximum=MAX_BATCH, message=_l("発行枚数は1〜%(max)s枚です。", max=MAX_BATCH), validators=[
        InputRequired(message=_l("発行枚数を入力してください。")),
        NumberRange(min=1, max=MAX_BATCH, message=_l("発行枚数は1〜%(max)s枚です。", max=MAX_BATCH))])
    name = StringField(_l("氏名（1枚のときのみ・任意）"), validators=[Optional(), Length(max=100)])
    batch = StringField(_l("発行ロット名"), validators=[DataRequired(message=_l("発行ロット名を入力してください（例: 2026-04 窓口）。")),
                                                Length(max=40),
                                                # The name is part of the card sheet's address.
                                                Regexp(r"^[^/\\?#%]+$", message=_l("発行ロット名に / \\ ? # % は使えません。"))])


class GrantForm(FlaskForm):
    kind = RadioField(_l("種類"), choices=[("grant", _l("付与")), ("charge", _l("チャージ（入金あり）"))], default="grant",
                      validators=[DataRequired(message=_l("種類を選んでください。"))])
    campaign_id = IdSelectField(_l("キャンペーン（有効期間）"),
                              validators=[DataRequired(message=_l("キャンペーンを選んでください。"))])
    amount = StringField(_l("付与ポイント"), validators=[DataRequired(message=_l("付与ポイントを入力してください。"))])
    memo = StringField(_l("理由・メモ"), validators=[DataRequired(message=_l("理由を入力してください。")), Length(max=200)])
    # One-time key: the same form sent twice (or many times at once) grants once.
    key = HiddenField()


class GrantUploadForm(FlaskForm):
    campaign_id = IdSelectField(_l("キャンペーン（有効期間）"),
                              validators=[DataRequired(message=_l("キャンペーンを選んでください。"))])
    memo = StringField(_l("理由・メモ"), validators=[DataRequired(message=_l("理由を入力してください。")), Length(max=200)])
    file = FileField(_l("CSVファイル（会員コード,ポイント）"), validators=[FileRequired(message=_l("CSVファイルを選んでください。"))])


class CampaignForm(FlaskForm):
    name = StringField(_l("名称"), validators=[DataRequired(message=_l("名称を入力してください。")), Length(max=200)])
    starts_on = JapaneseDateField(_l("開始日"), validators=[InputRequired(message=_l("開始日を入力してください（例: 2026-04-01）。"))])
    ends_on = JapaneseDateField(_l("終了日"), validators=[InputRequired(message=_l("終了日を入力してください（例: 2027-03-31）。"))])
    cancellable_until_end = BooleanField(_l("キャンペーン終了日まで決済の取消を受け付ける（外すと、決済した精算期間のうちに限り取消できます）"),
                                         default=True)


class CampaignEditForm(FlaskForm):
    """キャンペーン変更: the same fields as a new campaign, checked again on the confirmation."""

    name = StringField(_l("名称"), validators=[DataRequired(message=_l("名称を入力してください。")), Length(max=200)])
    starts_on = JapaneseDateField(_l("開始日"), validators=[InputRequired(message=_l("開始日を入力してください（例: 2026-04-01）。"))])
    ends_on = JapaneseDateField(_l("終了日"), validators=[InputRequired(message=_l("終了日を入力してください（例: 2027-03-31）。"))])
    cancellable_until_end = BooleanField(_l("キャンペーン終了日まで決済の取消を受け付ける（外すと、決済した精算期間のうちに限り取消できます）"),
                                         default=True)
