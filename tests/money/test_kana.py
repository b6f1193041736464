"""Names in the half-width kana a Zengin transfer file takes."""
from __future__ import annotations

import pytest

from iseca.money.kana import ALLOWED, KanaError, cut, fit, to_zengin_kana


@pytest.mark.parametrize("typed,expected", [
    ("ヤマダ　タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ"),
    ("やまだ たろう", "ﾔﾏﾀﾞ ﾀﾛｳ"),  # hiragana from the IME
    ("ﾔﾏﾀﾞ ﾀﾛｳ", "ﾔﾏﾀﾞ ﾀﾛｳ"),  # already half-width: unchanged
    ("キャノン", "ｷﾔﾉﾝ"),  # small kana become full size
    ("ショップ", "ｼﾖﾂﾌﾟ"),
    ("ヴィラ", "ｳﾞｲﾗ"),
    ("ヲガワ", "ｵｶﾞﾜ"),  # ｦ is not allowed: オ
    ("パーラー", "ﾊﾟ-ﾗ-"),  # long vowel mark → hyphen
    ("カブシキガイシャ　ひまわり", "ｶ)ﾋﾏﾜﾘ"),  # 株式会社 at the start
    ("ひまわり　カブシキガイシャ", "ﾋﾏﾜﾘ(ｶ"),  # at the end
    ("イセサキ　カブシキガイシャ　ホンテン", "ｲｾｻｷ(ｶ)ﾎﾝﾃﾝ"),  # in the middle
    ("株式会社ABC", "ｶ)ABC"),
    ("ユウゲンガイシャ　イセサキショウテン", "ﾕ)ｲｾｻｷｼﾖｳﾃﾝ"),
    ("ゴウドウガイシャ　アカボリ", "ﾄﾞ)ｱｶﾎﾞﾘ"),
    ("カ）ヒマワリ", "ｶ)ﾋﾏﾜﾘ"),  # full-width parenthesis typed by hand
    ("ｶ)ﾋﾏﾜﾘ", "ｶ)ﾋﾏﾜﾘ"),
    ("ａｂｃ　ｓｈｏｐ", "ABC SHOP"),  # full-width letters, lower case
    ("ヤマダ・タロウ", "ﾔﾏﾀﾞ.ﾀﾛｳ"),
    ("  ヤマダ   タロウ  ", "ﾔﾏﾀﾞ ﾀﾛｳ"),  # spaces collapsed and trimmed
    ("イセサキ１２３", "ｲｾｻｷ123"),
    ("㈱ヒマワリ", "ｶ)ﾋﾏﾜﾘ"),
    ("ヒマワリ（有）", "ﾋﾏﾜﾘ(ﾕ"),
])
def test_typed_names_become_bank_kana(typed, expected):
    assert to_zengin_kana(typed) == expected


@pytest.mark.parametrize("typed,char", [
    ("山田タロウ", "山"),
    ("ヤマダ,タロウ", ","),
    ("ヤマダ、タロウ", "、"),
    ("info@example", "@"),
    ("ヤマダ＆タロウ", "&"),
    ("ヤマダ★", "★"),
])
def test_characters_a_bank_cannot_take_are_refused_by_name(typed, char):
    with pytest.raises(KanaError) as info:
        to_zengin_kana(typed)
    assert f"「{char}」" in info.value.message
    assert "口座名義" in info.value.message


def test_kanji_gets_a_hint_to_type_katakana():
    with pytest.raises(KanaError) as info:
        to_zengin_kana("伊勢崎")
    assert "カタカナで入力してください" in info.value.message


def test_empty_name_is_refused():
    with pytest.raises(KanaError, match="入力してください"):
        to_zengin_kana("　 ")


def test_length_counts_half_width_bytes():
    assert to_zengin_kana("ガ" * 15, max_bytes=30) == "ｶﾞ" * 15  # 30 bytes
    with pytest.raises(KanaError, match="30文字以内"):
        to_zengin_kana("ガ" * 16, max_bytes=30)


def test_field_name_appears_in_the_message():
    with pytest.raises(KanaError, match="受取人名"):
        to_zengin_kana("山", field="受取人名")


def test_result_uses_only_allowed_characters_and_encodes_in_one_byte_each():
    text = to_zengin_kana("ユウゲンガイシャ　パーラー・ヴィーナス（アカボリテン）")
    assert set(text) <= ALLOWED
    assert len(text.encode("cp932")) == len(text)


def test_cut_never_separates_a_kana_from_its_voiced_mark():
    assert cut("ｱｶﾞ", 2) == "ｱ"
    assert cut("ｱｶﾞ", 3) == "ｱｶﾞ"
    assert cut("ｱｲｳ", 2) == "ｱｲ"
    assert fit("ｶﾞｶﾞ", 3) == "ｶﾞ "
    assert len(fit("ABC", 15)) == 15
