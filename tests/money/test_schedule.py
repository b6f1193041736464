"""振込スケジュール: the guide's table imports as is, its 和暦 texts come out
the same, and the suggestion rule is measured against it."""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from iseca import dates
from iseca.extensions import db
from iseca.models import SettlementPeriod
from iseca.money import schedule

GUIDE_TABLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "transfer-schedule.csv"


@pytest.fixture
def guide_rows():
    if not GUIDE_TABLE.exists():  # pragma: no cover - the table lives beside the repository
        pytest.skip(f"{GUIDE_TABLE} is not there")
    with GUIDE_TABLE.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_dates_read_as_the_guide_writes_them(guide_rows):
    for row in guide_rows:
        start, end = dt.date.fromisoformat(row["period_start"]), dt.date.fromisoformat(row["period_end"])
        transfer = dt.date.fromisoformat(row["transfer_date"]) if row["transfer_date"] else None
        assert dates.period_text((start, end)) == row["period_text"]
        assert dates.wareki(transfer) == row["transfer_text"]
    assert dates.wareki(dt.date(2019, 5, 1)) == "令和元年5月1日"
    assert dates.wareki(dt.date(2019, 4, 30)) == "平成31年4月30日"


def test_the_suggestion_rule_gives_the_guides_date_for_18_of_its_23_rows(guide_rows):
    dated = [r for r in guide_rows if r["transfer_date"]]
    hits = []
    for row in dated:
        period = SettlementPeriod(starts_on=dt.date.fromisoformat(row["period_start"]),
                                  ends_on=dt.date.fromisoformat(row["period_end"]))
        if schedule.suggest_transfer_date(period) == dt.date.fromisoformat(row["transfer_date"]):
            hits.append(row["period_start"])
    assert len(dated) == 23
    assert len(hits) == 18, hits
    # The holiday move the guide shows: Thursday 20 March 2025 is 春分の日.
    feb = SettlementPeriod(starts_on=dt.date(2025, 2, 16), ends_on=dt.date(2025, 2, 28))
    assert schedule.suggest_transfer_date(feb) == dt.date(2025, 3, 19)
    # Over the new year the banks close: Thursday 2 January 2025 moves to Monday 30 December.
    dec = SettlementPeriod(starts_on=dt.date(2024, 12, 1), ends_on=dt.date(2024, 12, 15))
    assert schedule.suggest_transfer_date(dec) == dt.date(2024, 12, 30)


def test_the_guides_table_imports_with_23_dates_and_2_undecided(app, runner, guide_rows):
    result = runner.invoke(args=["settlement", "import-schedule", str(GUIDE_TABLE)])
    assert result.exit_code == 0, result.output
    assert "Imported 25 periods (23 with a transfer date, 2 未定); 23 changed." in result.output
    periods = list(db.session.scalars(select(SettlementPeriod).order_by(SettlementPeriod.starts_on)))
    assert [(dates.period_text(p), dates.wareki(p.transfer_date)) for p in periods] == [
        (r["period_text"], r["transfer_text"]) for r in guide_rows
    ]
    again = runner.invoke(args=["settlement", "import-schedule", str(GUIDE_TABLE)])
    assert "25 periods" in again.output and "0 changed" in again.output


def test_a_schedule_with_one_bad_line_changes_nothing_and_names_the_line(app):
    text = (
        "period_start,period_end,transfer_date,period_text,transfer_text\n"
        "2024-04-01,2024-04-15,2024-05-09,令和6年4月1日から15日まで,令和6年5月9日\n"
        "2024-04-16,2024-04-31,2024-05-16,,\n"
        "2024-05-01,2024-05-14,2024-05-30,,\n"
        "2024-05-16,2024-05-31,2024-06-20,令和6年5月16日から31日まで,令和6年6月21日\n"
    )
    parsed = schedule.parse_schedule_csv(text)
    assert parsed.errors == [
        "3行目: 期間の日付は 2025-03-16 の形で書いてください。",
        "4行目: 2024-05-01〜2024-05-14 は精算期間（1日〜15日、16日〜末日）ではありません。",
        "5行目: 振込予定日の和暦「令和6年6月21日」が日付（令和6年6月20日）と合いません。",
    ]
    with pytest.raises(schedule.ScheduleError):
        schedule.import_schedule(parsed)
    db.session.rollback()
    assert db.session.scalar(select(SettlementPeriod.id)) is None
