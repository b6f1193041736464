"""振込先口座: bank and branch codes checked against the real bank code list
(zengin-code, loaded once at import), account numbers and holder names in
the form a Zengin transfer file needs; and the city's own name as the
merchants' banks show it (振込人名義), from the one setting the transfer
file's 委託者名 is written with."""
from __future__ import annotations

from dataclasses import dataclass, field

import jaconv
import zengin_code  # loads the whole list (about 0.1 s): once, at import
from flask import current_app
from flask_babel import gettext as _

from ..i18n import N_
from ..labels import label
from ..models import AccountType
from ..numbers import fold_digits, is_ascii_digits
from .kana import KanaError, to_zengin_kana

HOLDER_MAX = 30  # 受取人名: 30 bytes in the transfer file
PAYER_MAX = 40  # 委託者名 (振込依頼人名): 40 bytes in the transfer file

# Bank abbreviations a person writes with a kanji: the guide writes the
# city's ﾀ) (その他の団体) as 「他)」.
_WRITTEN_ABBREVIATIONS = {"タ": "他"}



def _digits(value: str | None) -> str:
    """Full-width digits folded (not NFKC: ①②③④ is no bank code), spaces and
    hyphens dropped."""
    text = fold_digits(value or "")
    return "".join(ch for ch in text if ch not in " -　－")


def bank_name(bank_code: str | None) -> str | None:
    """The bank's name for a 4-digit code, or None when no bank has it."""
    code = _digits(bank_code)
    if len(code) != 4 or not is_ascii_digits(code):
        return None
    bank = zengin_code.Bank.all.get(code)
    return bank.name if bank is not None else None


def branch_name(bank_code: str | None, branch_code: str | None) -> str | None:
    """The branch's name, or None when the bank has no such branch."""
    code, branch = _digits(bank_code), _digits(branch_code)
    bank = zengin_code.Bank.all.get(code) if len(code) == 4 else None
    if bank is None or len(branch) != 3 or not is_ascii_digits(branch):
        return None
    found = bank.branches.get(branch)
    return found.name if found is not None else None


def bank_kana(bank_code: str) -> str:
    """The bank's name in half-width kana (for 被仕向銀行名)."""
    bank = zengin_code.Bank.all[bank_code]
    return to_zengin_kana(bank.kana, field=N_("金融機関名"))


def branch_kana(bank_code: str, branch_code: str) -> str:
    """The branch's name in half-width kana (for 被仕向支店名)."""
    branch = zengin_code.Bank.all[bank_code].branches[branch_code]
    return to_zengin_kana(branch.kana, field=N_("支店名"))


@dataclass
class BankAccount:
    """A checked bank account: codes, 預金種目, 7-digit number, holder kana."""

    bank_code: str
    branch_code: str
    account_type: str
    account_number: str
    account_holder_kana: str

    def as_dict(self) -> dict[str, str]:
        return {
            "bank_code": self.bank_code,
            "branch_code": self.branch_code,
            "account_type": self.account_type,
            "account_number": self.account_number,
            "account_holder_kana": self.account_holder_kana,
        }


@dataclass
class BankAccountProblems(Exception):
    """Messages for the fields of a bank account, by field name."""

    errors: dict[str, str] = field(default_factory=dict)


def check_bank_account(
    bank_code: str | None,
    branch_code: str | None,
    account_type: str | None,
    account_number: str | None,
    account_holder: str | None,
) -> BankAccount:
    """The account in its stored form, or BankAccountProblems with one
    Japanese message per bad field."""
    errors: dict[str, str] = {}
    bank = _digits(bank_code)
    branch = _digits(branch_code)
    number = _digits(account_number)
    if not bank:
        errors["bank_code"] = _("金融機関コード（4桁）を入力してください。")
    elif len(bank) != 4 or not is_ascii_digits(bank):
        errors["bank_code"] = _("金融機関コードは4桁の数字です。")
    elif bank_name(bank) is None:
        errors["bank_code"] = _("金融機関コード「%(code)s」の金融機関が見つかりません。通帳やキャッシュカードでご確認ください。",
                               code=bank)
    if not branch:
        errors["branch_code"] = _("支店コード（3桁）を入力してください。")
    elif len(branch) != 3 or not is_ascii_digits(branch):
        errors["branch_code"] = _("支店コードは3桁の数字です。")
    elif "bank_code" not in errors and branch_name(bank, branch) is None:
        errors["branch_code"] = _("%(bank)sに支店コード「%(code)s」の支店が見つかりません。", bank=bank_name(bank), code=branch)
    if account_type not in {t.value for t in AccountType}:
        errors["account_type"] = _("預金種目（普通・当座）を選んでください。")
    if not number:
        errors["account_number"] = _("口座番号を入力してください。")
    elif not is_ascii_digits(number) or len(number) > 7:
        errors["account_number"] = _("口座番号は7桁までの数字です。")
    holder = ""
    try:
        holder = to_zengin_kana(account_holder or "", max_bytes=HOLDER_MAX, field=N_("口座名義（カナ）"))
    except KanaError as exc:
        errors["account_holder_kana"] = exc.message
    if errors:
        raise BankAccountProblems(errors)
    return BankAccount(bank, branch, str(account_type), number.zfill(7), holder)


def mask_account_number(number: str) -> str:
    """1234567 → ****567: enough to recognise, not enough to reuse."""
    if not number:
        return ""
    return "*" * max(len(number) - 3, 0) + number[-3:]


def masked(account: dict[str, str]) -> dict[str, str]:
    """A bank account as the audit log keeps it: number and holder masked."""
    holder = account.get("account_holder_kana", "")
    return {
        "bank_code": account.get("bank_code", ""),
        "branch_code": account.get("branch_code", ""),
        "account_type": label(account.get("account_type", ""), "bank_account_type"),
        "account_number": mask_account_number(account.get("account_number", "")),
        "account_holder_kana": holder[:2] + "*" * max(len(holder) - 2, 0),
    }


def describe(account: dict[str, str], *, mask: bool = True) -> str:
    """One line for a person: 「みずほ銀行 東京営業部 普通 ****567 ｶ)ﾋﾏﾜﾘ」."""
    bank, branch = account.get("bank_code", ""), account.get("branch_code", "")
    number = account.get("account_number", "")
    parts = [
        _("%(name)s（%(code)s）", name=bank_name(bank) or bank, code=bank) if bank else "",
        _("%(name)s（%(code)s）", name=branch_name(bank, branch) or branch, code=branch) if branch else "",
        label(account.get("account_type", ""), "bank_account_type"),
        mask_account_number(number) if mask else number,
        account.get("account_holder_kana", ""),
    ]
    return " ".join(p for p in parts if p)


def payer_kana() -> str:
    """The city's name as the merchants' banks show the transfer
    (ZENGIN_REQUESTER_NAME, e.g. ﾀ)ｼﾞﾑｶﾝｶ): the 委託者名 of the transfer file.
    Raises KanaError when the setting is not a name a bank takes."""
    return to_zengin_kana(str(current_app.config["ZENGIN_REQUESTER_NAME"] or ""), max_bytes=PAYER_MAX,
                          field=N_("委託者名"))


def payer_name() -> str:
    """振込人名義 as merchants are told it (pages, PDF, mails): the same name
    in full-width kana, e.g. ﾀ)ｼﾞﾑｶﾝｶ → 「他)ジムカンカ」."""
    try:
        kana = payer_kana()
    except KanaError:
        kana = str(current_app.config["ZENGIN_REQUESTER_NAME"] or "")
    text = jaconv.h2z(kana, kana=True, ascii=False, digit=False)
    for short, written in _WRITTEN_ABBREVIATIONS.items():
        if text.startswith(short + ")"):
            text = written + text[len(short):]
        if text.endswith("(" + short):
            text = text[: -len(short)] + written
    return text
