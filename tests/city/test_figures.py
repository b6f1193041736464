"""The city's figures agree with an independent count of generated data:
issued = used + outstanding, and per day, 業種 and 地区 the sums of the
payments made."""
from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict

from iseca.city import figures
from iseca.extensions import db
from iseca.models import AccountKind, utcnow
from iseca.money import cancellation, ledger
from iseca.timeutil import jst_date, today_jst
from tests import factories


def test_figures_equal_an_independent_count_of_generated_data(app, client):
    rng = random.Random(11)
    spring, autumn = factories.make_campaign(name="春", ends_on=dt.date(2099, 3, 31)), factories.make_campaign(name="秋")
    stores = [factories.make_store(category=rng.choice(["飲食", "小売", "食料品"]), area=rng.choice(["伊勢崎地区", "境地区"]))
              for _ in range(5)]
    members = []
    issued = 0
    for i in range(8):
        amount = rng.randrange(3_000, 9_000)
        member, _ = factories.make_card_member(amount, spring if i % 2 else autumn)
        members.append(member)
        issued += amount
    payments_made = []
    now = utcnow()
    for _ in range(40):
        member, store = rng.choice(members), rng.choice(stores)
        at = now - dt.timedelta(days=rng.randrange(0, 10), hours=rng.randrange(0, 20))
        try:
            payments_made.append(factories.make_payment_at(store.registers[0], member, rng.randrange(100, 900), at))
        except ledger.InsufficientBalance:  # not enough points left: the generator moves on
            db.session.rollback()
    cancelled = payments_made[::7]
    for payment in cancelled:
        cancellation.cancel_payment(payment, actor=factories.account_of(AccountKind.STORE, payment.store.code))
    db.session.commit()

    first, last = today_jst() - dt.timedelta(days=12), today_jst()
    f = figures.city_figures(first, last)
    paid = sum(p.amount for p in payments_made)
    returned = sum(p.amount for p in cancelled)
    assert (f.issued, f.paid, f.cancelled) == (issued, paid, returned)
    assert f.issued == f.used + f.outstanding_total
    assert {name for name, _, _ in f.outstanding} == {"春", "秋"}

    per_day: dict[dt.date, list] = defaultdict(lambda: [0, 0, set()])
    for p in payments_made:
        line = per_day[jst_date(p.created_at)]
        line[0] += 1
        line[1] += p.amount
        line[2].add(p.member_id)
    assert [line for line in f.daily if line[1]] == [(d, n, yen, len(who)) for d, (n, yen, who) in sorted(per_day.items())]
    assert len(f.daily) == (last - first).days + 1  # every day of the range, zeros included

    kept = [p for p in payments_made if p not in cancelled]
    for attr, key in (("by_category", "category"), ("by_area", "area")):
        expected = Counter()
        for p in kept:
            expected[getattr(p.store, key)] += p.amount
        got = {name: yen for name, _, yen in getattr(f, attr)}
        assert {name: yen for name, yen in got.items() if yen} == dict(expected)
    by_store = Counter()
    for p in kept:
        by_store[p.store.code] += p.amount
    assert [(code, yen) for code, _, _, yen in f.top_stores][:3] == sorted(by_store.items(), key=lambda kv: (-kv[1], kv[0]))[:3]


def test_the_console_home_shows_each_chart_with_its_numbers_and_csv(app, staff_client):
    store = factories.make_store(category="飲食", area="境地区", name="境の食堂")
    member, _ = factories.make_card_member(5_000)
    factories.make_payment_at(store.registers[0], member, 1_234, utcnow())
    html = staff_client.get("/counter/").get_data(as_text=True)
    assert "今日の対応" in html and "審査待ちの申込" in html
    assert '<svg class="chart" id="chart-area" role="img"' in html and "<title id=\"chart-area-title\">" in html
    assert "境地区: 1,234円" in html  # the value in the chart's description, readable without colour
    assert "境の食堂" in html
    csv = staff_client.get("/counter/figures.csv", query_string={"chart": "area"}).get_data().decode("cp932")
    assert "境地区,1,1234" in csv
    bad = staff_client.get("/counter/", query_string={"date_from": "2026-02-30"}).get_data(as_text=True)
    assert 'value="2026-02-30"' in bad and "日付" in bad
