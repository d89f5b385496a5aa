"""The simulator's Bybit linear perpetuals and their open-interest history: the endpoint's
documented rules over raw HTTP, and real ccxt through the manager onto stored bars."""

from __future__ import annotations

import json
import urllib.request
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.sim.simhelpers import FROZEN_NOW, ms
from tradedata.errors import OpenInterestUnavailableError
from tradedata.manager import DataManager
from tradedata.sim.bybit import open_interest_at
from tradedata.sim.simulator import ExchangeSimulator

HOUR = 3_600_000
OI = "/v5/market/open-interest?category=linear&symbol=BTCUSDT&intervalTime=1h"


def get(sim: ExchangeSimulator, path: str) -> Any:
    with urllib.request.urlopen(sim.url + path, timeout=10) as response:
        return json.loads(response.read())


def test_an_over_full_window_gives_its_newest_rows_then_the_cursor_the_rest(
    frozen_sim: ExchangeSimulator,
) -> None:
    day = ms("2024-03-01")
    query = f"{OI}&startTime={day}&endTime={day + 5 * HOUR}&limit=5"

    first = get(frozen_sim, query)["result"]
    again = get(frozen_sim, f"{query}&cursor={first['nextPageCursor']}")["result"]

    assert [int(r["timestamp"]) for r in first["list"]] == [day + h * HOUR for h in (5, 4, 3, 2, 1)]
    assert [int(r["timestamp"]) for r in again["list"]] == [day] and again["nextPageCursor"] == ""
    row = first["list"][0]
    assert float(row["singleOpenInterest"]) == open_interest_at("BTCUSDT", day + 5 * HOUR)
    assert float(row["openInterest"]) == 2 * float(row["singleOpenInterest"])  # both sides


def test_a_lone_start_is_ignored_and_the_limit_is_checked(frozen_sim: ExchangeSimulator) -> None:
    lone = get(frozen_sim, f"{OI}&startTime={ms('2024-01-05')}&limit=3")["result"]["list"]
    newest = FROZEN_NOW.floor("h")
    assert [int(r["timestamp"]) for r in lone] == [ms(newest) - h * HOUR for h in (0, 1, 2)]
    assert get(frozen_sim, f"{OI}&limit=201")["retCode"] == 10001


def test_only_usdt_and_usdc_quoted_markets_have_a_perpetual(make_sim) -> None:
    sim = make_sim(symbols=("ETH/BTC",), speed=0.0, start=FROZEN_NOW)
    linear = get(sim, "/v5/market/instruments-info?category=linear")["result"]["list"]
    assert "ETHBTC" not in {i["symbol"] for i in linear} and "BTCUSDT" in {
        i["symbol"] for i in linear
    }
    spot_only = "/v5/market/open-interest?category=linear&symbol=ETHBTC&intervalTime=1h"
    assert get(sim, spot_only)["retCode"] == 10001
    assert get(sim, spot_only.replace("ETHBTC", "BTCUSDT"))["retCode"] == 0


def test_a_perpetuals_bars_carry_the_simulated_open_interest(
    frozen_sim: ExchangeSimulator, tmp_path: Path
) -> None:
    end = FROZEN_NOW.floor("h") - pd.Timedelta(hours=1)
    start = end - pd.Timedelta(days=10)
    with DataManager(cache_dir=tmp_path / "c", providers={"bybit": {"url": frozen_sim.url}}) as dm:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            frame = dm.get_ohlcv("BYBIT:BTC/USDT:USDT", "4h", start, end, open_interest=True)
        spot = dm.get_ohlcv("BYBIT:BTC/USDT", "4h", start, end)
        with pytest.raises(OpenInterestUnavailableError):
            dm.get_ohlcv("BYBIT:BTC/USDT", "4h", start, end, open_interest=True)

    assert len(frame) == 60 and frame.attrs["open_interest_unfetched"] == []
    expected = [open_interest_at("BTCUSDT", int(t.value // 1_000_000)) for t in frame.index]
    assert frame["open_interest"].tolist() == expected
    assert frame["close"].tolist() == spot["close"].tolist()  # the simulated perp's bars
