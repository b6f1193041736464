"""今日の決済 on the terminal's HOME: today's payments, total and 取消 of
the store and of each register, refreshed by the poll of the live list,
with the way to the 日計 and to today's 店舗利用履歴."""
from __future__ import annotations

import re
from html import unescape

from iseca.timeutil import today_jst
from tests import factories
from tests.support.client import csrf_from
from tests.terminal.test_pay import charge, read_card, till  # noqa: F401  (till: the fixture)


def today_section(html: str) -> str:
    found = re.search(r'<section class="today-figures[^"]*" id="today-figures".*?</section>', html, re.S)
    assert found, "HOME shows no 今日の決済"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", unescape(found.group(0))))


def pay(client, amount: int, register) -> int:
    member, card = factories.make_card_member(10_000)
    params = read_card(client, card.number)
    params["register"] = str(register.id)
    response, _ = charge(client, params, str(amount))
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(re.search(r"/terminal/pay/done/(\d+)", response.headers["Location"]).group(1))


def cancel(client, payment_id: int) -> None:
    url = f"/terminal/history/{payment_id}/cancel"
    page = client.get(url).get_data(as_text=True)
    assert client.post(url, data={"csrf_token": csrf_from(page)}).status_code == 303


def test_home_shows_todays_payments_and_cancellations_per_register(till):  # noqa: F811
    front, back = till.store.registers
    home = today_section(till.get("/terminal/").get_data(as_text=True))
    assert "今日の決済" in home and "決済件数 0件" in home and "差引 0円" in home

    first = pay(till, 1_200, front)
    pay(till, 800, back)
    cancel(till, first)

    home = today_section(till.get("/terminal/").get_data(as_text=True))
    assert "決済件数 2件" in home
    assert "決済金額 2,000円" in home
    assert "取消 1件 （1,200円）" in home
    assert "差引 800円" in home
    # Per register: the store has two.
    assert f"{front.name} 1件 1,200円 1件 1,200円 0円" in home
    assert f"{back.name} 1件 800円 0件 0円 800円" in home


def test_the_live_lists_poll_refreshes_todays_figures(till):  # noqa: F811
    front = till.store.registers[0]
    home = till.get("/terminal/").get_data(as_text=True)
    poll = unescape(re.search(r'id="incoming-list" data-hx-get="([^"]+)"', home).group(1))
    assert "today=1" in poll
    first = till.get(poll, headers={"HX-Request": "true"})
    html = first.get_data(as_text=True)
    assert 'data-hx-swap-oob="true"' in html and "決済件数 0件" in today_section(html)
    following = unescape(re.search(r'id="incoming-list" data-hx-get="([^"]+)"', html).group(1))
    # Nothing new: 204, nothing swapped.
    assert till.get(following, headers={"HX-Request": "true"}).status_code == 204

    pay(till, 1_500, front)
    refreshed = till.get(following, headers={"HX-Request": "true"})
    assert refreshed.status_code == 200
    section = today_section(refreshed.get_data(as_text=True))
    assert "決済件数 1件" in section and "決済金額 1,500円" in section


def test_todays_figures_link_to_the_daily_totals_and_todays_history(till):  # noqa: F811
    day = today_jst().isoformat()
    html = unescape(till.get("/terminal/").get_data(as_text=True))
    assert f'href="/cms/usage/daily?date_from={day}&date_to={day}"' in html
    assert f'href="/terminal/history?date_from={day}&date_to={day}"' in html
    # The till's store account may open the 日計 (behind the management site's gate).
    daily = till.get(f"/cms/usage/daily?date_from={day}&date_to={day}")
    assert daily.status_code == 200 and "日計" in daily.get_data(as_text=True)


def test_a_store_with_one_register_shows_no_register_table(client):
    store = factories.make_store()
    from tests.support.client import login

    assert login(client, store.code, factories.PASSWORD, area="terminal", kind=None).status_code == 303
    html = client.get("/terminal/").get_data(as_text=True)
    assert "今日の決済" in html and "today-registers" not in html
