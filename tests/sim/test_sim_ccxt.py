"""Unmodified ccxt (sync and async) against the simulator: markets, time, paginated OHLCV."""

from __future__ import annotations

import asyncio
from typing import Any

import ccxt
import ccxt.async_support as ccxt_async
import pandas as pd
import pytest
from simhelpers import FROZEN_NOW, ccxt_config, ms, rows_to_frame

from tradedata.sim import ExchangeSimulator, Faults

START = ms("2024-02-20 03:17")  # not on a bar boundary


def paginate(exchange: Any, symbol: str, timeframe: str, since: int, until: int) -> list[list]:
    """fetch_ohlcv pages of 1000 from ``since`` until a bar opens at or after ``until``."""
    rows: list[list] = []
    step = exchange.parse_timeframe(timeframe) * 1000
    while since < until:
        page = exchange.fetch_ohlcv(symbol, timeframe, since=since, limit=1000)
        if not page:
            break
        rows += [r for r in page if r[0] < until]
        since = page[-1][0] + step
    return rows


@pytest.mark.parametrize("exchange_id", ["binance", "bybit"])
def test_load_markets_and_fetch_time(frozen_sim: ExchangeSimulator, exchange_id: str) -> None:
    exchange = getattr(ccxt, exchange_id)(ccxt_config(exchange_id, frozen_sim))

    markets = exchange.load_markets()

    assert {"BTC/USDT", "ETH/USDT", "SOL/USDT"} <= set(markets)
    assert markets["BTC/USDT"]["spot"] is True
    assert exchange.fetch_time() == ms(FROZEN_NOW)


@pytest.mark.parametrize("exchange_id", ["binance", "bybit"])
@pytest.mark.parametrize(
    ("timeframe", "start", "bars"),
    [("1m", START, 2500), ("1h", ms("2024-01-03 05:30"), 1100)],
)
def test_paginated_ohlcv_equals_canonical(
    frozen_sim: ExchangeSimulator, exchange_id: str, timeframe: str, start: int, bars: int
) -> None:
    exchange = getattr(ccxt, exchange_id)(ccxt_config(exchange_id, frozen_sim))
    step = exchange.parse_timeframe(timeframe) * 1000
    until = min(start + bars * step, ms(FROZEN_NOW) // step * step)

    fetched = rows_to_frame(paginate(exchange, "BTC/USDT", timeframe, start, until))
    truth = frozen_sim.canonical(exchange_id, "BTC/USDT", timeframe, start, until)

    assert len(truth) > 1000
    pd.testing.assert_frame_equal(fetched, truth, check_freq=False)


@pytest.mark.parametrize("exchange_id", ["binance", "bybit"])
def test_daily_and_monthly_bars_equal_canonical(
    frozen_sim: ExchangeSimulator, exchange_id: str
) -> None:
    exchange = getattr(ccxt, exchange_id)(ccxt_config(exchange_id, frozen_sim))

    open_bars = {"1d": "2024-03-06", "1w": "2024-03-04", "1M": "2024-03-01"}
    for timeframe, open_bar in open_bars.items():
        rows = exchange.fetch_ohlcv("ETH/USDT", timeframe, since=ms("2024-01-01"), limit=100)
        truth = frozen_sim.canonical(exchange_id, "ETH/USDT", timeframe, "2024-01-01")
        assert rows[-1][0] == ms(open_bar)
        pd.testing.assert_frame_equal(rows_to_frame(rows[:-1]), truth, check_freq=False)


def test_bybit_newest_first_lists_come_out_oldest_first(frozen_sim: ExchangeSimulator) -> None:
    exchange = ccxt.bybit(ccxt_config("bybit", frozen_sim))

    rows = exchange.fetch_ohlcv("SOL/USDT", "5m", since=START, limit=300)

    stamps = [r[0] for r in rows]
    assert stamps == sorted(stamps)
    assert len(stamps) == 300


@pytest.mark.parametrize("exchange_id", ["binance", "bybit"])
def test_latest_bar_is_the_open_one(frozen_sim: ExchangeSimulator, exchange_id: str) -> None:
    exchange = getattr(ccxt, exchange_id)(ccxt_config(exchange_id, frozen_sim))

    rows = exchange.fetch_ohlcv("BTC/USDT", "1h", limit=5)
    truth = frozen_sim.canonical(exchange_id, "BTC/USDT", "1h", rows[0][0])

    assert rows[-1][0] == ms(FROZEN_NOW.floor("1h"))
    assert len(truth) == 4  # the open bar is not canonical yet
    pd.testing.assert_frame_equal(rows_to_frame(rows[:-1]), truth, check_freq=False)


def test_async_ccxt_fetches_concurrently(frozen_sim: ExchangeSimulator) -> None:
    async def run() -> dict[str, list[list]]:
        clients = {
            "binance": ccxt_async.binance(ccxt_config("binance", frozen_sim)),
            "bybit": ccxt_async.bybit(ccxt_config("bybit", frozen_sim)),
        }
        try:
            await asyncio.gather(*(c.load_markets() for c in clients.values()))
            pages = await asyncio.gather(
                *(
                    c.fetch_ohlcv("ETH/USDT", "15m", since=START, limit=500)
                    for c in clients.values()
                )
            )
            return dict(zip(clients, pages, strict=True))
        finally:
            await asyncio.gather(*(c.close() for c in clients.values()))

    pages = asyncio.run(run())

    for exchange_id, rows in pages.items():
        truth = frozen_sim.canonical(exchange_id, "ETH/USDT", "15m", START, rows[-1][0] + 1)
        pd.testing.assert_frame_equal(rows_to_frame(rows), truth, check_freq=False)


def test_ccxt_maps_injected_faults_to_its_errors(make_sim: Any) -> None:
    sim = make_sim(speed=0.0, faults=Faults(error_rate=1.0, paths=("/klines",)))
    exchange = ccxt.binance(ccxt_config("binance", sim))
    exchange.load_markets()

    with pytest.raises((ccxt.ExchangeNotAvailable, ccxt.RequestTimeout, ccxt.ExchangeError)):
        exchange.fetch_ohlcv("BTC/USDT", "1m", limit=5)
    assert sum(sim.stats.faults.values()) == 1


def test_ccxt_sees_binance_rate_limit_as_ddos_protection(make_sim: Any) -> None:
    sim = make_sim(speed=0.0, faults=Faults(rate_limit=30, rate_window=60.0))
    exchange = ccxt.binance(ccxt_config("binance", sim))
    exchange.load_markets()  # exchangeInfo (20) + futures (1 + 1)

    with pytest.raises(ccxt.DDoSProtection):
        for _ in range(10):
            exchange.fetch_ohlcv("BTC/USDT", "1m", limit=5)
    assert sim.stats.http_429 == 1
