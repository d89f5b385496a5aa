"""Fixtures and helpers for the ccxt adapter and bulk-download tests (import them explicitly).

One simulator (Binance + Bybit on 127.0.0.1) per test module; every test gets it with faults
cleared, counters zeroed and fresh process-wide rate-limit buckets and circuit breakers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from tradedata.adapters import resilience
from tradedata.adapters.base import ProviderSettings
from tradedata.adapters.ccxt_ import CcxtProvider, cooldown
from tradedata.adapters.resilience import RetryPolicy
from tradedata.sim.faults import Faults
from tradedata.sim.simulator import ExchangeSimulator

#: Retries fast enough for tests and patient enough for 40 % fault rates.
FAST_RETRY = RetryPolicy(max_attempts=14, base_delay=0.005, max_delay=0.05)
SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "ADA/BTC")


@pytest.fixture(scope="module")
def sim_server() -> Iterator[ExchangeSimulator]:
    """One running simulator for the whole module."""
    with ExchangeSimulator(seed=7, symbols=SYMBOLS) as server:
        yield server


@pytest.fixture
def sim(sim_server: ExchangeSimulator, monkeypatch: pytest.MonkeyPatch) -> ExchangeSimulator:
    """The module's simulator: no faults, zeroed counters, fresh buckets, breakers, cooldowns."""
    sim_server.set_faults(Faults())
    sim_server.reset_stats()
    monkeypatch.setattr(resilience, "_buckets", {})
    monkeypatch.setattr(resilience, "_breakers", {})
    monkeypatch.setattr(cooldown, "_cooldowns", {})
    return sim_server


def make_provider(
    sim: ExchangeSimulator, exchange: str = "binance", *, fast: bool = True, **options: Any
) -> CcxtProvider:
    """A provider for ``exchange`` pointed at ``sim`` (fast retries unless ``fast`` is False)."""
    settings = ProviderSettings(url=sim.url, ws_url=sim.ws_base, options=options)
    provider = CcxtProvider(exchange, settings)
    if fast:
        provider.retry_policy = FAST_RETRY  # type: ignore[misc]
    return provider


def last_days(sim: ExchangeSimulator, days: float) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``[now - days, now]`` on the simulator's clock."""
    end = sim.now()
    return end - pd.Timedelta(days=days), end


def klines_requests(sim: ExchangeSimulator) -> int:
    """Kline requests the simulator has answered (both exchanges)."""
    paths = sim.stats.by_path
    return paths.get("/api/v3/klines", 0) + paths.get("/v5/market/kline", 0)


def no_faults() -> Faults:
    """The fault-free setting."""
    return Faults()


def child_fetch(cache_dir: str, url: str, symbol: str, timeframe: str, start: str, end: str) -> int:
    """Run in a child process: fetch a series from the simulator into ``cache_dir``."""
    from tradedata.manager import DataManager

    with DataManager(cache_dir=cache_dir, providers={"binance": {"url": url}}) as manager:
        return manager.fetch_missing(symbol, timeframe, start, end, provider="binance").bars
