"""The one yen parser and the one whole-number parser: what a person types
is read, anything else is refused with a message, never charged."""
from __future__ import annotations

import pytest

from iseca import amounts
from iseca.members import cards, payers
from iseca.money import payments
from iseca.numbers import DB_INT_MAX, NumberInvalid, NumberTooLarge, parse_whole_number


@pytest.mark.parametrize("typed,amount", [
    ("1000", 1000), ("１０００", 1000), ("1,000円", 1000), ("123,456", 123_456), ("999", 999), ("¥1,000", 1000), ("￥１，０００", 1000),
    ("  550円 ", 550), ("\u3000２１６０\u3000", 2160),
    # Leading zeros are ignored, as a calculator reads them: 1 yen, not "over the limit".
    ("00000000000001", 1), ("0" * 200 + "5", 5),
])
def test_yen_as_people_type_it(typed, amount):
    assert amounts.parse_yen(typed, maximum=500_000) == amount


@pytest.mark.parametrize("typed,message", [
    ("²", "金額は数字で入力してください"),          # NFKC would read 2
    ("①⓪", "金額は数字で入力してください"),         # NFKC would read 10
    ("𐩀", "金額は数字で入力してください"),          # isdigit() is true, int() fails
    ("٣", "金額は数字で入力してください"),           # int() would read 3
    ("1e3", "金額は数字で入力してください"),
    ("1,,000", "金額は数字で入力してください"),
    # A comma only between groups of three digits: 2,00 may mean 2 yen or 200.
    ("2,00", "カンマ（,）は3桁ごとの区切りにだけ使えます（例: 1,000）"),
    ("1,0000", "カンマ（,）は3桁ごとの区切りにだけ使えます"),
    ("２，００円", "カンマ（,）は3桁ごとの区切りにだけ使えます"),
    ("12,34,567", "カンマ（,）は3桁ごとの区切りにだけ使えます"),
    ("10 00", "金額は数字で入力してください"),
    ("9" * 5000, "金額は500,000円以下で入力してください"),  # bounded before int()
    ("-5", "金額は1円以上で入力してください"),
    ("ー５", "金額は1円以上で入力してください"),
    ("0", "金額は1円以上で入力してください"),
    ("１０．５", "小数は使えません"),
    ("", "金額を入力してください"),
    (None, "金額を入力してください"),
    (["1"], "金額は数字で入力してください"),
])
def test_yen_refuses_what_is_not_a_yen_amount(typed, message):
    with pytest.raises(amounts.AmountInvalid) as refused:
        amounts.parse_yen(typed, maximum=500_000)
    assert message in str(refused.value)


def test_the_till_the_wallet_and_the_counter_share_the_parser(app):
    assert payments.parse_amount("00000000000001") == 1
    with pytest.raises(payments.AmountInvalid, match="数字で入力"):
        payments.parse_amount("①⓪")
    assert cards.parse_grant_amount("１，０００") == 1000
    with pytest.raises(cards.MemberError, match="ポイントは数字で入力"):
        cards.parse_grant_amount("²")


def test_grant_csv_does_not_read_circled_digits_as_points(app):
    batch = cards.parse_grant_csv("1234567890,①⓪\n")
    assert batch.lines[0].amount is None and "数字で入力" in batch.lines[0].error


@pytest.mark.parametrize("typed", ["²", "①", "𐩀", "٣", "-1", "1.0", "", " ", "1 2", "0x10"])
def test_whole_numbers_are_ascii_or_full_width_digits_only(typed):
    with pytest.raises(NumberInvalid):
        parse_whole_number(typed)


def test_whole_numbers_are_bounded_before_conversion():
    assert parse_whole_number("２１４７４８３６４７") == DB_INT_MAX
    for typed in (str(DB_INT_MAX + 1), "9" * 5000):
        with pytest.raises(NumberTooLarge):
            parse_whole_number(typed)


@pytest.mark.parametrize("read", ["²" * 16, "𐩀" * 16, "①②③④⑤⑥⑦⑧⑨⓪①②③④⑤⑥", "ISECA1.1234567890." + "9" * 5000 + ".abc",
                                  "ISECA1.1234567890.²²².abc", "ISECA1.𐩀.1.abc"])
def test_the_till_refuses_unicode_digits_and_huge_numbers_it_reads(app, read):
    with pytest.raises(payments.PaymentRefused):
        payers.identify(read)


def test_a_card_number_in_circled_digits_is_not_read_as_the_card(app):
    from tests import factories

    _, card = factories.make_card_member(1_000)
    circled = card.number.translate(str.maketrans("0123456789", "⓪①②③④⑤⑥⑦⑧⑨"))
    with pytest.raises(payers.PayerUnknown, match="数字（0〜9）で入力"):
        payers.identify(circled)
    wide = card.number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert payers.identify(wide).card.id == card.id
