"""Words of the console shown through tables kept elsewhere (labels.py,
statements.status_text): marked here so that the counter's catalogue holds them."""
from ..i18n import N_

AUDIT_ACTIONS = (N_("公開ページの文章の保存"), N_("公開ページの文章の公開"), N_("申込内容の修正"))
# statements.status_text: a settlement's state on 加盟店詳細.
SETTLEMENT_STATES = (N_("振込済"), N_("振込不能→次回繰越"), N_("次回繰越"), N_("振込なし"), N_("振込予定"), N_("確定"))
