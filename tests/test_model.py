"""Timeframes, time parsing and the frame schema."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradedata.errors import DataValidationError, InvalidDateRangeError, InvalidTimeframeError
from tradedata.model import (
    Timeframe,
    empty_frame,
    frame_from_rows,
    normalize_frame,
    parse_range,
    parse_timeframe,
    to_utc,
)


@pytest.mark.parametrize(
    ("text", "name", "bt"),
    [
        ("1m", "1m", (4, 1)),
        ("5m", "5m", (4, 5)),
        ("60m", "1h", (4, 60)),
        ("1h", "1h", (4, 60)),
        ("4h", "4h", (4, 240)),
        ("1d", "1d", (5, 1)),
        ("1D", "1d", (5, 1)),
        ("1w", "1w", (6, 1)),
        ("1M", "1M", (7, 1)),
        ("1min", "1m", (4, 1)),
    ],
)
def test_parse_timeframe_names_and_backtrader_pairs(text: str, name: str, bt: tuple) -> None:
    tf = parse_timeframe(text)
    assert tf.name == name
    assert tf.to_backtrader() == bt
    assert Timeframe.from_backtrader(*bt) == tf


@pytest.mark.parametrize("bad", ["", "7x", "m5", "0m", "-1h", "1.5h", None, 5])
def test_parse_timeframe_rejects_garbage(bad: object) -> None:
    with pytest.raises(InvalidTimeframeError):
        parse_timeframe(bad)  # type: ignore[arg-type]


def test_minute_and_month_are_different() -> None:
    assert parse_timeframe("1m").seconds == 60
    assert parse_timeframe("1M").unit == "M"


def test_offsets_step_between_bar_opens() -> None:
    assert pd.Timestamp("2024-01-31", tz="UTC") + parse_timeframe("1M").offset() == pd.Timestamp(
        "2024-02-01", tz="UTC"
    )
    assert parse_timeframe("1w").floor(pd.Timestamp("2024-03-07 13:00", tz="UTC")) == pd.Timestamp(
        "2024-03-04", tz="UTC"
    )
    assert parse_timeframe("4h").floor("2024-03-07 13:05") == pd.Timestamp(
        "2024-03-07 12:00", tz="UTC"
    )


@given(
    minutes=st.integers(min_value=0, max_value=10_000_000),
    tf=st.sampled_from(["1m", "5m", "15m", "1h", "4h", "1d", "1w", "2w", "1M", "3M", "7M"]),
)
def test_floor_is_a_bar_open_at_or_before(minutes: int, tf: str) -> None:
    ts = pd.Timestamp("2000-01-01", tz="UTC") + pd.Timedelta(minutes=minutes)
    t = parse_timeframe(tf)
    opened = t.floor(ts)
    assert opened <= ts < t.next_open(ts)
    assert t.floor(opened) == opened


def test_bar_opens_inclusive() -> None:
    idx = parse_timeframe("1h").bar_opens("2024-01-01 00:30", "2024-01-01 03:00")
    assert list(idx.hour) == [1, 2, 3]


def test_to_utc_treats_naive_as_utc_and_converts_aware() -> None:
    assert to_utc("2024-01-01 10:00") == pd.Timestamp("2024-01-01 10:00", tz="UTC")
    ny = pd.Timestamp("2024-07-01 10:00", tz="America/New_York")
    assert to_utc(ny) == pd.Timestamp("2024-07-01 14:00", tz="UTC")
    assert to_utc(1704067200000) == pd.Timestamp("2024-01-01", tz="UTC")


def test_parse_range_rejects_start_after_end() -> None:
    with pytest.raises(InvalidDateRangeError, match="after"):
        parse_range("2024-02-01", "2024-01-01")
    with pytest.raises(InvalidDateRangeError):
        parse_range("not a date", None)


def test_normalize_frame_schema() -> None:
    raw = pd.DataFrame(
        {"Open": [2, 1], "High": [2, 1], "Low": [2, 1], "Close": [2, 1], "Volume": [5, 6],
         "Adj Close": [1.5, 0.5], "junk": ["a", "b"]},
        index=pd.to_datetime(["2024-01-02", "2024-01-01"]),
    )  # fmt: skip
    out = normalize_frame(raw)
    assert list(out.columns) == ["open", "high", "low", "close", "volume", "adj_close"]
    assert out.index.name == "timestamp" and str(out.index.tz) == "UTC"
    assert out.index.is_monotonic_increasing
    assert all(dtype == np.float64 for dtype in out.dtypes)


def test_normalize_frame_errors() -> None:
    with pytest.raises(DataValidationError, match="volume"):
        normalize_frame(pd.DataFrame({"open": [1], "high": [1], "low": [1], "close": [1]}))
    bad = pd.DataFrame(
        {c: ["x"] for c in ["open", "high", "low", "close", "volume"]},
        index=pd.to_datetime(["2024-01-01"]),
    )
    with pytest.raises(DataValidationError):
        normalize_frame(bad)


def test_frame_from_rows_and_empty() -> None:
    frame = frame_from_rows([[1704067200000, 1, 2, 0.5, 1.5, 10]])
    assert frame.index[0] == pd.Timestamp("2024-01-01", tz="UTC")
    assert frame.iloc[0].tolist() == [1, 2, 0.5, 1.5, 10]
    assert len(empty_frame()) == 0 and "adj_close" in empty_frame(adj_close=True)
    with pytest.raises(DataValidationError):
        frame_from_rows([[1, "a", 2, 3, 4, 5]])


def test_multi_month_and_week_bars_align_to_the_epoch() -> None:
    assert parse_timeframe("7M").floor("1970-08-15") == pd.Timestamp("1970-08-01", tz="UTC")
    assert parse_timeframe("7M").floor("1970-07-31") == pd.Timestamp("1970-01-01", tz="UTC")
    assert parse_timeframe("2w").floor("1970-01-18") == pd.Timestamp("1970-01-05", tz="UTC")
    assert parse_timeframe("2w").floor("1970-01-19") == pd.Timestamp("1970-01-19", tz="UTC")
