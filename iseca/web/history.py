"""What the management site's 利用状況一覧 and the terminal's 店舗利用履歴
share: the 「絞り込み」 form (read from the URL, never from a cookie), the
scope of the logged-in account, and the way back to the list as it was
filtered. The 「取消」 confirmation of both is iseca/web/cancel.py."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from sqlalchemy import select
from wtforms import Form, SelectField, StringField
from wtforms.validators import ValidationError

from .. import amounts
from ..extensions import db
from ..labels import choices
from ..members.cards import is_member_code
from ..models import Account, AccountKind, PaymentMethod, PaymentStatus, Register
from ..money.usage import UsageFilter
from ..numbers import fold_digits
from .access import stores_of
from .inputs import JapaneseDateField

# The amount range of 利用状況一覧: above any payment, below anything that
# could overflow a comparison.
FILTER_AMOUNT_MAX = 999_999_999


def _digits(raw: str | None) -> str:
    """A member code as typed: full-width digits folded, separators dropped."""
    value = fold_digits(raw or "").strip()
    for ch in (" ", "　", "-", "－"):
        value = value.replace(ch, "")
    return value


class TerminalFilterForm(Form):
    """条件で絞込 of the terminal: period and member code."""

    date_from = JapaneseDateField(_l("期間（開始日）"))
    date_to = JapaneseDateField(_l("期間（終了日）"))
    member_code = StringField(_l("会員コード"))

    def validate_date_to(self, field) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_("終了日は開始日と同じか、それより後の日付にしてください。"))

    def validate_member_code(self, field) -> None:
        code = _digits(field.data)
        if code and not is_member_code(code):
            raise ValidationError(_("会員コードは10桁の数字で入力してください。"))

    @property
    def member_code_value(self) -> str | None:
        return _digits(self.member_code.data) or None

    def filter_values(self) -> dict[str, Any]:
        return dict(date_from=self.date_from.data, date_to=self.date_to.data, member_code=self.member_code_value)

    def url_args(self) -> dict[str, str]:
        """The filter as query arguments (what a link to the same list carries)."""
        args = {}
        for name, value in self.filter_values().items():
            if value is None or value == "":
                continue
            args[name] = value.isoformat() if isinstance(value, dt.date) else str(value)
        return args


class UsageFilterForm(TerminalFilterForm):
    """絞り込み of 利用状況一覧."""

    store = SelectField(_l("店舗"), choices=[], validate_choice=False)
    register = SelectField(_l("レジ"), choices=[], validate_choice=False)
    amount_min = StringField(_l("金額（下限・円）"))
    amount_max = StringField(_l("金額（上限・円）"))
    status = SelectField(_l("状態"), choices=[("", _l("すべて"))] + choices("payment_status"),
                         validate_choice=False)
    method = SelectField(_l("決済方法"), choices=[("", _l("すべて"))] + choices("payment_method"),
                         validate_choice=False)

    def setup(self, account: Account) -> None:
        """Offer only the stores and registers the account may see."""
        # The words of the lists in the reader's language (set per request).
        self.status.choices = [("", _("すべて"))] + choices("payment_status")
        self.method.choices = [("", _("すべて"))] + choices("payment_method")
        self.store.label.text = pgettext("column", "店舗")
        self.register.label.text = pgettext("column", "レジ")
        stores = stores_of(account)
        self.store.choices = [("", _("すべての店舗"))] + [
            (str(s.id), _("%(name)s（%(code)s）", name=s.name, code=s.code)) for s in stores]
        registers = db.session.scalars(
            select(Register).where(Register.store_id.in_([s.id for s in stores])).order_by(Register.store_id, Register.id)
        )
        several = len(stores) > 1
        self.register.choices = [("", _("すべてのレジ"))] + [
            (str(r.id), f"{r.store.name} {r.name}" if several else r.name) for r in registers
        ]

    def _choice(self, field) -> None:
        if field.data and field.data not in {value for value, _ in field.choices}:
            raise ValidationError(_("一覧から選んでください。"))

    def validate_store(self, field) -> None:
        self._choice(field)

    def validate_register(self, field) -> None:
        self._choice(field)

    def validate_status(self, field) -> None:
        self._choice(field)

    def validate_method(self, field) -> None:
        self._choice(field)

    def _amount(self, field) -> int | None:
        if not (field.data or "").strip():
            return None
        try:
            return amounts.parse_yen(field.data, minimum=0, maximum=FILTER_AMOUNT_MAX)
        except amounts.AmountInvalid as invalid:
            raise ValidationError(str(invalid)) from None

    def validate_amount_min(self, field) -> None:
        self._amount(field)

    def validate_amount_max(self, field) -> None:
        high = self._amount(field)
        try:
            low = self._amount(self.amount_min)
        except ValueError:
            return
        if high is not None and low is not None and high < low:
            raise ValidationError(_("上限は下限と同じか、それより大きい金額にしてください。"))

    def filter_values(self) -> dict[str, Any]:
        values = super().filter_values()
        values.update(
            store_id=int(self.store.data) if self.store.data else None,
            register_id=int(self.register.data) if self.register.data else None,
            amount_min=self._amount(self.amount_min),
            amount_max=self._amount(self.amount_max),
            status=PaymentStatus(self.status.data) if self.status.data else None,
            method=PaymentMethod(self.method.data) if self.method.data else None,
        )
        return values

    def url_args(self) -> dict[str, str]:
        args = super().url_args()
        for key, name in (("store_id", "store"), ("register_id", "register")):
            if key in args:
                args[name] = args.pop(key)
        return args


def scope_of(account: Account) -> dict[str, int]:
    """The part of the filter the account imposes: a store sees only itself."""
    if account.kind == AccountKind.STORE:
        return {"own_store_id": account.store_id}
    return {"business_id": account.business_id}


def make_filter(account: Account, form: TerminalFilterForm) -> UsageFilter:
    """The query of the list: what the form asks, within what the account may see."""
    return UsageFilter(**scope_of(account), **form.filter_values())


def safe_back(prefix: str, default: str) -> str:
    """Where 「戻る」 leads: the list as it was filtered (same site only)."""
    target = request.args.get("back") or ""
    if target.startswith(prefix) and not target.startswith("//") and "\\" not in target:
        return target
    return default
