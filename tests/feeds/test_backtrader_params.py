"""TradeDataFeed's parameters: interval sugar, bar-size inference, names, bad input."""

from __future__ import annotations

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from tradedata.errors import InputError, InvalidTimeframeError
from tradedata.feeds.backtrader import TradeDataFeed, infer_timeframe


def _frame(periods: int, freq: str, start: str = "2024-01-01") -> pd.DataFrame:
    index = pd.date_range(start, periods=periods, freq=freq, tz="UTC", name="timestamp")
    close = np.linspace(100.0, 110.0, periods)
    return pd.DataFrame(
        {"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": 1.0},
        index=index,
    )


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        ("1m", (bt.TimeFrame.Minutes, 1)),
        ("5m", (bt.TimeFrame.Minutes, 5)),
        ("1h", (bt.TimeFrame.Minutes, 60)),
        ("4h", (bt.TimeFrame.Minutes, 240)),
        ("1d", (bt.TimeFrame.Days, 1)),
        ("1w", (bt.TimeFrame.Weeks, 1)),
        ("1M", (bt.TimeFrame.Months, 1)),
    ],
)
def test_interval_sets_timeframe_and_compression(interval, expected):
    feed = TradeDataFeed(dataname=_frame(10, "1min"), interval=interval)

    assert (feed.p.timeframe, feed.p.compression) == expected
    assert (feed._timeframe, feed._compression) == expected


def test_interval_contradicting_timeframe_is_refused():
    with pytest.raises(InvalidTimeframeError, match="contradicts"):
        TradeDataFeed(dataname=_frame(10, "1min"), interval="5m", timeframe=bt.TimeFrame.Days)


def test_an_unknown_interval_is_refused():
    with pytest.raises(InvalidTimeframeError):
        TradeDataFeed(dataname=_frame(10, "1min"), interval="7x")


def test_explicit_timeframe_and_compression_are_kept():
    feed = TradeDataFeed(
        dataname=_frame(10, "1min"), timeframe=bt.TimeFrame.Minutes, compression=15
    )

    assert (feed._timeframe, feed._compression) == (bt.TimeFrame.Minutes, 15)


@pytest.mark.parametrize(
    ("freq", "expected"),
    [
        ("1min", (bt.TimeFrame.Minutes, 1)),
        ("5min", (bt.TimeFrame.Minutes, 5)),
        ("1h", (bt.TimeFrame.Minutes, 60)),
        ("1D", (bt.TimeFrame.Days, 1)),
        ("B", (bt.TimeFrame.Days, 1)),  # weekends make some gaps 3 days long
        ("W-MON", (bt.TimeFrame.Weeks, 1)),
        ("MS", (bt.TimeFrame.Months, 1)),
    ],
)
def test_a_frames_bar_size_is_inferred_when_not_given(freq, expected):
    feed = TradeDataFeed(dataname=_frame(60, freq))

    assert (feed._timeframe, feed._compression) == expected


def test_a_frames_declared_timeframe_wins_over_its_spacing():
    frame = _frame(60, "1h")
    frame.attrs["timeframe"] = "15m"  # e.g. a 15m series with holes

    feed = TradeDataFeed(dataname=frame)

    assert (feed._timeframe, feed._compression) == (bt.TimeFrame.Minutes, 15)


def test_an_irregular_frame_needs_an_explicit_bar_size():
    rng = np.random.default_rng(3)
    stamps = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(
        np.cumsum(rng.integers(1, 5000, 100)), unit="ms"
    )
    ticks = _frame(100, "1s").set_axis(pd.DatetimeIndex(stamps, name="timestamp"))

    with pytest.raises(InvalidTimeframeError, match="interval="):
        TradeDataFeed(dataname=ticks)
    assert TradeDataFeed(dataname=ticks, timeframe=bt.TimeFrame.Ticks)._timeframe == 1


def test_infer_timeframe_needs_two_distinct_times():
    assert infer_timeframe(pd.DatetimeIndex(["2024-01-01"] * 3, tz="UTC")) is None


def test_a_symbol_defaults_to_daily_bars():
    feed = TradeDataFeed(dataname="BTC/USDT")

    assert (feed._timeframe, feed._compression) == (bt.TimeFrame.Days, 1)
    assert feed._name == "BTC/USDT"


def test_a_frame_is_named_after_its_symbol_unless_named():
    frame = _frame(10, "1D")
    frame.attrs["symbol"] = "ETH/USDT"

    assert TradeDataFeed(dataname=frame)._name == "ETH/USDT"
    assert TradeDataFeed(dataname=frame, name="eth")._name == "eth"


def test_dataname_must_be_a_symbol_or_a_frame():
    feed = TradeDataFeed(dataname=42)

    with pytest.raises(InputError, match="dataname"):
        feed.frame  # noqa: B018 - loading is what is tested


def test_construction_loads_nothing():
    feed = TradeDataFeed(dataname="NO/SUCH", cache_dir="/nonexistent/never/created")

    assert feed._bars is None


def test_every_database_parameter_is_accepted():
    params = TradeDataFeed.params._getkeys()

    for name in bt.feed.DataBase.params._getkeys():
        assert name in params
    for name in ("interval", "provider", "cache_dir", "manager", "refresh", "min_quality"):
        assert name in params
