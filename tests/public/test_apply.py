"""加盟店登録: the public application form, field by field."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from iseca.extensions import db
from iseca.merchants.onboarding import ELIGIBILITY
from iseca.models import MerchantApplication
from tests.factories import application_form
from tests.support.client import post_form


def field_block(html: str, name: str) -> str:
    """The markup of one field: its label, input and messages."""
    at = html.index(f'name="{name}"')
    start = max(html.rfind('<div class="field', 0, at), html.rfind("<fieldset", 0, at))
    return html[start:html.index("</div>", at)]


def applications() -> int:
    return db.session.scalar(select(func.count()).select_from(MerchantApplication))


def test_form_shows_the_guides_five_requirements_word_for_word(client):
    html = client.get("/apply").get_data(as_text=True)
    for requirement in ELIGIBILITY:
        assert requirement in html
    for label in ("事業者名（法人名・屋号）", "代表者名", "金融機関コード（4桁）", "支店コード（3桁）", "普通", "当座",
                  "口座番号（7桁）", "口座名義（カナ）", "店舗名", "業種", "営業時間", "店舗を追加"):
        assert label in html


def test_one_line_address_fields_ask_the_browser_for_one_line(client):
    """「street-address」 is a multi-line address, allowed on a textarea only;
    a one-line input asks for 「address-line1」."""
    html = client.get("/apply").get_data(as_text=True)
    inputs = re.findall(r"<input\b[^>]*>", html)
    assert [i for i in inputs if 'autocomplete="street-address"' in i] == []
    address = next(i for i in inputs if 'name="address"' in i)
    assert 'autocomplete="address-line1"' in address


def test_valid_application_is_received_with_one_store(client):
    resp = post_form(client, "/apply", application_form(stores=1))
    assert resp.status_code == 303
    application = db.session.scalar(select(MerchantApplication))
    assert application.business_name == "株式会社いせさきテスト"
    assert application.email == "owner@isesaki-test.example.jp"
    assert len(application.data["stores"]) == 1
    assert application.data["eligibility"] == ELIGIBILITY
    assert application.data["bank"] == {"bank_code": "0001", "branch_code": "001", "account_type": "1",
                                        "account_number": "1234567", "account_holder_kana": "ｶ)ｲｾｻｷﾃｽﾄ"}


# Each bad input: the message next to the field, everything else kept, nothing stored.
BAD_INPUTS = [
    ({"stores-0-address": "群馬県前橋市大手町1-1-1"}, "stores-0-address", "伊勢崎市内の店舗・事業所に限られます"),
    ({"stores-1-address": "東京都千代田区1-1"}, "stores-1-address", "伊勢崎市内の店舗・事業所に限られます"),
    ({"bank_code": "9999"}, "bank_code", "金融機関コード「9999」の金融機関が見つかりません"),
    ({"branch_code": "998"}, "branch_code", "支店コード「998」の支店が見つかりません"),
    ({"account_holder_kana": "山田商店"}, "account_holder_kana", "口座名義（カナ）に「山」は使えません"),
    ({"account_holder_kana": "ヤマダ,ショウテン"}, "account_holder_kana", "「,」は使えません"),
    ({"account_number": "12345678"}, "account_number", "口座番号は7桁までの数字です"),
    ({"eligibility_3": None}, "eligibility_3", "この要件に該当することを確認し、チェックを入れてください"),
    ({"agree": None}, "agree", "同意のうえ、チェックを入れてください"),
    ({"email": "owner-at-example"}, "email", "メールアドレスの形式が正しくありません"),
    ({"phone": "abc"}, "phone", "電話番号は市外局番から"),
    ({"postal_code": "37285"}, "postal_code", "郵便番号は7桁"),
    ({"name": ""}, "name", "事業者名を入力してください"),
    ({"stores-0-category": "カジノ"}, "stores-0-category", "業種"),
    ({"stores-0-hours": ""}, "stores-0-hours", "営業時間を入力してください"),
]


@pytest.mark.parametrize("override,field,message", BAD_INPUTS, ids=[b[1] + ":" + b[2][:8] for b in BAD_INPUTS])
def test_bad_input_gets_a_message_next_to_the_field_and_keeps_the_rest(client, override, field, message):
    data = application_form(stores=2, **override)
    resp = post_form(client, "/apply", data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert applications() == 0
    assert "入力内容に確認が必要な項目があります" in html
    assert message in field_block(html, field)  # next to the field itself
    # Everything else typed is still there.
    for name in ("name", "representative", "stores-0-name", "stores-1-name", "stores-1-hours", "account_number"):
        if name not in override and data.get(name):
            assert f'value="{data[name]}"' in html, name


def test_missing_eligibility_tick_keeps_the_other_ticks(client):
    html = post_form(client, "/apply", application_form(eligibility_2=None)).get_data(as_text=True)
    for i in (1, 3, 4, 5):
        assert f'checked id="eligibility_{i}"' in html
    assert 'checked id="eligibility_2"' not in html
    assert 'checked id="agree"' in html
    assert applications() == 0


def test_script_in_text_fields_is_stored_as_text_and_shown_escaped(client, staff_client):
    script = "<script>alert('x')</script>"
    resp = post_form(client, "/apply", application_form(stores=1, name=f"店{script}", **{"stores-0-hours": script}))
    assert resp.status_code == 303
    application = db.session.scalar(select(MerchantApplication))
    html = staff_client.get(f"/counter/applications/{application.id}").get_data(as_text=True)
    assert script not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html


def test_script_in_a_refused_form_is_echoed_escaped(client):
    script = '"><script>alert(1)</script>'
    html = post_form(client, "/apply", application_form(representative=script, bank_code="9999")).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_add_store_button_adds_an_empty_store_and_keeps_what_was_typed(client):
    data = application_form(stores=1)
    data["add_store"] = "1"
    html = post_form(client, "/apply", data).get_data(as_text=True)
    assert "店舗 2" in html and 'name="stores-1-name"' in html
    assert 'value="いせさき駅前ベーカリー"' in html and 'value="株式会社いせさきテスト"' in html
    assert "入力内容に確認が必要な項目があります" not in html  # no errors for the new empty store yet
    assert applications() == 0


def test_remove_store_button_removes_that_store(client):
    data = application_form(stores=3)
    data["remove_store"] = "stores-1"
    html = post_form(client, "/apply", data).get_data(as_text=True)
    assert "あかぼり珈琲店" not in html
    assert 'value="いせさき駅前ベーカリー"' in html and 'value="さかい花店"' in html
    assert 'name="stores-2-name"' not in html  # renumbered 0, 1


def test_bank_names_appear_for_the_codes_typed(client):
    html = client.get("/bank-names?bank_code=0001&branch_code=001", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "みずほ" in html and "東京営業部" in html
    unknown = client.get("/bank-names?bank_code=9999&branch_code=").get_data(as_text=True)
    assert "該当する金融機関がありません" in unknown
    no_branch = client.get("/bank-names?bank_code=0001&branch_code=998").get_data(as_text=True)
    assert "みずほ" in no_branch and "該当する支店がありません" in no_branch


def test_bank_code_inputs_ask_htmx_for_the_names(client):
    html = client.get("/apply").get_data(as_text=True)
    assert 'data-hx-post="/bank-names"' in html and 'data-hx-target="#bank-names"' in html


def test_holder_name_is_shown_as_the_bank_will_get_it(client):
    html = post_form(client, "/bank-names", {"bank_code": "0001", "branch_code": "001",
                                             "account_holder_kana": "かぶしきがいしゃ　ひまわり"},
                     page_url="/apply", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "ｶ)ﾋﾏﾜﾘ" in html
    bad = post_form(client, "/bank-names", {"account_holder_kana": "山田"}, page_url="/apply").get_data(as_text=True)
    assert "「山」は使えません" in bad


def test_form_page_shows_bank_names_after_a_refused_submit_without_javascript(client):
    html = post_form(client, "/apply", application_form(agree=None)).get_data(as_text=True)
    assert "みずほ" in html and "東京営業部" in html


def test_receipt_mail_goes_to_the_applicant(client, smtp):
    post_form(client, "/apply", application_form(stores=2))
    [mail] = smtp.with_subject("【ISECA】加盟店登録のお申込みを受け付けました")
    assert mail["To"] == "owner@isesaki-test.example.jp"
    body = smtp.body(mail)
    assert "いせさき駅前ベーカリー" in body and "あかぼり珈琲店" in body


def test_application_works_without_smtp_server(client):
    resp = post_form(client, "/apply", application_form())
    assert resp.status_code == 303 and applications() == 1


def test_counter_keys_in_a_paper_application_with_the_same_form(staff_client):
    html = staff_client.get("/counter/applications/new").get_data(as_text=True)
    assert ELIGIBILITY[0] in html
    resp = post_form(staff_client, "/counter/applications/new", application_form(stores=1))
    assert resp.status_code == 303
    application = db.session.scalar(select(MerchantApplication))
    assert application.source == "paper"
    page = staff_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "書面" in page and "承認する" in page


def test_paper_application_refuses_the_same_bad_input(staff_client):
    html = post_form(staff_client, "/counter/applications/new",
                     application_form(**{"stores-0-address": "前橋市大手町1-1"})).get_data(as_text=True)
    assert "伊勢崎市内の店舗・事業所に限られます" in html
    assert applications() == 0


def test_flood_of_applications_from_one_address_is_throttled(app, client):
    app.config["APPLY_RATE_LIMIT"] = "2 per hour"
    for _ in range(2):
        assert post_form(client, "/apply", application_form(stores=1)).status_code == 303
    # Refused forms do not count; a third application does not go through.
    assert post_form(client, "/apply", application_form(agree=None)).status_code == 429
    assert applications() == 2
