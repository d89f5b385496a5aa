"""tradedata.calendars: resolution, expected bar opens on 24/7, 24/5 and exchange calendars."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from tradedata import calendars
from tradedata.calendars import (
    AlwaysOpenCalendar,
    ExchangeTradingCalendar,
    WeekdayCalendar,
    floor_keys,
    resolve_calendar,
)
from tradedata.errors import InputError
from tradedata.model import parse_timeframe

NY = "America/New_York"


def _local(index: pd.DatetimeIndex, tz: str) -> list[str]:
    return [t.strftime("%Y-%m-%d %H:%M") for t in index.tz_convert(tz)]


# -- resolution ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "kind"),
    [("24/7", AlwaysOpenCalendar), ("24/5", WeekdayCalendar), ("XNYS", ExchangeTradingCalendar)],
)
def test_resolve_names(value: str, kind: type) -> None:
    assert isinstance(resolve_calendar(value), kind)


def test_resolve_alias_gives_canonical_name() -> None:
    assert resolve_calendar("NYSE").name == "XNYS"


def test_resolve_reuses_adapter() -> None:
    assert resolve_calendar("XNYS") is resolve_calendar("xnys")


@pytest.mark.parametrize(
    ("symbol", "name"),
    [
        ("BTC/USDT", "24/7"),
        ("EUR/USD", "24/5"),
        ("AAPL", "XNYS"),
        ("SAP.DE", "XETR"),
        (None, "24/7"),
    ],
)
def test_resolve_from_symbol(symbol: str | None, name: str) -> None:
    assert resolve_calendar(None, symbol).name == name


def test_resolve_malformed_symbol_is_24_7() -> None:
    assert resolve_calendar(None, "not a symbol!").name == "24/7"


@pytest.mark.parametrize("value", ["XXXX", "", 42])
def test_resolve_rejects_unknown(value: object) -> None:
    with pytest.raises(InputError):
        resolve_calendar(value)


def test_resolve_accepts_exchange_calendar_object() -> None:
    import exchange_calendars as xcals

    obj = xcals.get_calendar("XLON", start="2024-01-01", end="2024-12-31")

    cal = resolve_calendar(obj)

    assert cal.name == "XLON"
    days = cal.bar_opens("1d", "2024-12-23", "2024-12-27")
    assert [d.day for d in days] == [23, 24, 27]  # Christmas and Boxing Day closed


def test_import_does_not_load_exchange_calendars() -> None:
    code = "import sys, tradedata.calendars, tradedata.validation; "
    code += "print('exchange_calendars' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="."
    )
    assert out.stdout.strip() == "False"


# -- 24/7 and 24/5 ------------------------------------------------------------------------------
@pytest.mark.parametrize("tf", ["1m", "5m", "1h", "4h", "1d", "3d"])
def test_always_open_matches_timeframe_grid(tf: str) -> None:
    start, end = "2024-01-01 00:00", "2024-01-20 13:00"
    period = parse_timeframe(tf)

    got = resolve_calendar("24/7").bar_opens(tf, start, end)

    # from 1d up, the period holding ``start`` counts (3d periods are epoch-aligned)
    first = period.floor(pd.Timestamp(start, tz="UTC")) if tf == "3d" else start
    assert list(got) == list(period.bar_opens(first, end))


def test_always_open_grid_end_is_inclusive_for_long_ranges() -> None:
    start = pd.Timestamp("2023-11-14 22:13", tz="UTC")
    end = start + pd.Timedelta(minutes=999_999)

    got = resolve_calendar("24/7").bar_opens("1m", start, end)

    assert len(got) == 1_000_000 and got[-1] == end


def test_weekdays_skip_weekend_daily() -> None:
    days = resolve_calendar("24/5").bar_opens("1d", "2024-01-04", "2024-01-09")

    assert [d.day for d in days] == [4, 5, 8, 9]


def test_weekdays_skip_weekend_intraday() -> None:
    opens = resolve_calendar("24/5").bar_opens("6h", "2024-01-05 12:00", "2024-01-08 06:00")

    assert _local(opens, "UTC") == [
        "2024-01-05 12:00",
        "2024-01-05 18:00",
        "2024-01-08 00:00",
        "2024-01-08 06:00",
    ]


# -- exchange sessions ----------------------------------------------------------------------------
def test_xnys_daily_skips_holidays() -> None:
    days = resolve_calendar("XNYS").bar_opens("1d", "2024-03-27", "2024-04-02")

    assert [d.strftime("%m-%d") for d in days] == ["03-27", "03-28", "04-01", "04-02"]


def test_xnys_5m_regular_and_early_close() -> None:
    cal = resolve_calendar("XNYS")

    regular = cal.bar_opens("5m", "2024-11-27", "2024-11-27 23:59")
    early = cal.bar_opens("5m", "2024-11-29", "2024-11-29 23:59")

    assert len(regular) == 78 and _local(regular, NY)[0].endswith("09:30")
    assert _local(regular, NY)[-1].endswith("15:55")
    assert len(early) == 42 and _local(early, NY)[-1].endswith("12:55")


def test_xnys_hourly_bars_align_on_session_open() -> None:
    opens = resolve_calendar("XNYS").bar_opens("1h", "2024-07-01", "2024-07-01 23:00")

    assert [t[-5:] for t in _local(opens, NY)] == [
        "09:30",
        "10:30",
        "11:30",
        "12:30",
        "13:30",
        "14:30",
        "15:30",
    ]


def test_xnys_hourly_epoch_alignment() -> None:
    opens = resolve_calendar("XNYS").bar_opens(
        "1h", "2024-07-01", "2024-07-01 23:00", align="epoch"
    )

    assert [t[-5:] for t in _local(opens, NY)] == [f"{h:02d}:00" for h in range(9, 16)]


def test_lunch_break_splits_session() -> None:
    opens = resolve_calendar("XHKG").bar_opens("1h", "2024-07-02", "2024-07-02 23:00")

    assert [t[-5:] for t in _local(opens, "Asia/Hong_Kong")] == [
        "09:30",
        "10:30",
        "11:30",
        "13:00",
        "14:00",
        "15:00",
    ]


def test_weekly_and_monthly_keys_need_a_session() -> None:
    cal = resolve_calendar("XNYS")

    weeks = cal.bar_opens("1w", "2024-12-18", "2025-01-08")
    months = cal.bar_opens("1M", "2024-11-15", "2025-02-03")

    assert [w.strftime("%m-%d") for w in weeks] == ["12-16", "12-23", "12-30", "01-06"]
    assert [m.strftime("%Y-%m") for m in months] == ["2024-11", "2024-12", "2025-01", "2025-02"]


def test_daily_keys_use_exchange_date_for_non_midnight_stamps() -> None:
    cal = resolve_calendar("XTKS")
    stamps = pd.DatetimeIndex(
        ["2024-07-01 15:00", "2024-07-03 00:00", "2024-07-04 06:00"], tz="UTC"
    )  # Tokyo local midnight of 07-02, the UTC-midnight label of 07-03, mid-session 07-04

    keys = pd.to_datetime(cal.bar_keys(stamps, "1d"), utc=True)

    assert [k.strftime("%m-%d") for k in keys] == ["07-02", "07-03", "07-04"]


def test_calendar_widens_for_old_dates() -> None:
    days = resolve_calendar("XNYS").bar_opens("1d", "1987-10-16", "1987-10-21")

    assert [d.day for d in days] == [16, 19, 20, 21]


def test_calendar_with_short_history_reports_coverage() -> None:
    cal = resolve_calendar("XSHG")
    start = pd.Timestamp("1985-01-01", tz="UTC").value
    end = pd.Timestamp("1995-01-01", tz="UTC").value

    lo, hi = cal.coverage(start, end)

    assert lo > start and hi == end


def test_floor_keys_match_timeframe_floor() -> None:
    stamps = pd.DatetimeIndex(
        ["2024-02-29 13:17", "2023-01-01 00:00", "1969-12-30 05:00"], tz="UTC"
    )
    for name in ("1m", "1h", "4h", "1d", "3d", "1w", "1M", "3M"):
        tf = parse_timeframe(name)
        got = floor_keys(stamps.asi8, tf)
        assert list(got) == [tf.floor(t).value for t in stamps], name


def test_ten_years_of_minute_opens_are_vectorised() -> None:
    cal = resolve_calendar("XNYS")
    cal.bar_opens("1m", "2014-01-01", "2014-01-10")  # build the calendar outside the timing

    began = time.perf_counter()
    opens = cal.bar_opens("1m", "2014-01-01", "2024-01-01")
    elapsed = time.perf_counter() - began

    assert len(opens) > 950_000 and opens.is_monotonic_increasing and opens.is_unique
    assert elapsed < 1.0


def test_cache_is_shared_between_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    def first_session(_: int) -> int:
        return int(calendars._exchange_calendar("XPAR", None, None).sessions_nanos[0])

    with ThreadPoolExecutor(4) as pool:
        firsts = set(pool.map(first_session, range(8)))

    assert len(firsts) == 1
    assert np.int64(next(iter(firsts))) > 0
