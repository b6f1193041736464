"""公開ページの文章: the city edits the FAQ, the goods that cannot be paid
and the contact page per language in the console, previews them, publishes
one version; the public page shows the last published version of its
reader's language, the built-in text otherwise. Nothing typed can run."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from iseca.extensions import db
from iseca.models import AuditLog, PublicText
from tests import factories
from tests.support.client import login, post_form

EDIT = "/counter/texts/{page}/{lang}"
HOSTILE = (
    "## 営業時間の変更\n\n"
    "<script>alert('x')</script>\n\n"
    "[ここを押す](javascript:alert(1)) と <img src=x onerror=alert(2)> と <b>太字</b>\n\n"
    "<a href=\"javascript:alert(3)\">リンク</a>\n"
)


@pytest.fixture
def staff_client(client):
    factories.make_staff()
    assert login(client, "staff1", factories.PASSWORD, area="counter", kind=None).status_code == 303
    return client


def _edited(html: str) -> str | None:
    """The city's text on a page (the block that stands in front of the built-in text)."""
    match = re.search(r'<div class="public-text"[^>]*>(.*?)</div>', html, re.S)
    return match.group(1) if match else None


def _assert_inert(block: str) -> None:
    assert "<script" not in block and "<img" not in block and "<b>" not in block
    assert "javascript:" not in " ".join(re.findall(r"<a [^>]*>", block))
    assert not re.search(r"<[^>]*\son\w+=", block)  # no event attribute on any tag
    assert "&lt;script&gt;" in block  # what was typed stays visible as text


def test_a_published_faq_replaces_the_built_in_one_on_the_public_page(staff_client, client):
    assert "管理サイトまたは加盟店アプリにログインができません" in client.get("/faq").get_data(as_text=True)
    resp = post_form(staff_client, EDIT.format(page="faq", lang="ja"),
                     {"body": "## カードをなくしたら\n\nISECA窓口で**再発行**できます。", "action": "publish"})
    assert resp.status_code == 303
    html = client.get("/faq").get_data(as_text=True)
    block = _edited(html)
    assert block is not None and "<h2>カードをなくしたら</h2>" in block and "<strong>再発行</strong>" in block
    assert "管理サイトまたは加盟店アプリにログインができません" not in html
    actions = [a for a, in db.session.execute(select(AuditLog.action).order_by(AuditLog.id))]
    assert actions[-2:] == ["public_text_saved", "public_text_published"]


def test_the_editor_starts_from_the_guides_own_text(staff_client):
    html = staff_client.get(EDIT.format(page="not_payable", lang="ja")).get_data(as_text=True)
    assert "1. 出資、有価証券の購入" in html and "7. その他市長が不相当と認めるもの" in html
    contact = staff_client.get(EDIT.format(page="contact", lang="ja")).get_data(as_text=True)
    assert "0270-27-2708" in contact and "企画部 事務管理課" in contact


def test_script_and_raw_html_are_inert_in_the_preview_and_on_the_page(staff_client, client):
    url = EDIT.format(page="contact", lang="ja")
    preview = post_form(staff_client, url, {"body": HOSTILE, "action": "preview"})
    assert preview.status_code == 200
    block = _edited(preview.get_data(as_text=True))
    assert block is not None and "営業時間の変更" in block
    _assert_inert(block)
    assert db.session.scalar(select(PublicText.id)) is None  # a preview saves nothing
    assert post_form(staff_client, url, {"body": HOSTILE, "action": "publish"}).status_code == 303
    page = client.get("/contact").get_data(as_text=True)
    block = _edited(page)
    assert block is not None and "営業時間の変更" in block
    _assert_inert(block)


def test_a_draft_does_not_show_until_it_is_published(staff_client, client):
    url = EDIT.format(page="faq", lang="ja")
    assert post_form(staff_client, url, {"body": "## 下書きの質問", "action": "save"}).status_code == 303
    assert "下書きの質問" not in client.get("/faq").get_data(as_text=True)
    assert "未公開の下書きあり" in staff_client.get("/counter/texts").get_data(as_text=True)
    draft = db.session.scalar(select(PublicText))
    assert draft.published_at is None
    versions = f"/counter/texts/faq/ja/versions/{draft.id}"
    assert post_form(staff_client, versions + "/publish", {}, page_url=versions).status_code == 303
    assert "下書きの質問" in client.get("/faq").get_data(as_text=True)


def test_each_language_keeps_its_own_text(staff_client, client):
    post_form(staff_client, EDIT.format(page="faq", lang="ja"), {"body": "## 日本語の質問", "action": "publish"})
    client.set_cookie("lang", "en")
    english = client.get("/faq").get_data(as_text=True)
    assert "日本語の質問" not in english and _edited(english) is None  # still the built-in text
    post_form(staff_client, EDIT.format(page="faq", lang="en"), {"body": "## A question in English", "action": "publish"})
    assert "A question in English" in client.get("/faq").get_data(as_text=True)
    client.set_cookie("lang", "ja")
    japanese = client.get("/faq").get_data(as_text=True)
    assert "日本語の質問" in japanese and "A question in English" not in japanese
    overview = staff_client.get("/counter/texts").get_data(as_text=True)
    faq = re.search(r'<section[^>]*id="texts-faq">(.*?)</section>', overview, re.S).group(1)
    lines = re.findall(r"<li>(.*?)</li>", faq, re.S)
    assert ["公開中の編集版" in line for line in lines] == [True, True, False, False]  # ja, en, pt_BR, vi
    editor = staff_client.get(EDIT.format(page="faq", lang="vi")).get_data(as_text=True)
    assert "編集版を公開中の言語：日本語、English</p>" in editor


def test_an_earlier_version_stays_readable_and_can_be_published_again(staff_client, client):
    url = EDIT.format(page="faq", lang="ja")
    post_form(staff_client, url, {"body": "## 一つ目", "action": "publish"})
    post_form(staff_client, url, {"body": "## 二つ目", "action": "publish"})
    first, second = db.session.scalars(select(PublicText).order_by(PublicText.id)).all()
    editor = staff_client.get(url).get_data(as_text=True)
    assert f"#{first.id}" in editor and f"#{second.id}" in editor and "窓口 太郎" in editor
    old = f"/counter/texts/faq/ja/versions/{first.id}"
    assert "一つ目" in staff_client.get(old).get_data(as_text=True)
    assert post_form(staff_client, old + "/publish", {}, page_url=old).status_code == 303
    assert "一つ目" in client.get("/faq").get_data(as_text=True)
    assert db.session.scalar(select(PublicText).order_by(PublicText.id.desc())).body == "## 一つ目"


def test_an_empty_text_is_refused_beside_the_field(staff_client):
    resp = post_form(staff_client, EDIT.format(page="faq", lang="ja"), {"body": "", "action": "publish"})
    assert resp.status_code == 422 and "本文を入力してください。" in resp.get_data(as_text=True)
    assert db.session.scalar(select(PublicText.id)) is None


def test_an_empty_text_is_refused_in_english_too(staff_client):
    staff_client.set_cookie("lang", "en")
    resp = post_form(staff_client, EDIT.format(page="faq", lang="ja"), {"body": "", "action": "publish"})
    assert resp.status_code == 422 and "Enter the text." in resp.get_data(as_text=True)


def test_the_editor_ignores_a_version_number_beyond_the_database(staff_client):
    resp = staff_client.get(EDIT.format(page="faq", lang="ja") + "?from=9223372036854775808")
    assert resp.status_code == 200 and "管理サイトまたは加盟店アプリにログインができません" in resp.get_data(as_text=True)
