"""Half-width kana as Japanese banks take it (全銀 character set).

Names in a bank transfer file (受取人名, 依頼人名) and the account holder
name a business registers are written in the one-byte character set of the
Zengin format: half-width katakana (no ｦ, no small kana), ﾞ ﾟ, A–Z, 0–9,
space and ( ) - . — nothing else. `to_zengin_kana` turns what a person
types (hiragana, full-width katakana, full-width letters, company words)
into that form, or refuses with a message that names the character.
"""
from __future__ import annotations

import re
import unicodedata

import jaconv
from flask_babel import gettext as _

from ..i18n import N_

# Characters a bank accepts in a name, after conversion.
_HALF_KANA = {chr(c) for c in range(0xFF71, 0xFF9E)}  # ｱ … ﾝ
ALLOWED = (
    _HALF_KANA
    | {"\uff9e", "\uff9f"}  # ﾞ ﾟ
    | set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ()-.")
)

# Small kana become full size (キャノン → ｷﾔﾉﾝ); ヲ is written オ.
_FULL_SIZE = str.maketrans({
    "ァ": "ア", "ィ": "イ", "ゥ": "ウ", "ェ": "エ", "ォ": "オ", "ッ": "ツ", "ャ": "ヤ", "ュ": "ユ", "ョ": "ヨ",
    "ヮ": "ワ", "ヵ": "カ", "ヶ": "ケ", "ヲ": "オ",
})

# Long-vowel marks and dashes are written with the hyphen; the middle dot
# with a full stop (banks print カ).ヤマダ・タロウ as ﾔﾏﾀﾞ.ﾀﾛｳ).
_SYMBOLS = str.maketrans({
    "ー": "-", "−": "-", "‐": "-", "‑": "-", "–": "-", "—": "-", "―": "-", "ｰ": "-", "～": "-", "〜": "-",
    "・": ".", "･": ".", "．": ".", "｡": ".", "。": ".",
    "「": "(", "」": ")", "　": " ",
})

# Company words and their bank abbreviations: 株式会社 at the start becomes
# ｶ)…, at the end …(ｶ, in the middle (ｶ). Kana spellings count too.
_COMPANY_WORDS = [
    (("株式会社", "カブシキガイシャ", "カブシキカイシャ"), "カ"),
    (("有限会社", "ユウゲンガイシャ", "ユウゲンカイシャ"), "ユ"),
    (("合同会社", "ゴウドウガイシャ", "ゴウドウカイシャ"), "ド"),
    (("合資会社", "ゴウシガイシャ", "ゴウシカイシャ"), "シ"),
    (("合名会社", "ゴウメイガイシャ", "ゴウメイカイシャ"), "メ"),
    (("医療法人", "イリヨウホウジン", "イリョウホウジン"), "イ"),
    (("社会福祉法人", "シヤカイフクシホウジン", "シャカイフクシホウジン"), "フク"),
    (("特定非営利活動法人", "トクテイヒエイリカツドウホウジン"), "トクヒ"),
    (("一般社団法人", "イツパンシヤダンホウジン", "イッパンシャダンホウジン"), "シヤ"),
    (("一般財団法人", "イツパンザイダンホウジン", "イッパンザイダンホウジン"), "ザイ"),
]


class KanaError(ValueError):
    """A name that cannot be written in the bank's character set."""

    def __init__(self, message: str, char: str | None = None):
        super().__init__(message)
        self.message = message
        self.char = char


def _describe(char: str) -> str:
    if char in ",，、":
        return _("読点・カンマ（，）は使えません。スペースにしてください。")
    if "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf":
        return _("漢字は使えません。カタカナで入力してください。")
    if char.isalpha() and char.isascii():
        return ""  # lower case is upper-cased before this point
    return _("銀行に届けられる文字（カナ・英大文字・数字・スペースと ( ) - . ）で入力してください。")


def _abbreviate_company(text: str) -> str:
    """Replace a company word with the bank abbreviation, by its place."""
    for words, short in _COMPANY_WORDS:
        for word in words:
            if word not in text:
                continue
            stripped = text.strip()
            if stripped.startswith(word):
                rest = stripped[len(word):].lstrip(" ")
                return f"{short})" + rest
            if stripped.endswith(word):
                rest = stripped[: -len(word)].rstrip(" ")
                return rest + f"({short}"
            return text.replace(word, f"({short})", 1)
    return text


def to_zengin_kana(name: str, *, max_bytes: int | None = None, field: str = N_("口座名義")) -> str:
    """`name` in the half-width kana of a bank transfer file, e.g.
    「カブシキガイシャ　ひまわり」 → 「ｶ)ﾋﾏﾜﾘ」. Raises KanaError (with a
    message naming the first character a bank cannot take) when it cannot."""
    text = unicodedata.normalize("NFKC", name or "")  # half-width kana → full, Ａ → A, （ → (
    text = jaconv.hira2kata(text)
    text = text.translate(_SYMBOLS)
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise KanaError(_("%(field)sを入力してください。", field=_(field)))
    for short, word in (("(株)", "株式会社"), ("(有)", "有限会社"), ("(同)", "合同会社")):
        text = text.replace(short, word)  # ㈱ and (株) as people type them
    text = _abbreviate_company(text)
    text = text.translate(_FULL_SIZE).upper()
    text = jaconv.z2h(text, kana=True, ascii=True, digit=True)
    text = text.translate(_SYMBOLS)  # z2h may leave ｰ
    text = re.sub(r" ?([()]) ?", r"\1", text)  # no spaces around ( )
    for char in text:
        if char not in ALLOWED:
            shown = unicodedata.normalize("NFKC", char)
            raise KanaError(_("%(field)sに「%(char)s」は使えません。", field=_(field), char=shown) + _describe(char), char)
    if text[0] in "\uff9e\uff9f":
        raise KanaError(_("%(field)sの最初に濁点・半濁点は使えません。", field=_(field)), text[0])
    if max_bytes is not None and len(text) > max_bytes:
        raise KanaError(_("%(field)sは半角に直して%(max)s文字以内にしてください（現在%(count)s文字: %(text)s）。",
                          field=_(field), max=max_bytes, count=len(text), text=text))
    return text


def fit(text: str, width: int) -> str:
    """A text field of a transfer file: cut to `width` (never between a kana
    and its ﾞ/ﾟ) and padded with spaces."""
    return cut(text, width).ljust(width)


def cut(text: str, width: int) -> str:
    """At most `width` characters, never ending between a kana and its ﾞ/ﾟ."""
    if len(text) <= width:
        return text
    head = text[:width]
    if text[width] in "\uff9e\uff9f":
        head = head[:-1]
    return head
