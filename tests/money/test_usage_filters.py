"""利用状況一覧: every filter and combination returns exactly the rows a
plain Python computation over the generated payments says, and the totals
agree with them."""
from __future__ import annotations

import datetime as dt
import random

import pytest

from iseca.models import PaymentMethod, PaymentStatus
from iseca.money import usage
from iseca.money.usage import UsageFilter
from tests import usage_data


@pytest.fixture
def data(app):
    return usage_data.build()


def _check(data, **conditions):
    f = UsageFilter(**conditions)
    expected = data.expected(**conditions)
    got = usage.page_of(f, page=1, per_page=10_000)
    assert [r.id for r in got.rows] == [r.id for r in expected], conditions
    totals = got.totals
    assert totals.count == len(expected)
    assert totals.payments_sum == sum(r.amount for r in expected)
    assert totals.cancelled_count == sum(1 for r in expected if r.status == PaymentStatus.CANCELLED)
    assert totals.cancelled_sum == sum(r.amount for r in expected if r.status == PaymentStatus.CANCELLED)
    assert totals.net == sum(r.amount for r in expected if r.status == PaymentStatus.COMPLETED)
    return expected


def test_each_filter_alone_returns_exactly_the_matching_payments(data):
    business = data.business.id
    store_a, store_b = data.stores
    day = usage_data.FIRST_DAY + dt.timedelta(days=3)
    member = data.members[1].code
    single = [
        {},
        {"store_id": store_b.id},
        {"date_from": day},
        {"date_to": day},
        {"date_from": day, "date_to": day},
        {"register_id": store_a.registers[1].id},
        {"member_code": member},
        {"amount_min": 1000},
        {"amount_max": 500},
        {"amount_min": 1000, "amount_max": 1000},
        {"status": PaymentStatus.COMPLETED},
        {"status": PaymentStatus.CANCELLED},
        {"method": PaymentMethod.CUSTOMER_SCAN},
        {"method": PaymentMethod.STORE_SCAN},
    ]
    for conditions in single:
        rows = _check(data, business_id=business, **conditions)
        assert all(r.business_id == business for r in rows)
    assert _check(data, business_id=business)  # the business sees both its stores…
    assert {r.store_id for r in _check(data, business_id=business)} == {store_a.id, store_b.id}
    # …and a store only itself, whatever it asks for.
    assert {r.store_id for r in _check(data, own_store_id=store_a.id)} == {store_a.id}
    assert _check(data, own_store_id=store_a.id, store_id=store_b.id) == []
    assert _check(data, own_store_id=store_a.id, register_id=data.other_store.registers[0].id) == []


def test_random_combinations_of_filters_return_exactly_the_matching_payments(data):
    rng = random.Random(2026)
    store_a, store_b = data.stores
    choices = {
        "store_id": [store_a.id, store_b.id],
        "date_from": [usage_data.FIRST_DAY + dt.timedelta(days=d) for d in range(usage_data.DAYS)],
        "date_to": [usage_data.FIRST_DAY + dt.timedelta(days=d) for d in range(usage_data.DAYS)],
        "register_id": [r.id for r in data.registers],
        "member_code": [m.code for m in data.members] + ["0000000000"],
        "amount_min": [100, 500, 1000, 2000],
        "amount_max": [330, 1000, 5000],
        "status": list(PaymentStatus),
        "method": list(PaymentMethod),
    }
    nonempty = 0
    for _ in range(60):
        keys = rng.sample(sorted(choices), rng.randint(2, 4))
        conditions = {k: rng.choice(choices[k]) for k in keys}
        scope = rng.choice([{"business_id": data.business.id}, {"own_store_id": store_a.id}])
        nonempty += bool(_check(data, **scope, **conditions))
    assert nonempty > 10  # the combinations were not all trivially empty


def test_faq7_search_by_day_amount_and_member_finds_the_payment(data):
    target = next(r for r in data.refs if r.store_id == data.stores[0].id and r.status == PaymentStatus.COMPLETED)
    rows = _check(data, own_store_id=target.store_id, date_from=target.day, date_to=target.day,
                  amount_min=target.amount, amount_max=target.amount, member_code=target.member_code)
    assert target.id in [r.id for r in rows]


def test_day_boundaries_follow_japan_time(data):
    # A payment at 00:00 JST belongs to that day, one at 23:59:59 JST to its own.
    for ref in data.refs:
        local = ref.created_at.astimezone(usage_data.JST)
        if local.time() in (dt.time(0, 0), dt.time(23, 59, 59)):
            rows = usage.page_of(UsageFilter(own_store_id=ref.store_id, date_from=ref.day, date_to=ref.day),
                                 per_page=10_000).rows
            assert ref.id in [r.id for r in rows]
            other_day = ref.day + dt.timedelta(days=1 if local.hour == 0 else -1)
            rows = usage.page_of(UsageFilter(own_store_id=ref.store_id, date_from=other_day, date_to=other_day),
                                 per_page=10_000).rows
            assert ref.id not in [r.id for r in rows]


def test_pages_cover_every_row_once_newest_first(data):
    f = UsageFilter(business_id=data.business.id)
    expected = [r.id for r in data.expected(business_id=data.business.id)]
    seen = []
    first = usage.page_of(f, page=1, per_page=25)
    for n in range(1, first.pages + 1):
        seen += [r.id for r in usage.page_of(f, page=n, per_page=25).rows]
    assert seen == expected
    # A page past the end shows the last page, not an empty list.
    assert usage.page_of(f, page=999, per_page=25).page == first.pages


def test_more_rows_after_a_cursor_continue_without_gaps(data):
    f = UsageFilter(own_store_id=data.stores[0].id)
    expected = [r.id for r in data.expected(own_store_id=data.stores[0].id)]
    seen, cursor = [], None
    while True:
        rows = usage.rows_before(f, cursor, 7)
        if not rows:
            break
        seen += [r.id for r in rows]
        cursor = (rows[-1].created_at, rows[-1].id)
    assert seen == expected


def test_daily_totals_count_payments_by_their_day_and_cancellations_by_the_day_they_were_made(data):
    store = data.stores[0]
    first, last = usage_data.FIRST_DAY, usage_data.FIRST_DAY + dt.timedelta(days=usage_data.DAYS)
    report = usage.daily_totals(UsageFilter(own_store_id=store.id, date_from=first, date_to=last))
    expected: dict[tuple, list[int]] = {}
    for r in data.refs:
        if r.store_id != store.id:
            continue
        line = expected.setdefault((r.day, r.register_id), [0, 0, 0, 0])
        line[0] += 1
        line[1] += r.amount
        if r.cancelled_at is not None:
            cday = r.cancelled_at.astimezone(usage_data.JST).date()
            if cday <= last:
                cline = expected.setdefault((cday, r.register_id), [0, 0, 0, 0])
                cline[2] += 1
                cline[3] += r.amount
    got = {(line.day, line.register_id): [line.payment_count, line.payment_sum, line.cancel_count, line.cancel_sum] for line in report.lines}
    assert got == expected
    assert report.totals.payment_sum == sum(v[1] for v in expected.values())
    assert report.totals.cancel_sum == sum(v[3] for v in expected.values())
    for day, total in report.days:
        assert total.payment_count == sum(v[0] for k, v in expected.items() if k[0] == day)


def test_daily_totals_page_by_days_and_keep_the_whole_periods_total(data):
    f = UsageFilter(own_store_id=data.stores[0].id)
    whole = usage.daily_totals(f)
    days = [day for day, _ in whole.days]
    assert len(days) > 7
    first = usage.daily_totals(f, page=1, days_per_page=3)
    assert (first.page, first.pages, first.day_count) == (1, -(-len(days) // 3), len(days))
    seen = []
    for n in range(1, first.pages + 1):
        report = usage.daily_totals(f, page=n, days_per_page=3)
        assert [day for day, _ in report.days] == days[(n - 1) * 3:n * 3]  # newest first, three days a page
        assert report.totals == whole.totals  # the period's total, not the page's
        seen += [(line.day, line.register_id, line.payment_count, line.payment_sum, line.cancel_count, line.cancel_sum)
                 for line in report.lines]
    assert seen == [(line.day, line.register_id, line.payment_count, line.payment_sum, line.cancel_count, line.cancel_sum)
                    for line in whole.lines]
    # A page past the end shows the last one.
    assert usage.daily_totals(f, page=999, days_per_page=3).days == report.days


def test_presets_name_today_yesterday_week_month_and_previous_settlement_period():
    presets = {label: (a, b) for label, a, b in usage.presets(dt.date(2026, 11, 26))}  # a Thursday
    assert presets["今日"] == (dt.date(2026, 11, 26), dt.date(2026, 11, 26))
    assert presets["昨日"] == (dt.date(2026, 11, 25), dt.date(2026, 11, 25))
    assert presets["今週"] == (dt.date(2026, 11, 23), dt.date(2026, 11, 29))
    assert presets["今月"] == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert presets["前回の精算期間"] == (dt.date(2026, 11, 1), dt.date(2026, 11, 15))
    early = {label: (a, b) for label, a, b in usage.presets(dt.date(2026, 3, 3))}
    assert early["前回の精算期間"] == (dt.date(2026, 2, 16), dt.date(2026, 2, 28))
