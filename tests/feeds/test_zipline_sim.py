"""A crypto minute bundle fetched for real: ccxt against the loopback Binance simulator.

The cache starts empty, so ingest fetches every kline through the data manager (provider
``binance`` aimed at the simulator), then zipline replays them in minute mode.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from zipline_fixtures import Recorder, Workspace, module_workspace, transactions

from tradedata.manager import DataManager
from tradedata.sim import ExchangeSimulator

pytest.importorskip("zipline")

NAME = "td-sim-1m"
SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]


@pytest.fixture(scope="module")
def sim() -> Iterator[ExchangeSimulator]:
    with ExchangeSimulator(
        exchanges=["binance"],
        seed=3,
        speed=0.0,
        start="2024-01-05 12:00",
        history_start="2024-01-01",
    ) as server:
        yield server


@pytest.fixture(scope="module")
def fetched(
    sim: ExchangeSimulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Workspace, Recorder, pd.DataFrame]]:
    def fill(ws: Workspace) -> None:
        ws.manager.close()
        ws.manager = DataManager(
            cache_dir=ws.manager.cache_dir, providers={"binance": {"url": sim.url}}
        )
        ws.register(NAME, SYMBOLS, "1m", "2024-01-02", "2024-01-03", provider="binance")
        ws.ingest(NAME)

    for ws in module_workspace(tmp_path_factory, fill):
        rec = Recorder(SYMBOLS, order_on_first={"SOL/USDT": 5})
        perf = ws.run(NAME, "2024-01-03", "2024-01-03", rec, frequency="minute")
        yield ws, rec, perf


def test_ingest_fetched_what_the_cache_lacked(
    sim: ExchangeSimulator, fetched: tuple[Workspace, Recorder, pd.DataFrame]
) -> None:
    from tradedata.feeds.zipline import last_ingest_report

    ws, _, _ = fetched
    report = last_ingest_report(NAME)

    for sym in SYMBOLS:
        cached = ws.manager.cache.read(sym, "1m")
        assert len(cached) == report.asset(sym).bars == 2 * 1440
        assert cached.index[0] == pd.Timestamp("2024-01-01 23:59", tz="UTC")
    assert report.asset("BTC/USDT").price_ratio == 1000
    assert report.asset("SOL/USDT").price_ratio == 10_000  # quoted to 4 decimals


def test_minute_closes_are_the_exchanges_klines(
    sim: ExchangeSimulator, fetched: tuple[Workspace, Recorder, pd.DataFrame]
) -> None:
    _, rec, _ = fetched

    for sym in SYMBOLS:
        seen = rec.closes_series(sym)
        truth = sim.canonical("binance", sym, "1m", "2024-01-02 23:59", "2024-01-03 23:59")
        assert len(seen) == len(truth) == 1440
        np.testing.assert_allclose(seen.to_numpy(), truth["close"].to_numpy(), rtol=1e-12)


def test_orders_fill_at_the_next_klines_close(
    sim: ExchangeSimulator, fetched: tuple[Workspace, Recorder, pd.DataFrame]
) -> None:
    _, _, perf = fetched

    (fill,) = transactions(perf)

    truth = sim.canonical("binance", "SOL/USDT", "1m", "2024-01-03 00:00", "2024-01-03 00:01")
    assert fill["amount"] == 5
    assert fill["dt"] == pd.Timestamp("2024-01-03 00:01", tz="UTC")
    assert fill["price"] == pytest.approx(truth["close"].iloc[0], rel=1e-12)


def test_daily_bars_the_daily_writer_cannot_hold_are_left_empty_and_explained(
    fetched: tuple[Workspace, Recorder, pd.DataFrame],
) -> None:
    from tradedata.feeds.zipline import last_ingest_report

    report = last_ingest_report(NAME)

    assert report.asset("BTC/USDT").daily_omitted is None
    omitted = report.asset("SOL/USDT").daily_omitted or ""
    assert "fixed daily ratio 1000" in omitted and "price_tolerance=" in omitted
