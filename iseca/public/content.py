"""Texts of the merchant guide shown on the public pages: the guide's own
Japanese words, marked for the catalogues (part "residents") and translated
when shown. The pages read them through faq(), not_payable() and contact(),
each keeping the structure of its text (question and answer pairs, items,
the counter's details), so that a text kept elsewhere can take its place."""
from __future__ import annotations

from flask_babel import gettext

from ..i18n import N_

# よくあるご質問 (the guide's FAQ): (question, answer) pairs.
FAQ = [
    (N_("管理サイトまたは加盟店アプリにログインができません"),
     N_("店舗個別のIDとパスワードが必要です。申込時のメールアドレスに送付しております。ご不明な場合はISECA窓口までご連絡ください")),
    (N_("加盟店アプリは同じアカウントで複数台利用可能ですか？"),
     N_("同じ店舗コードとパスワードを入力すれば複数利用可能です")),
    (N_("加盟店アプリで決済エラーが発生しました"),
     N_("エラー内容を解消し再度決済をお試しください。決済ができない場合は、ISECA窓口までご連絡ください")),
    (N_("加盟店アプリの対応しているバージョンを教えてください"),
     N_("加盟店アプリはApp StoreやGoogle Playからのインストールは不要です。iPhoneはSafari（iOS 16.4以降）、AndroidはChromeで加盟店アプリを開き、「ホーム画面に追加」してご利用ください（手順は「加盟店アプリのインストール手順」をご覧ください）。カメラでの読み取りにはカメラの許可が必要です")),
    (N_("お客様のポイント残高が足りない場合は？"),
     N_("現金との併用が可能なので、現金やその他の決済で支払うようお客様にお伝えください")),
    (N_("カード利用者の残高はどこで見られますか？"),
     N_("カードを読込んだ時に、加盟店アプリ上に利用可能ポイントが表示されます。また、カード裏面に残高確認ページのURLが記載してあります")),
    (N_("決済金額に誤りがあったので利用をキャンセルしたい"),
     N_("利用日時と金額、会員コードをお聞きし利用履歴を検索します。対象の履歴を見つけ「取消」をします。正しい金額で再度決済が必要な場合は実行します")),
]

# ISECAで決済できないモノ・サービス (the guide's seven items).
NOT_PAYABLE = [
    N_("出資、有価証券の購入、債務の弁済等消費に当たらないもの"),
    N_("各種商品券、切手、印紙、くじ、プリペイドカード等換金性の高いもの"),
    N_("現金との換金、金融機関への預入れ及びプリペイドカードへの入金"),
    N_("風俗営業等の規制及び業務の適正化等に関する法律第2条第1項第4号及び第5号並びに同条第5項に規定する営業に係る役務"),
    N_("宗教及び政治団体に関わるもの及び公序良俗に反するもの"),
    N_("各加盟店が使用を不可とするもの"),
    N_("その他市長が不相当と認めるもの"),
]

# お問い合わせ先: the ISECA counter. The phone number is the same in every
# language (dialled in Japan); the rest is translated.
CONTACT = {
    "office": N_("ISECA窓口"),
    "department": N_("企画部 事務管理課"),
    "place": N_("伊勢崎市役所東館 1階"),
    "place_hours": N_("平日午前8：30～正午、午後1：00～午後5：15"),
    "phone": "0270-27-2708",
    "phone_note": N_("（直通）"),
    "phone_hours": N_("平日午前8：30～午後5：15（土日祝・年末年始を除く）"),
}
UNTRANSLATED = ("phone",)


def faq() -> list[tuple[str, str]]:
    """よくあるご質問 in the reader's language."""
    return [(gettext(question), gettext(answer)) for question, answer in FAQ]


def not_payable() -> list[str]:
    """ISECAで決済できないモノ・サービス in the reader's language."""
    return [gettext(item) for item in NOT_PAYABLE]


def contact() -> dict[str, str]:
    """お問い合わせ先 in the reader's language."""
    return {key: value if key in UNTRANSLATED else gettext(value) for key, value in CONTACT.items()}
