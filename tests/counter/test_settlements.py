"""ISECA窓口 > 精算: import the schedule, set or suggest a 振込予定日, close a
period after a confirmation, make the transfer file, mark transfers done or
failed; only staff reach any of it."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from iseca.dates import wareki
from iseca.extensions import db
from iseca.models import OutboxMessage, Settlement, SettlementPeriod, SettlementStatus, utcnow
from iseca.timeutil import JST, jst_date
from tests import factories
from tests.support.client import csrf_from, login, post_form

GUIDE_TABLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "transfer-schedule.csv"


@pytest.fixture
def staff_client(client):
    factories.make_staff()
    assert login(client, "staff1", factories.PASSWORD, area="counter", kind=None).status_code == 303
    return client


@pytest.fixture
def ended(app):
    """A period of February 2025 with two businesses' payments, ended long ago."""
    good = factories.make_business(name="ひまわり商店", email="himawari@example.jp", bank_code="0001",
                                   branch_code="001", account_number="1234567", account_holder_kana="ﾋﾏﾜﾘ")
    broken = factories.make_business(name="口座未登録の店", email="broken@example.jp")
    member, _ = factories.make_card_member(100_000)
    for b, amount in ((good, 4_000), (broken, 600)):
        store = factories.make_store(b)
        factories.make_payment_at(store.registers[0], member, amount, dt.datetime(2025, 2, 20, 10, tzinfo=JST))
    return db.session.scalar(select(SettlementPeriod).where(SettlementPeriod.starts_on == dt.date(2025, 2, 16)))


def _text(resp) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)))


def _upload(client, data: bytes, name: str = "schedule.csv"):
    import io

    page = client.get("/counter/settlements")
    return client.post("/counter/settlements", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                                     "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_importing_the_guides_table_shows_its_23_dates_and_2_undecided(staff_client):
    if not GUIDE_TABLE.exists():  # pragma: no cover
        pytest.skip("the guide's table is not beside the repository")
    resp = _upload(staff_client, GUIDE_TABLE.read_bytes())
    assert resp.status_code == 303
    page = staff_client.get("/counter/settlements")
    text = _text(page)
    assert "振込スケジュールを取り込みました（25期間: 振込予定日あり23件・未定2件、変更23件）" in text
    # All 25 periods have ended with nothing in them: listed behind the toggle of empty periods.
    assert "取引のない終了済みの期間（25期間）" in text
    table = page.get_data(as_text=True).split('id="empty-periods"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>.*?</tr>", table, re.S)
    assert len(rows) == 25
    assert sum("未定" in r for r in rows) == 2
    assert "令和7年2月16日から28日まで" in table and "令和7年3月19日" in table and "令和6年4月15日" in table


def test_a_schedule_with_an_error_imports_nothing_and_says_which_line(staff_client):
    resp = _upload(staff_client, b"2024-04-01,2024-04-15,2024-05-09\n2024-04-16,2024-04-30,2024-04-20\n")
    assert resp.status_code == 422
    assert "2行目: 振込予定日（2024-04-20）が期間の終了日より前です。" in _text(resp)
    assert db.session.scalar(select(func.count()).select_from(SettlementPeriod)) == 0


def test_the_transfer_date_is_suggested_edited_and_checked(staff_client, ended):
    url = f"/counter/settlements/{ended.id}"
    page = staff_client.get(url + "?suggest=1").get_data(as_text=True)
    assert 'value="2025-03-19"' in page  # Thursday 20 March 2025 is 春分の日: the day before
    resp = post_form(staff_client, url, {"transfer_date": "2025-02-27"})
    assert resp.status_code == 422 and "振込予定日は期間の終了日より後の日付にしてください。" in _text(resp)
    assert 'value="2025-02-27"' in resp.get_data(as_text=True)  # what was typed stays
    assert post_form(staff_client, url, {"transfer_date": "2025-03-19"}).status_code == 303
    assert db.session.get(SettlementPeriod, ended.id).transfer_date == dt.date(2025, 3, 19)


def test_close_export_and_mark_done_from_the_console(staff_client, ended):
    url = f"/counter/settlements/{ended.id}"
    assert "この期間を締めます" in _text(staff_client.get(url + "/close"))
    resp = post_form(staff_client, url + "/close", {})
    assert resp.status_code == 303
    assert "2事業者、振込合計4,600円" in _text(staff_client.get(url))
    again = post_form(staff_client, url + "/close", {}, page_url=url)
    assert again.status_code == 303 and "すでに締められています" in _text(staff_client.get(url))
    assert db.session.scalar(select(func.count()).select_from(Settlement)) == 2

    post_form(staff_client, url, {"transfer_date": "2025-03-19"})
    assert post_form(staff_client, url + "/transfer-file", {}, page_url=url).status_code == 303
    page = _text(staff_client.get(url))
    assert "口座情報に不備のある1事業者は除外し、次回に繰り越しました" in page
    assert "口座未登録の店（" in page and "金融機関コード（4桁）を入力してください。" in page
    zengin = staff_client.get(url + "/zengin.txt")
    assert zengin.status_code == 200 and len(zengin.data) == 4 * 122
    assert "ﾋﾏﾜﾘ" in staff_client.get(url + "/transfers.csv").data.decode("cp932")

    assert "振込データのうち振込済になっていない1件（合計4,000円）" in _text(staff_client.get(url + "/done"))
    today = jst_date(utcnow())
    assert post_form(staff_client, url + "/done", {"transferred_on": today.isoformat()}).status_code == 303
    page = staff_client.get(url)
    assert f"1件を振込済（振込日 {wareki(today, 'ja')}）にし、振込完了通知を送りました。" in _text(page)
    assert "振込完了にする" not in _text(page) and "振込データの振込はすべて振込済です。" in _text(page)
    subjects = dict(db.session.execute(select(OutboxMessage.recipient, OutboxMessage.subject)).all())
    assert subjects == {"himawari@example.jp": "【ISECA】振込完了通知",
                        "broken@example.jp": "【ISECA】精算金をお振込みできませんでした（振込先口座のご確認のお願い）"}


def test_a_transfer_marked_failed_needs_a_reason(staff_client, ended):
    from iseca.money import settlement

    settlement.close_period(ended, at=dt.datetime(2025, 3, 1, 1, tzinfo=JST))
    db.session.commit()
    row = db.session.scalar(select(Settlement).where(Settlement.amount == 4_000))
    url = f"/counter/settlements/transfers/{row.id}/failed"
    resp = post_form(staff_client, url, {"reason": ""})
    assert resp.status_code == 422 and "振込不能の理由を入力してください" in _text(resp)
    assert post_form(staff_client, url, {"reason": "口座解約済み"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Settlement, row.id).status == SettlementStatus.FAILED


@pytest.mark.parametrize("path", ["/counter/settlements", "/counter/settlements/{p}", "/counter/settlements/{p}/close",
                                  "/counter/settlements/{p}/zengin.txt", "/counter/settlements/{p}/done"])
def test_merchants_cannot_reach_the_console(client, ended, path):
    store = factories.make_store()
    login(client, store.code, factories.PASSWORD)
    resp = client.get(path.format(p=ended.id))
    assert resp.status_code in (302, 303, 404) and "振込" not in resp.get_data(as_text=True)


def test_an_english_speaking_clerk_reads_the_schedules_errors_in_english(staff_client):
    staff_client.set_cookie("lang", "en")
    resp = _upload(staff_client, b"2024-04-01,2024-04-15,2024-05-09\n2024-04-16,2024-04-30,2024-04-20\n")
    assert resp.status_code == 422
    assert "Line 2: the scheduled transfer date (2024-04-20) is not after the last day of the period." in _text(resp)
    assert "行目" not in _text(resp)


def test_an_english_speaking_clerk_reads_why_a_period_cannot_be_closed_in_english(staff_client, ended):
    store = factories.make_store()
    member, _ = factories.make_card_member(10_000)
    factories.make_payment_at(store.registers[0], member, 500, dt.datetime(2025, 3, 3, 10, tzinfo=JST))
    march = db.session.scalar(select(SettlementPeriod).where(SettlementPeriod.starts_on == dt.date(2025, 3, 1)))
    db.session.commit()
    staff_client.set_cookie("lang", "en")
    url = f"/counter/settlements/{march.id}/close"
    resp = post_form(staff_client, url, {})
    assert resp.status_code == 422
    assert "An earlier period (Feb 16 – 28, 2025) has payments and is not closed yet. Close that period first." in _text(resp)
    assert "前の期間" not in _text(resp)
    assert db.session.get(SettlementPeriod, march.id).status == "open"


def _field_errors(resp, field: str) -> str:
    """The messages shown right under a form field."""
    html = resp.get_data(as_text=True)
    found = re.search(rf'<ul class="errors" id="{field}-error">(.*?)</ul>', html, re.S)
    return _text_of(found.group(1)) if found else ""


def _text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_transfers_done_on_the_day_the_bank_paid_which_the_mail_states(staff_client, ended, smtp):
    """振込完了 early (the 振込予定日 still ahead): the clerk states the day the
    bank paid; a day in the future or before the file was made is refused
    next to the field; the 振込完了通知 states the day given."""
    from iseca.money import schedule, settlement, zengin

    today = jst_date(utcnow())
    settlement.close_period(ended, at=dt.datetime(2025, 3, 1, 1, tzinfo=JST))
    schedule.set_transfer_date(ended, today + dt.timedelta(days=9))  # scheduled 9 days from now
    zengin.prepare_transfers(ended, at=utcnow() - dt.timedelta(days=2))  # the file made two days ago
    db.session.commit()
    made, yesterday = today - dt.timedelta(days=2), today - dt.timedelta(days=1)
    url = f"/counter/settlements/{ended.id}"

    page = staff_client.get(url + "/done")
    html = page.get_data(as_text=True)
    assert f'value="{today.isoformat()}"' in html  # default: today
    assert f'min="{made.isoformat()}"' in html and f'max="{today.isoformat()}"' in html
    assert f"振込予定日（{wareki(today + dt.timedelta(days=9), 'ja')}）はまだ先です。" in _text(page)

    def refused(day: str, message: str) -> None:
        resp = post_form(staff_client, url + "/done", {"transferred_on": day})
        assert resp.status_code == 422
        assert message in _field_errors(resp, "transferred_on"), _field_errors(resp, "transferred_on")
        if day.strip():  # what was typed stays (blanks come back as an empty field)
            assert f'value="{day}"' in resp.get_data(as_text=True)
        db.session.expire_all()
        assert db.session.scalar(select(Settlement.status).where(Settlement.amount == 4_000)) == SettlementStatus.SCHEDULED
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.subject == "【ISECA】振込完了通知")) == 0

    refused((today + dt.timedelta(days=1)).isoformat(), "振込日に未来の日付")
    refused((made - dt.timedelta(days=1)).isoformat(), f"振込データを作成した日（{wareki(made, 'ja')}）より前にはできません")
    refused("", "振込日を入力してください。")
    refused("  ", "振込日を入力してください。")
    refused("2026-02-30", "日付")
    assert smtp.messages == []

    resp = post_form(staff_client, url + "/done", {"transferred_on": yesterday.isoformat()})
    assert resp.status_code == 303
    [mail] = smtp.wait_for_subject("【ISECA】振込完了通知")
    body = smtp.body(mail)
    assert mail["To"] == "himawari@example.jp"
    assert f"振込日　　　：{wareki(yesterday, 'ja')}（{yesterday.isoformat()}）" in body
    assert wareki(today + dt.timedelta(days=9), "ja") not in body
    row = db.session.scalar(select(Settlement).where(Settlement.amount == 4_000))
    assert row.status == SettlementStatus.TRANSFERRED and row.transferred_at.astimezone(JST).date() == yesterday

    # Every transfer of the period is done: no button, and the confirmation offers nothing.
    page = _text(staff_client.get(url))
    assert "振込完了にする" not in page and "振込データの振込はすべて振込済です。" in page
    again = staff_client.get(url + "/done")
    assert "この期間に振込済にする振込はありません" in _text(again) and "振込済にする</button>" not in again.get_data(as_text=True)
    assert post_form(staff_client, url + "/done", {"transferred_on": today.isoformat()}, page_url=url).status_code == 200
    assert len(smtp.messages) == 1


def test_the_console_says_why_no_transfer_file_is_made_with_placeholder_settings(staff_client, ended, app):
    from iseca.money import settlement

    settlement.close_period(ended, at=dt.datetime(2025, 3, 1, 1, tzinfo=JST))
    ended.transfer_date = dt.date(2025, 3, 19)
    db.session.commit()
    url = f"/counter/settlements/{ended.id}"
    # Development: the file is made, with a warning that no bank takes it.
    page = staff_client.get(url).get_data(as_text=True)
    assert "開発用の設定で作成します。この振込データは銀行に提出できません。" in page and "振込データを作成する" in page

    app.config["PRODUCTION"] = True
    page = staff_client.get(url)
    notice = _text_of(page.get_data(as_text=True).split('id="transfer-file-setup"', 1)[1].split("</div>", 1)[0])
    assert "振込データは作れません。" in notice and "委託者コード（ISECA_ZENGIN_REQUESTER_CODE）" in notice
    assert "市の口座" in notice and "振込データを作成する" not in _text(page)
    assert "委託者コード（ISECA_ZENGIN_REQUESTER_CODE）" in _text(staff_client.get("/counter/settlements"))
    resp = post_form(staff_client, url + "/transfer-file", {}, page_url=url)
    assert resp.status_code == 303
    assert "振込データは作れません。" in _text(staff_client.get(url))
    assert db.session.scalar(select(func.count()).select_from(Settlement).where(Settlement.bank_snapshot.is_not(None))) == 0

    app.config.update(ZENGIN_REQUESTER_CODE="1234567890", ZENGIN_ACCOUNT_NUMBER="7654321")
    page = _text(staff_client.get(url))
    assert "振込データは作れません" not in page and "開発用の設定" not in page and "振込データを作成する" in page


def test_closing_offers_only_the_period_that_can_close_says_what_it_closes_and_takes_the_empty_ones_with_it(
        staff_client, ended):
    """The schedule's past periods hold nothing: they are kept out of the way, and closing the first
    period with payments closes them with it, as its confirmation says beforehand."""
    resp = _upload(staff_client, b"2024-04-01,2024-04-15,2024-05-09\n2024-04-16,2024-04-30,2024-05-16\n"
                                 b"2024-05-01,2024-05-15,2024-05-30\n")
    assert resp.status_code == 303
    store = factories.make_store()
    member, _ = factories.make_card_member(10_000)
    factories.make_payment_at(store.registers[0], member, 500, dt.datetime(2025, 3, 3, 10, tzinfo=JST))
    march = db.session.scalar(select(SettlementPeriod).where(SettlementPeriod.starts_on == dt.date(2025, 3, 1)))
    db.session.commit()

    html = staff_client.get("/counter/settlements").get_data(as_text=True)
    main, empty = html.split('id="empty-periods"')
    close_links = re.findall(r'href="/counter/settlements/(\d+)/close"', html)
    assert close_links == [str(ended.id)]  # not March: February, with payments, comes first
    assert "令和7年2月16日から28日まで" in main and "令和7年3月1日から15日まで" in main
    assert "令和6年4月1日から15日まで" not in main and "令和6年4月1日から15日まで" in empty
    assert "取引のない終了済みの期間（3期間）" in empty
    # March's own page offers no 締める, and its confirmation says why before anything is asked.
    march_page = staff_client.get(f"/counter/settlements/{march.id}").get_data(as_text=True)
    assert f"/counter/settlements/{march.id}/close" not in march_page
    assert "前の期間（令和7年2月16日から28日まで）に決済があり" in march_page
    refused = _text(staff_client.get(f"/counter/settlements/{march.id}/close"))
    assert "前の期間（令和7年2月16日から28日まで）に決済があり" in refused and "締める内容" not in refused

    confirmation = _text(staff_client.get(f"/counter/settlements/{ended.id}/close"))
    assert "決済 2件・4,600円" in confirmation and "事業者 2事業者" in confirmation
    assert "取引のない前の3期間（令和6年4月1日から15日まで〜令和6年5月1日から15日まで）" in confirmation
    assert "4期間を締める" in confirmation
    resp = post_form(staff_client, f"/counter/settlements/{ended.id}/close", {})
    assert resp.status_code == 303
    assert "取引のない前の3期間もあわせて締めました" in _text(staff_client.get(resp.headers["Location"]))
    db.session.expire_all()
    statuses = dict(db.session.execute(select(SettlementPeriod.starts_on, SettlementPeriod.status)).all())
    assert statuses[dt.date(2024, 4, 1)] == statuses[dt.date(2024, 5, 1)] == statuses[dt.date(2025, 2, 16)] == "closed"
    assert statuses[dt.date(2025, 3, 1)] == "open"
    assert db.session.scalar(select(func.count()).select_from(Settlement)) == 2  # February's two, none for the empty ones
    # Now March is the one to close.
    html = staff_client.get("/counter/settlements").get_data(as_text=True)
    assert re.findall(r'href="/counter/settlements/(\d+)/close"', html) == [str(march.id)]


def test_close_all_says_which_periods_hold_what_before_closing(staff_client, ended):
    _upload(staff_client, b"2024-04-01,2024-04-15,2024-05-09\n2024-04-16,2024-04-30,2024-05-16\n")
    page = _text(staff_client.get("/counter/settlements/close"))
    assert "次の3期間を古い順に締めます" in page
    assert "令和7年2月16日から28日まで 2件 4,600円 2" in page
    assert "取引のない期間：2期間（令和6年4月1日から15日まで〜令和6年4月16日から30日まで）" in page
