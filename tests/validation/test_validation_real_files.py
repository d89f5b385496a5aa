"""validate() on real sample files: weekends and holidays are not gaps under the right calendar.

backtrader's index files (2006-day-001.txt ...) are a euro-area index (Euro Stoxx 50 levels):
their trading days are exactly the TARGET/Eurex days, which XETR, XPAR, XAMS, XBRU and XLIS
all follow (checked against every date of 2005-2006). The 5-minute file holds 102 bars a day
labelled 09:05 to 17:30 local time: bars opening 09:00 to 17:25, i.e. the 09:00-17:30 Xetra
session. The Yahoo files (yhoo, orcl, nvda) are US stocks on XNYS.
"""

from __future__ import annotations

import pandas as pd
import pytest
from valhelpers import read_daily, read_intraday

from tradedata.validation import Gap, QualityReport, repair, validate

INDEX_DAILY = ["2006-day-001.txt", "2005-2006-day-001.txt", "2006-volume-day-001.txt"]
EURO_CALENDARS = ["XETR", "XPAR", "XAMS", "XBRU", "XLIS"]
YAHOO = [
    "yhoo-2014.txt",
    "orcl-2014.txt",
    "nvda-2014.txt",
    "yhoo-2003-2005.txt",
    "orcl-2003-2005.txt",
    "nvda-1999-2014.txt",
    "orcl-1995-2014.txt",
    "yhoo-1996-2015.txt",
]


def _no_calendar_problems(report: QualityReport) -> bool:
    checks = report.checks
    return checks["missing_bars"] == 0 and checks["off_calendar"] == 0


@pytest.mark.parametrize("name", INDEX_DAILY)
@pytest.mark.parametrize("calendar", EURO_CALENDARS)
def test_index_daily_files_follow_euro_calendars(name: str, calendar: str) -> None:
    report = validate(read_daily(name), "1d", calendar)

    assert _no_calendar_problems(report), report.validation_errors
    assert report.score == 1.0


def test_index_daily_file_is_not_on_the_nyse_calendar() -> None:
    report = validate(read_daily("2006-day-001.txt"), "1d", "XNYS")

    missing = [g.start.strftime("%m-%d") for g in report.gaps]
    assert missing == ["04-17", "05-01", "12-26"]  # Easter Monday, May Day, St Stephen's
    assert report.checks["off_calendar"] == 7  # US holidays the index traded on
    assert report.score < 1.0


def test_index_daily_file_on_weekdays_only_misses_holidays() -> None:
    report = validate(read_daily("2006-day-001.txt"), "1d", "24/5")

    days = [d for g in report.gaps for d in pd.date_range(g.start, g.end, freq="B")]
    assert [d.strftime("%m-%d") for d in days] == ["04-14", "04-17", "05-01", "12-25", "12-26"]
    assert report.checks["gaps"] == 3  # Easter (Friday + Monday) and Christmas are one run each


def test_index_daily_file_with_its_symbol_needs_no_calendar() -> None:
    frame = read_daily("2006-day-001.txt")
    frame.attrs["symbol"] = "^STOXX50E"

    report = validate(frame, "1d")

    assert report.calendar == "XETR" and report.score == 1.0


def test_index_file_has_no_volume_data() -> None:
    report = validate(read_daily("2006-day-001.txt"), "1d", "XETR")

    assert report.checks["zero_volume"] == 0
    assert any("volume is 0 throughout" in note for note in report.notes)


def test_removing_a_session_from_a_real_file_is_one_gap() -> None:
    frame = read_daily("2006-day-001.txt")
    day = pd.Timestamp("2006-06-14", tz="UTC")

    report = validate(frame.drop(day), "1d", "XETR")

    assert report.gaps == [Gap(day, day, 1)]


@pytest.mark.parametrize(
    ("name", "timeframe"), [("2006-week-001.txt", "1w"), ("2006-month-001.txt", "1M")]
)
def test_index_weekly_and_monthly_files(name: str, timeframe: str) -> None:
    frame = read_daily(name)  # labelled by the period's last trading day

    report = validate(frame, timeframe, "XETR")

    assert _no_calendar_problems(report) and report.expected_bars == len(frame)


def test_sparse_weekly_file_has_gaps() -> None:
    report = validate(read_daily("2006-week-002.txt"), "1w", "XETR")  # every other week

    assert report.checks["missing_bars"] == 25 and report.checks["gaps"] == 25


def test_five_minute_file_sessions_are_xetra_hours() -> None:
    frame = read_intraday("2006-min-005.txt", 5, "Europe/Berlin")
    local = frame.index.tz_convert("Europe/Berlin")
    per_day = pd.Series(local.time, index=local.date).groupby(level=0)

    assert (per_day.min() == pd.Timestamp("09:00").time()).all()
    assert (per_day.max() == pd.Timestamp("17:25").time()).all()
    assert (per_day.size() == 102).all()

    report = validate(frame, "5m", "XETR")

    assert _no_calendar_problems(report) and report.expected_bars == len(frame) == 21 * 102
    assert report.checks["outliers"] == 0  # overnight moves are scored among themselves
    assert report.score == 1.0


def test_five_minute_file_on_24_7_has_nightly_gaps() -> None:
    report = validate(read_intraday("2006-min-005.txt", 5, "Europe/Berlin"), "5m", "24/7")

    assert report.checks["gaps"] == 20  # every night and weekend between the 21 sessions


def test_five_minute_file_missing_bars_are_found() -> None:
    frame = read_intraday("2006-min-005.txt", 5, "Europe/Berlin")
    lunch = pd.date_range("2006-01-10 12:00", "2006-01-10 12:55", freq="5min", tz="Europe/Berlin")

    report = validate(frame.drop(lunch.tz_convert("UTC")), "5m", "XETR")

    assert report.gaps == [Gap(lunch[0].tz_convert("UTC"), lunch[-1].tz_convert("UTC"), 12)]


@pytest.mark.parametrize("name", YAHOO)
def test_yahoo_files_follow_nyse(name: str) -> None:
    frame = read_daily(name)

    report = validate(frame, "1d", "XNYS")

    assert _no_calendar_problems(report), report.validation_errors
    for check in ("duplicates", "invalid_values", "ohlc_violations", "stale", "zero_volume"):
        assert report.checks[check] == 0, check
    assert report.score >= 0.99  # a few real earnings-day moves can count as outliers


def test_yahoo_file_calendar_from_symbol() -> None:
    frame = read_daily("orcl-1995-2014.txt")
    frame.attrs["symbol"] = "ORCL"

    report = validate(frame, "1d")

    assert report.calendar == "XNYS" and _no_calendar_problems(report)
    assert report.expected_bars == len(frame) == 5036


def test_yahoo_file_includes_closures_like_september_2001() -> None:
    frame = read_daily("yhoo-1996-2015.txt")

    report = validate(frame.loc["2001-09-01":"2001-09-30"], "1d", "XNYS")

    assert report.expected_bars == 15 and report.checks["missing_bars"] == 0


def test_repair_of_a_real_file_changes_nothing() -> None:
    frame = read_daily("nvda-2014.txt")

    out = repair(frame, "1d", fill_gaps=True, calendar="XNYS")

    assert not out["filled"].any()
    pd.testing.assert_frame_equal(out.drop(columns="filled"), frame)
