"""The simulator's data: bar arithmetic, synthetic series, aggregation, klines selection, replay."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simhelpers import ms

from tradedata.errors import DataValidationError, InvalidTimeframeError
from tradedata.sim import timeframes as tfs
from tradedata.sim.bars import format_fixed, format_plain
from tradedata.sim.market import ReplayMarket, SyntheticMarket
from tradedata.sim.synthetic import SyntheticSeries

NOW = ms("2024-03-06 12:34:56.789")
LISTING = ms("2024-01-01")
RESAMPLE = {"1h": "1h", "4h": "4h", "1d": "1D", "3d": None, "1w": "W-MON", "1M": "MS"}


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return SyntheticMarket("binance", "BTC/USDT", seed=3, listing_ms=LISTING)


def test_weekly_bars_open_on_monday_and_monthly_on_the_first() -> None:
    thursday = ms("2024-03-07 15:00")

    week, month = tfs.floor_open(thursday, "1w"), tfs.floor_open(thursday, "1M")

    assert pd.Timestamp(week, unit="ms") == pd.Timestamp("2024-03-04")  # a Monday
    assert pd.Timestamp(month, unit="ms") == pd.Timestamp("2024-03-01")
    assert pd.Timestamp(tfs.shift(month, 1, "1M"), unit="ms") == pd.Timestamp("2024-04-01")


def test_three_day_bars_align_on_the_epoch() -> None:
    opens = tfs.opens(tfs.floor_open(ms("2024-03-07"), "3d"), 5, "3d")

    assert np.all(opens % (3 * tfs.DAY_MS) == 0)


def test_unknown_timeframe_is_refused() -> None:
    with pytest.raises(InvalidTimeframeError):
        tfs.check_timeframe("7x")


def test_any_minute_is_computable_directly_and_identically() -> None:
    series = SyntheticSeries(seed=1, exchange="binance", symbol="ETH/USDT")
    first = ms("2024-05-01") // tfs.MINUTE_MS

    long_run = series.minutes(first, 5000)
    window = series.minutes(first + 1234, 100)

    for name in ("open", "high", "low", "close", "volume", "quote_volume", "trades"):
        assert np.array_equal(getattr(window, name), getattr(long_run, name)[1234:1334])


def test_series_depend_on_seed_and_exchange() -> None:
    minute = ms("2024-05-01") // tfs.MINUTE_MS
    a = SyntheticSeries(1, "binance", "BTC/USDT").minutes(minute, 50).close
    b = SyntheticSeries(2, "binance", "BTC/USDT").minutes(minute, 50).close
    c = SyntheticSeries(1, "bybit", "BTC/USDT").minutes(minute, 50).close

    assert not np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.max(np.abs(a / c - 1.0)) < 0.01  # one symbol moves alike on both exchanges


def test_bars_are_realistic_ohlcv(market: SyntheticMarket) -> None:
    bars = market.canonical("1m", ms("2024-02-01"), ms("2024-02-08"), NOW)

    assert len(bars) == 7 * 1440
    assert np.all(bars.low > 0)
    assert np.all(bars.high >= np.maximum(bars.open, bars.close))
    assert np.all(bars.low <= np.minimum(bars.open, bars.close))
    assert np.all(bars.volume > 0)
    assert np.array_equal(bars.open[1:], bars.close[:-1])  # each bar opens at the last close


def test_printed_values_parse_back_exactly(market: SyntheticMarket) -> None:
    bars = market.canonical("1d", LISTING, NOW, NOW)

    for column in (bars.open, bars.high, bars.low, bars.close, bars.volume):
        assert [float(s) for s in format_fixed(column)] == column.tolist()
        assert [float(s) for s in format_plain(column)] == column.tolist()


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    timeframe=st.sampled_from(["1h", "4h", "1d", "1w", "1M"]),
    offset_hours=st.integers(min_value=0, max_value=24 * 40),
)
def test_higher_timeframes_are_exact_aggregates_of_1m(
    market: SyntheticMarket, timeframe: str, offset_hours: int
) -> None:
    start = LISTING + offset_hours * 3_600_000
    end = min(start + 40 * tfs.DAY_MS, NOW)
    coarse = market.canonical(timeframe, start, end, NOW).to_frame()
    lo = ms(coarse.index[0]) if len(coarse) else start
    fine = market.canonical("1m", lo, end + 32 * tfs.DAY_MS, NOW).to_frame()

    resampled = fine.resample(RESAMPLE[timeframe], label="left", closed="left").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )

    pd.testing.assert_frame_equal(resampled.loc[coarse.index], coarse, check_freq=False)


def test_klines_from_start_respect_limit_and_end(market: SyntheticMarket) -> None:
    start = ms("2024-02-01 00:00:30")

    page = market.klines("1h", start, None, 5, NOW)
    bounded = market.klines("1h", start, ms("2024-02-01 03:00"), 100, NOW)

    assert page.open_time.tolist() == [ms("2024-02-01") + h * 3_600_000 for h in range(1, 6)]
    assert bounded.open_time.tolist() == [ms("2024-02-01") + h * 3_600_000 for h in (1, 2, 3)]


def test_klines_without_start_end_at_the_open_bar(market: SyntheticMarket) -> None:
    bars = market.klines("1h", None, None, 3, NOW)
    final = market.klines("1h", ms("2024-03-06 12:00"), None, 1, NOW + 3_600_000)

    assert bars.open_time.tolist()[-1] == ms("2024-03-06 12:00")
    assert market.is_closed("1h", bars.open_time, NOW).tolist() == [True, True, False]
    assert bars.volume[-1] < final.volume[0]
    assert final.low[0] <= bars.low[-1] <= bars.high[-1] <= final.high[0]
    assert bars.open[-1] == final.open[0]


def test_no_bar_opens_after_now_nor_before_listing(market: SyntheticMarket) -> None:
    future = market.klines("1m", NOW + 60_000, None, 10, NOW)
    early = market.klines("1d", ms("2023-06-01"), None, 2, NOW)

    assert len(future) == 0
    assert early.open_time.tolist()[0] == LISTING


def test_canonical_holds_only_closed_bars(market: SyntheticMarket) -> None:
    bars = market.canonical("1d", ms("2024-03-01"), ms("2024-04-01"), NOW)

    assert pd.Timestamp(bars.open_time[-1], unit="ms") == pd.Timestamp("2024-03-05")


def _hourly_frame(hours: int) -> pd.DataFrame:
    index = pd.date_range("2024-01-01", periods=hours, freq="1h", tz="UTC", name="timestamp")
    close = 100.0 + np.arange(hours) * 0.25
    return pd.DataFrame(
        {"open": close - 0.125, "high": close + 1.0, "low": close - 1.0, "close": close,
         "volume": np.full(hours, 2.5)},
        index=index,
    )  # fmt: skip


def test_replay_serves_the_frame_and_its_aggregates() -> None:
    frame = _hourly_frame(72)
    replay = ReplayMarket("binance", "BTC/USDT", frame, "1h")
    now = ms("2024-01-10")

    hourly = replay.canonical("1h", ms("2024-01-01"), now, now).to_frame()
    daily = replay.canonical("1d", ms("2024-01-01"), now, now).to_frame()

    pd.testing.assert_frame_equal(hourly, frame, check_freq=False)
    assert daily["volume"].tolist() == [60.0, 60.0, 60.0]
    assert daily["open"].iloc[0] == frame["open"].iloc[0]
    assert daily["close"].iloc[-1] == frame["close"].iloc[-1]
    assert len(replay.klines("1m", None, None, 10, now)) == 0  # finer than the frame


def test_replay_open_bar_is_partial() -> None:
    replay = ReplayMarket("binance", "BTC/USDT", _hourly_frame(72), "1h")

    bars = replay.klines("1d", None, None, 10, ms("2024-01-02 06:30"))

    assert bars.open_time.tolist() == [ms("2024-01-01"), ms("2024-01-02")]
    assert bars.volume[-1] < 60.0


def test_replay_rejects_duplicate_timestamps() -> None:
    frame = _hourly_frame(3)
    doubled = pd.concat([frame, frame.iloc[:1]])

    with pytest.raises(DataValidationError):
        ReplayMarket("binance", "BTC/USDT", doubled, "1h")
