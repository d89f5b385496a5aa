"""Replaying a given frame: ccxt gets exactly the frame back, and exact aggregates of it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import ccxt
import numpy as np
import pandas as pd
import pytest
import websockets
from simhelpers import FAST_STREAMS, ccxt_config, ms, rows_to_frame

from tradedata.errors import DataValidationError
from tradedata.sim import ExchangeSimulator


def minute_frame(start: str, minutes: int, seed: int = 0) -> pd.DataFrame:
    """A 1m OHLCV frame with awkward (full-precision) floats."""
    rng = np.random.default_rng(seed)
    index = pd.date_range(start, periods=minutes, freq="1min", tz="UTC", name="timestamp")
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.001, minutes)))
    open_ = np.r_[100.0, close[:-1]]
    spread = rng.uniform(0, 0.2, minutes)
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": rng.uniform(0.1, 9.0, minutes),
        },
        index=index,
    )


@pytest.fixture
def replay_sim(make_sim: Any) -> tuple[ExchangeSimulator, pd.DataFrame]:
    frame = minute_frame("2024-03-05 00:00", 2 * 1440)
    sim = make_sim(speed=0.0, start="2024-03-07 06:30:30")
    sim.add_series("binance", "BTC/USDT", frame, "1m")
    sim.add_series("bybit", "BTCUSDT", frame, "1m")
    return sim, frame


@pytest.mark.parametrize("exchange_id", ["binance", "bybit"])
def test_replayed_minutes_come_back_bit_for_bit(
    replay_sim: tuple[ExchangeSimulator, pd.DataFrame], exchange_id: str
) -> None:
    sim, frame = replay_sim
    exchange = getattr(ccxt, exchange_id)(ccxt_config(exchange_id, sim))
    since = ms("2024-03-05")

    rows = exchange.fetch_ohlcv("BTC/USDT", "1m", since=since, limit=1000)
    rows += exchange.fetch_ohlcv("BTC/USDT", "1m", since=rows[-1][0] + 60_000, limit=1000)

    expected = frame.iloc[:2000]
    pd.testing.assert_frame_equal(rows_to_frame(rows), expected, check_freq=False)
    pd.testing.assert_frame_equal(
        sim.canonical(exchange_id, "BTC/USDT", "1m", "2024-03-05", "2024-03-07"),
        frame,
        check_freq=False,
    )


def test_replayed_hours_are_aggregates_of_the_frame(
    replay_sim: tuple[ExchangeSimulator, pd.DataFrame],
) -> None:
    sim, frame = replay_sim
    exchange = ccxt.binance(ccxt_config("binance", sim))

    rows = exchange.fetch_ohlcv("BTC/USDT", "1h", since=ms("2024-03-05"), limit=100)

    fetched = rows_to_frame(rows)
    hourly = sim.canonical("binance", "BTC/USDT", "1h", "2024-03-05", "2024-03-07")
    assert len(fetched) == 48  # no bar after the frame's end (and before now)
    pd.testing.assert_frame_equal(fetched, hourly, check_freq=False)
    assert fetched["high"].iloc[0] == frame["high"].iloc[:60].max()
    assert fetched["open"].iloc[5] == frame["open"].iloc[300]


def test_replay_streams_over_websocket(make_sim: Any) -> None:
    frame = minute_frame("2024-03-06 12:00", 120)
    sim = make_sim(speed=600.0, start="2024-03-06 12:30", streams=FAST_STREAMS)
    sim.add_series("binance", "ETH/USDT", frame)

    async def closes() -> list[dict]:
        out = []
        async with websockets.connect(sim.ws_url("binance", ["ethusdt@kline_1m"])) as ws:
            while len(out) < 4:
                k = json.loads(await asyncio.wait_for(ws.recv(), 3.0))["k"]
                if k["x"]:
                    out.append(k)
        return out

    for k in asyncio.run(closes()):
        bar = frame.loc[pd.Timestamp(k["t"], unit="ms", tz="UTC")]
        assert float(k["c"]) == bar["close"] and float(k["v"]) == bar["volume"]


def test_replay_rejects_frames_off_the_bar_grid(frozen_sim: ExchangeSimulator) -> None:
    frame = minute_frame("2024-03-05 00:00:30", 10)

    with pytest.raises(DataValidationError):
        frozen_sim.add_series("binance", "BTC/USDT", frame, "1m")
