"""Display downsampling: the chart never draws more than ``max_candles`` and never lies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.memory_provider import synthetic
from tradedata.model import parse_timeframe
from tradedata.widgets.view import (
    display_timeframe,
    for_display,
    parse_axis_time,
    resample,
    window,
)


def _pandas_resample(frame: pd.DataFrame, freq: str) -> pd.DataFrame:
    agg = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    return frame.resample(freq, closed="left", label="left").agg(agg).dropna(subset=["open"])


def test_a_year_of_minutes_is_drawn_as_4h_candles(minute_year):
    drawn = for_display(minute_year, max_candles=2500, base=parse_timeframe("1m"))

    assert drawn.timeframe == parse_timeframe("4h")
    assert 2000 < len(drawn.frame) <= 2500


def test_a_small_frame_is_drawn_as_it_is():
    frame = synthetic("2024-01-01", 300, freq="1h")

    drawn = for_display(frame, max_candles=2500)

    assert drawn.timeframe is None
    assert drawn.frame is frame


def test_display_timeframe_is_never_finer_than_the_bars():
    tf = display_timeframe(10_000, pd.Timedelta(days=10), parse_timeframe("1h"), 100)

    assert tf is not None and tf.seconds > 3600
    assert pd.Timedelta(days=10) / tf.delta <= 100


@pytest.mark.parametrize("freq, tf", [("1min", "15m"), ("1min", "1h"), ("1h", "1d"), ("1h", "4h")])
def test_fixed_resampling_matches_pandas_with_gaps(freq, tf):
    frame = synthetic("2024-01-01 00:07", 5000, freq=freq, seed=2)
    frame = frame.drop(frame.index[1000:1300])
    timeframe = parse_timeframe(tf)

    ours = resample(frame, timeframe)

    expected = _pandas_resample(frame, timeframe.pandas_freq())
    pd.testing.assert_frame_equal(ours, expected, check_freq=False, check_names=False)


def test_weekly_and_monthly_resampling_label_bar_opens():
    frame = synthetic("2024-01-01", 120, freq="1D")

    weekly = resample(frame, parse_timeframe("1w"))
    monthly = resample(frame, parse_timeframe("1M"))

    assert (weekly.index.dayofweek == 0).all()
    assert (monthly.index.day == 1).all()
    assert weekly["volume"].sum() == pytest.approx(frame["volume"].sum())


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=600),
    step=st.sampled_from(["5m", "15m", "1h", "4h", "1d"]),
    holes=st.lists(st.integers(min_value=0, max_value=599), max_size=50),
)
def test_resampling_keeps_extremes_volume_and_first_last_prices(n, step, holes):
    frame = synthetic("2024-02-01", n, freq="1min", seed=n)
    frame = frame.drop(frame.index[[h for h in set(holes) if h < n - 1]])

    out = resample(frame, parse_timeframe(step))

    assert out["high"].max() == frame["high"].max()
    assert out["low"].min() == frame["low"].min()
    assert out["volume"].sum() == pytest.approx(frame["volume"].sum())
    assert out["open"].iloc[0] == frame["open"].iloc[0]
    assert out["close"].iloc[-1] == frame["close"].iloc[-1]
    assert out.index.is_monotonic_increasing and out.index.is_unique


def test_window_is_inclusive_on_both_ends():
    frame = synthetic("2024-01-01", 100, freq="1h")
    start, end = frame.index[10], frame.index[20]

    part = window(frame, start, end)

    assert part.index[0] == start and part.index[-1] == end and len(part) == 11


@pytest.mark.parametrize(
    "value",
    [
        "2024-03-01 12:30:00",
        "2024-03-01 12:30",
        pd.Timestamp("2024-03-01 12:30").value,  # nanoseconds, as FigureWidget reports them
        pd.Timestamp("2024-03-01 12:30").value // 1_000_000,  # milliseconds
        np.int64(pd.Timestamp("2024-03-01 12:30").value),
    ],
)
def test_axis_values_parse_to_utc(value):
    assert parse_axis_time(value) == pd.Timestamp("2024-03-01 12:30", tz="UTC")
