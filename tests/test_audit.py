"""監査ログ: staff search it and export it; a business account reads the rows
of its own business and stores (操作履歴): who cancelled which payment,
who changed what, from which address. (That every data-changing route
writes a row and none edits one: tests/test_route_access.py walks them.)"""
from __future__ import annotations

import csv as csvlib
import datetime as dt
import io

import pytest
from sqlalchemy import select

from iseca.city import notices, public_texts
from iseca.extensions import db
from iseca.models import AccountKind, AuditLog, NoticeAudience, PaymentMethod, utcnow
from iseca.money import cancellation, payments
from tests import factories
from tests.support.client import basic_auth_header, login


def _browser(app):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
    return client


def _cancelled_payment(store, amount):
    member, _ = factories.make_app_member(5_000)
    payment = payments.pay(member, store.registers[0], amount, PaymentMethod.CUSTOMER_SCAN, at=utcnow())
    cancellation.cancel_payment(payment, actor=factories.account_of(AccountKind.STORE, store.code))
    db.session.commit()
    return payment


def test_a_business_finds_who_cancelled_its_payment_and_sees_no_other_business(app):
    own_store = factories.make_store()
    other_store = factories.make_store()
    own = _cancelled_payment(own_store, 1_200)
    other = _cancelled_payment(other_store, 3_400)
    owner = _browser(app)
    assert login(owner, own_store.business.code, factories.PASSWORD, kind="business").status_code == 303

    html = owner.get("/cms/audit").get_data(as_text=True)
    assert "操作履歴" in html
    row = next(r for r in html.split("<tr>") if own.number in r)
    assert "取消" in row and f"店舗:{own_store.code}" in row
    assert other.number not in html and other_store.code not in html
    # Its own login is there too, with the address it came from.
    login_row = next(r for r in html.split("<tr>") if "<td>ログイン</td>" in r)
    assert f"事業者:{own_store.business.code}" in login_row and "127.0.0.1" in login_row
    csv = owner.get("/cms/audit.csv?encoding=utf-8", buffered=True).get_data().decode("utf-8-sig")
    assert own.number in csv and other.number not in csv
    # A store account has no 操作履歴 of the business.
    till = _browser(app)
    login(till, own_store.code, factories.PASSWORD)
    assert till.get("/cms/audit").status_code == 404


def test_staff_search_by_what_merchant_and_period_and_the_csv_runs_no_formula(app, staff_client):
    store = factories.make_store(factories.make_business(name="=HYPERLINK(2)"))
    payment = _cancelled_payment(store, 800)
    # A failed login typed as a spreadsheet formula: recorded, shown, never run.
    assert login(_browser(app), "=HYPERLINK(1)", "wrong", kind="business").status_code == 200
    found = staff_client.get("/counter/audit", query_string={"action": "login_failed"}).get_data(as_text=True)
    assert "ログイン失敗" in found and "=HYPERLINK(1)" in found and payment.number not in found
    by_merchant = staff_client.get("/counter/audit", query_string={"business": store.business.code}).get_data(as_text=True)
    assert payment.number in by_merchant and "事業者:=HYPERLINK(1)" not in by_merchant
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    later = staff_client.get("/counter/audit", query_string={"date_from": tomorrow}).get_data(as_text=True)
    assert payment.number not in later and "該当する記録はありません" in later
    bad = staff_client.get("/counter/audit", query_string={"date_from": "2026-13-01"}).get_data(as_text=True)
    assert "日付" in bad and 'value="2026-13-01"' in bad

    csv = staff_client.get("/counter/audit.csv", query_string={"encoding": "utf-8"}, buffered=True).get_data().decode("utf-8-sig")
    assert csv.splitlines()[0].startswith("日時,操作,操作者")
    cells = [cell for row in csvlib.reader(io.StringIO(csv)) for cell in row]
    assert payment.number in csv and any("=HYPERLINK(1)" in cell for cell in cells)
    assert "'=HYPERLINK(2)" in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]


def test_a_login_and_a_failed_login_each_leave_a_row_with_the_address(app):
    store = factories.make_store()
    login(_browser(app), store.code, "not-the-password")
    login(_browser(app), store.code, factories.PASSWORD)
    rows = [(e.action, e.actor_label, e.business_id, e.ip_address)
            for e in db.session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert ("login_failed", f"store:{store.code}", store.business_id, "127.0.0.1") in rows
    assert ("login", f"store:{store.code}", store.business_id, "127.0.0.1") in rows
    assert all("not-the-password" not in str(e.details) for e in db.session.scalars(select(AuditLog)))


def _login_row(html: str) -> str:
    rows = [r.split("</tr>")[0] for r in html.split("<tr>")]
    return next(r for r in rows if "<td>ログイン</td>" in r or "<td>Log in</td>" in r)


def test_a_login_row_names_the_part_of_the_product_logged_into(app, staff_client):
    """操作履歴 and 監査ログ read a login's area as 管理サイト, not as a store's 地区."""
    business = factories.make_store().business
    owner = _browser(app)
    assert login(owner, business.code, factories.PASSWORD, kind="business").status_code == 303

    own = _login_row(owner.get("/cms/audit").get_data(as_text=True))
    assert "画面: 管理サイト" in own and "地区" not in own
    query = {"action": "login", "business": business.code}
    staff_row = _login_row(staff_client.get("/counter/audit", query_string=query).get_data(as_text=True))
    assert "画面: 管理サイト" in staff_row and "地区" not in staff_row
    staff_client.set_cookie("lang", "en")
    english = _login_row(staff_client.get("/counter/audit", query_string=query).get_data(as_text=True))
    assert "Screen: Management site" in english and "District" not in english


@pytest.mark.parametrize("typed", ["事業者:B", "事業者", "B0", "business:B"])
def test_the_actor_search_finds_an_actor_as_the_rows_write_it(app, staff_client, typed):
    """The rows write the actor as 事業者:B00001; typing it that way (or the
    kind alone, or the ID) in 「操作者」 finds the business's login."""
    business = factories.make_store().business
    owner = _browser(app)
    assert login(owner, business.code, factories.PASSWORD, kind="business").status_code == 303
    query = {"action": "login", "actor": typed.replace("B", business.code) if typed.endswith("B") else typed}

    for client, url in ((staff_client, "/counter/audit"), (owner, "/cms/audit")):
        row = _login_row(client.get(url, query_string=query).get_data(as_text=True))
        assert f"事業者:{business.code}" in row


def test_the_actor_search_reads_the_kind_in_english_too(app, staff_client):
    business = factories.make_store().business
    owner = _browser(app)
    assert login(owner, business.code, factories.PASSWORD, kind="business").status_code == 303
    staff_client.set_cookie("lang", "en")
    html = staff_client.get("/counter/audit", query_string={"action": "login", "actor": f"Business:{business.code}"})
    row = _login_row(html.get_data(as_text=True))
    assert f"business:{business.code}".casefold() in row.casefold()


def _csv(client, url):
    text = client.get(url, query_string={"encoding": "utf-8"}, buffered=True).get_data().decode("utf-8-sig")
    return list(csvlib.DictReader(io.StringIO(text)))


def test_the_audit_csv_files_write_the_words_the_pages_show(app, staff_client):
    """操作履歴 and 監査ログ as CSV: who, what about and the details in the
    words people read (事業者:B…, 決済, ②会員QR・カード, 加盟店…), as on the pages."""
    store = factories.make_store()
    business = store.business
    member, card = factories.make_card_member(3_000)
    payments.pay_once(factories.account_of(AccountKind.STORE, store.code), "k" * 32, member, store.registers[0], 500,
                      PaymentMethod.STORE_SCAN, card=card)
    staff = factories.account_of(AccountKind.STAFF, "staff1")
    today = dt.date.today()
    notices.publish_notice("お知らせ", "本文", NoticeAudience.MERCHANTS, today, today, staff)
    public_texts.save("faq", "en", "# FAQ", actor=staff, publish=False)
    db.session.commit()
    owner = _browser(app)
    assert login(owner, business.code, factories.PASSWORD, kind="business").status_code == 303

    rows = _csv(staff_client, "/counter/audit.csv")
    by_action = {}
    for row in rows:  # the newest row of each action (the staff's own login is older)
        by_action.setdefault(row["操作"], row)
    assert by_action["ログイン"]["操作者"] == f"事業者:{business.code}"
    assert by_action["ログイン"]["内容"] == "画面: 管理サイト" and by_action["ログイン"]["対象"] == "アカウント"
    assert by_action["決済"]["操作者"] == f"店舗:{store.code}" and by_action["決済"]["対象"] == "決済"
    assert "決済方法: ②会員QR・カード" in by_action["決済"]["内容"]
    assert "掲載先: 加盟店（管理サイト・加盟店アプリ）" in by_action["お知らせの掲載"]["内容"]
    assert by_action["お知らせの掲載"]["操作者"] == "ISECA窓口職員:staff1"
    assert by_action["公開ページの文章の保存"]["対象"] == "公開ページの文章"
    assert "言語: English" in by_action["公開ページの文章の保存"]["内容"]
    written = " ".join(" ".join(row.values()) for row in rows)
    for internal in ("business:", "store:", "staff:", "store_scan", "merchants", "publictext", "cms"):
        assert internal not in written
    # The business's own 操作履歴: the same words in its CSV as on its page.
    page_row = _login_row(owner.get("/cms/audit").get_data(as_text=True))
    own = {row["操作"]: row for row in _csv(owner, "/cms/audit.csv")}["ログイン"]
    assert f"<td>{own['操作者']}</td>" in page_row and f"<td>{own['内容']}</td>" in page_row


def test_a_public_text_row_names_the_page_as_the_console_does(app, staff_client):
    """A saved よくあるご質問 reads 「ページ: よくあるご質問」 in 監査ログ, not the page's key."""
    staff = factories.account_of(AccountKind.STAFF, "staff1")
    public_texts.save("faq", "ja", "# よくあるご質問", actor=staff, publish=False)
    db.session.commit()
    html = staff_client.get("/counter/audit", query_string={"action": "public_text_saved"}).get_data(as_text=True)
    assert "ページ: よくあるご質問" in html and "ページ: faq" not in html


def test_every_detail_the_product_records_has_its_words():
    """Each key of the details an audit row is written with (audit.record /
    audit.write with a dict, and the payment's audit_details) is worded in
    labels.AUDIT_DETAIL, so 監査ログ and 操作履歴 never show a key such as
    `old_token_sha256` to a person."""
    import ast
    from pathlib import Path

    from iseca.labels import AUDIT_DETAIL

    unworded = set()
    for path in (Path(__file__).resolve().parent.parent / "iseca").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("record", "write") and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "audit"):
                dicts = [argument for argument in node.args if isinstance(argument, ast.Dict)]
            elif isinstance(node, ast.FunctionDef) and node.name == "audit_details":
                dicts = [n.value for n in ast.walk(node) if isinstance(n, ast.Return) and isinstance(n.value, ast.Dict)]
            else:
                continue
            unworded |= {f"{path.name}:{key.value}" for d in dicts for key in d.keys
                         if isinstance(key, ast.Constant) and key.value not in AUDIT_DETAIL}
    assert unworded == set()


def test_every_action_and_target_the_product_records_has_its_words():
    """Each action an audit row is written with (audit.record / write /
    parameters), and each target kind named as text, is worded in labels.py:
    操作履歴, 監査ログ and their CSV files never show `settlement_transfers_done`."""
    import ast
    from pathlib import Path

    from iseca.labels import AUDIT_ACTION, AUDIT_TARGET

    unworded = set()
    for path in (Path(__file__).resolve().parent.parent / "iseca").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("record", "write", "parameters") and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "audit" and node.args):
                continue
            action = node.args[0]
            if isinstance(action, ast.Constant) and action.value not in AUDIT_ACTION:
                unworded.add(f"{path.name}: action {action.value}")
            if node.func.attr != "record" and len(node.args) > 1:
                target = node.args[1]
                if isinstance(target, ast.Constant) and target.value not in AUDIT_TARGET:
                    unworded.add(f"{path.name}: target {target.value}")
    assert unworded == set()
