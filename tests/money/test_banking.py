"""Bank accounts checked against the real bank code list (zengin-code)."""
from __future__ import annotations

import pytest

from iseca.money import banking
from iseca.money.banking import BankAccountProblems, check_bank_account


def test_known_bank_and_branch_have_names():
    assert banking.bank_name("0001") == "みずほ"
    assert banking.branch_name("0001", "001") == "東京営業部"
    assert banking.bank_name("０００１") == "みずほ"  # full-width digits folded


@pytest.mark.parametrize("code", ["9999", "12", "abcd", "", None])
def test_unknown_or_malformed_bank_has_no_name(code):
    assert banking.bank_name(code) is None


def test_valid_account_is_normalised():
    account = check_bank_account("０００１", "001", "1", "12345", "カブシキガイシャ　ヒマワリ")
    assert account.as_dict() == {
        "bank_code": "0001", "branch_code": "001", "account_type": "1",
        "account_number": "0012345", "account_holder_kana": "ｶ)ﾋﾏﾜﾘ",
    }


def test_bank_and_branch_kana_for_the_transfer_file():
    assert banking.bank_kana("0001") == "ﾐｽﾞﾎ"
    assert banking.branch_kana("0001", "001") == "ﾄｳｷﾖｳ"


@pytest.mark.parametrize("fields,field,words", [
    (("9999", "001", "1", "1234567", "ﾔﾏﾀﾞ"), "bank_code", "見つかりません"),
    (("001", "001", "1", "1234567", "ﾔﾏﾀﾞ"), "bank_code", "4桁"),
    (("0001", "998", "1", "1234567", "ﾔﾏﾀﾞ"), "branch_code", "みずほに支店コード「998」の支店が見つかりません"),
    (("0001", "01", "1", "1234567", "ﾔﾏﾀﾞ"), "branch_code", "3桁"),
    (("0001", "001", "3", "1234567", "ﾔﾏﾀﾞ"), "account_type", "普通・当座"),
    (("0001", "001", "1", "12345678", "ﾔﾏﾀﾞ"), "account_number", "7桁"),
    (("0001", "001", "1", "12a4567", "ﾔﾏﾀﾞ"), "account_number", "7桁"),
    (("0001", "001", "1", "1234567", "山田"), "account_holder_kana", "「山」"),
])
def test_each_bad_field_gets_its_own_message(fields, field, words):
    with pytest.raises(BankAccountProblems) as info:
        check_bank_account(*fields)
    assert field in info.value.errors
    assert words in info.value.errors[field]


def test_masking_keeps_only_the_last_digits():
    assert banking.mask_account_number("1234567") == "****567"
    masked = banking.masked({"bank_code": "0001", "branch_code": "001", "account_type": "1",
                             "account_number": "1234567", "account_holder_kana": "ｶ)ﾋﾏﾜﾘ"})
    assert masked == {"bank_code": "0001", "branch_code": "001", "account_type": "普通",
                      "account_number": "****567", "account_holder_kana": "ｶ)****"}
