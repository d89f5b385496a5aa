"""Exchange time zones to UTC across daylight-saving switches, for every intraday provider."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from tests.fakes import FakeProviderServer
from tradedata.adapters.base import Provider

Wired = Callable[..., tuple[FakeProviderServer, Provider]]
US_INTRADAY = ["yahoo", "alpha_vantage", "fmp", "alpaca", "polygon", "tiingo"]


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def first_bar_per_day(frame: pd.DataFrame) -> dict[str, pd.Timestamp]:
    days = frame.groupby(frame.index.date).head(1)
    return {str(t.date()): t for t in days.index}


@pytest.mark.parametrize("name", US_INTRADAY)
@pytest.mark.parametrize(
    ("now", "before", "after", "open_before", "open_after"),
    [
        # second Sunday of March: New York moves from UTC-5 to UTC-4
        ("2024-03-20 15:00", "2024-03-08", "2024-03-11", "14:30", "13:30"),
        # first Sunday of November: back from UTC-4 to UTC-5
        ("2024-11-20 15:00", "2024-11-01", "2024-11-04", "13:30", "14:30"),
    ],
    ids=["march", "november"],
)
def test_new_york_open_moves_in_utc(
    name: str, now: str, before: str, after: str, open_before: str, open_after: str, wired: Wired
) -> None:
    _, provider = wired(name, {"now": utc(now)}, now=utc(now))

    frame = provider.fetch_ohlcv("AAPL", "5m", utc(before), utc(after) + pd.Timedelta(hours=23))

    first = first_bar_per_day(frame)
    assert first[before] == utc(f"{before} {open_before}")
    assert first[after] == utc(f"{after} {open_after}")
    assert frame.index.is_unique and frame.index.is_monotonic_increasing


@pytest.mark.parametrize("name", ["yahoo", "fmp"])
@pytest.mark.parametrize(
    ("now", "before", "after", "open_before", "open_after"),
    [
        ("2024-04-10 12:00", "2024-03-28", "2024-04-02", "08:00", "07:00"),  # GMT -> BST
        ("2024-11-10 12:00", "2024-10-25", "2024-10-28", "07:00", "08:00"),  # BST -> GMT
    ],
    ids=["march", "october"],
)
def test_london_open_moves_in_utc(
    name: str, now: str, before: str, after: str, open_before: str, open_after: str, wired: Wired
) -> None:
    _, provider = wired(name, {"now": utc(now)}, now=utc(now))

    frame = provider.fetch_ohlcv("VOD.L", "15m", utc(before), utc(after) + pd.Timedelta(hours=23))

    first = first_bar_per_day(frame)
    assert first[before] == utc(f"{before} {open_before}")
    assert first[after] == utc(f"{after} {open_after}")


@pytest.mark.parametrize("name", ["yahoo", "fmp", "alpha_vantage", "alpaca", "polygon", "tiingo"])
def test_daily_bars_are_session_dates_at_midnight_utc_across_the_switch(
    name: str, wired: Wired
) -> None:
    _, provider = wired(name)

    frame = provider.fetch_ohlcv("AAPL", "1d", utc("2024-03-06"), utc("2024-03-13"))

    expected = ["2024-03-06", "2024-03-07", "2024-03-08", "2024-03-11", "2024-03-12", "2024-03-13"]
    assert [str(t.date()) for t in frame.index] == expected
    assert all(t.hour == 0 and t.minute == 0 for t in frame.index)


def test_sydney_sessions_open_the_day_before_in_utc_but_keep_their_date(wired: Wired) -> None:
    server, provider = wired("yahoo")

    frame = provider.fetch_ohlcv("BHP.AX", "1d", utc("2024-03-04"), utc("2024-03-08"))

    sessions = server.market.sessions("BHP.AX", utc("2024-03-04"), utc("2024-03-08"))
    assert (sessions["open"].dt.hour == 23).all()  # 10:00 AEDT is 23:00 UTC the day before
    assert list(frame.index) == list(pd.date_range("2024-03-04", "2024-03-08", tz="UTC"))
