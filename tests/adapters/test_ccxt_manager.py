"""The ccxt adapter behind the DataManager: holes only, the open candle, failover, overrides."""

# ruff: noqa: F811 - the simulator fixtures are imported, then requested by name

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pandas as pd
import pytest

from tests.adapters.ccxt_conftest_fixtures import (
    FAST_RETRY,
    child_fetch,
    klines_requests,
    sim,  # noqa: F401 - fixture
    sim_server,  # noqa: F401 - fixture
)
from tradedata.adapters.ccxt_ import CcxtProvider
from tradedata.manager import DataManager
from tradedata.sim.faults import Faults
from tradedata.sim.simulator import ExchangeSimulator


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CcxtProvider, "retry_policy", FAST_RETRY)


@pytest.fixture
def dm(sim: ExchangeSimulator, tmp_path: Path):
    urls = {"url": sim.url, "ws_url": sim.ws_base}
    manager = DataManager(cache_dir=tmp_path / "cache", providers={"binance": urls, "bybit": urls})
    yield manager
    manager.close()


def _range(sim: ExchangeSimulator, days: float) -> tuple[pd.Timestamp, pd.Timestamp]:
    end = sim.now().floor("h") - pd.Timedelta(hours=1)
    return end - pd.Timedelta(days=days), end


def _truth(sim: ExchangeSimulator, exchange: str, symbol: str, tf: str, start, end):
    return sim.canonical(exchange, symbol, tf, start, end + pd.Timedelta(seconds=1))


def test_a_second_fetch_asks_only_for_the_holes(sim, dm):
    start, end = _range(sim, 3)
    mid = start + pd.Timedelta(days=2)
    dm.fetch_missing("BTC/USDT", "1m", start, mid, provider="binance")
    sim.reset_stats()

    dm.fetch_missing("BTC/USDT", "1m", start, end, provider="binance")
    extended = klines_requests(sim)
    dm.cache.remove_coverage(
        "BTC/USDT", "1m", start + pd.Timedelta(hours=1), start + pd.Timedelta(hours=5)
    )
    sim.reset_stats()
    dm.fetch_missing("BTC/USDT", "1m", start, end, provider="binance")
    refilled = klines_requests(sim)
    sim.reset_stats()
    dm.fetch_missing("BTC/USDT", "1m", start, end, provider="binance")

    assert extended == 2  # one day of 1m bars (and the re-checked last ones): two pages
    assert refilled == 1  # the four-hour hole: one page
    assert klines_requests(sim) == 0
    stored = dm.cache.read("BTC/USDT", "1m", start, end)
    pd.testing.assert_frame_equal(stored, _truth(sim, "binance", "BTC/USDT", "1m", start, end),
                                  check_freq=False)  # fmt: skip


def test_the_open_candle_is_never_stored(sim, dm):
    now = sim.now()

    frame = dm.get_ohlcv("ETH/USDT", "1h", now - pd.Timedelta(hours=40), now, provider="binance")
    dm.update("ETH/USDT", "1h", provider="binance")

    stored = dm.cache.read("ETH/USDT", "1h")
    assert frame.index[-1] == now.floor("h") - pd.Timedelta(hours=1)
    assert stored.index[-1] < sim.now().floor("h")


def test_failover_mid_request_to_bybit_is_opt_in_and_stored_under_bybit(sim, dm):
    """Binance dies mid-request: without ``fallback`` the Binance series stops there (the
    rest is reported unfetched); with ``fallback="venues"`` Bybit's bars fill the rest, stored
    in Bybit's series, and the frame says which bars came from which venue."""
    start, end = _range(sim, 4)
    series = sim.canonical("binance", "BTC/USDT", "1m", start, end + pd.Timedelta(seconds=1))
    for exchange in ("binance", "bybit"):
        sim.add_series(exchange, "ZED/USDT", series)
    chunks: list[str] = []

    def binance_dies_after_two_pages(chunk) -> None:
        chunks.append(chunk.provider)
        if len(chunks) == 2:
            sim.set_faults(Faults(error_rate=1.0, paths=("/api/v3/",)))

    result = dm.fetch_missing("ZED/USDT", "1m", start, end, on_chunk=binance_dies_after_two_pages)
    assert result.providers == ["binance"] and not result.complete and "binance" in result.errors
    assert not dm.cache.has("ZED/USDT", "1m", source="bybit")
    own = dm.cache.read("ZED/USDT", "1m", start, end)
    assert len(own) and own.index[-1] < end

    frame = dm.get_ohlcv("ZED/USDT", "1m", start, end, fallback="venues")
    pd.testing.assert_frame_equal(frame, series, check_freq=False)
    assert [s["source"] for s in frame.attrs["sources"]] == ["binance", "bybit"]
    assert frame.attrs["sources"][0]["bars"] == len(own)
    spans = dm.cache.coverage("ZED/USDT", "1m")
    assert [s.provider for s in spans] == ["binance"]  # Binance's series holds Binance only
    pd.testing.assert_frame_equal(dm.cache.read("ZED/USDT", "1m", start, end), own)
    assert dm.cache.provider_at("ZED/USDT", "1m", end, source="bybit") == "bybit"
    assert frame.attrs["sources"][1]["start"] == own.index[-1] + pd.Timedelta(minutes=1)
    assert sim.stats.http_418 == 0


def test_endpoint_from_environment_variable(sim, tmp_path, monkeypatch):
    monkeypatch.setenv("TRADEDATA_BYBIT_URL", sim.url)
    start, end = _range(sim, 1)

    with DataManager(cache_dir=tmp_path / "c") as manager:
        frame = manager.get_ohlcv("SOL/USDT", "1h", start, end, provider="bybit")
        url = manager.provider("bybit").settings.url

    assert url == sim.url
    assert sim.stats.by_path["/v5/market/kline"] >= 1
    pd.testing.assert_frame_equal(frame, _truth(sim, "bybit", "SOL/USDT", "1h", start, end),
                                  check_freq=False)  # fmt: skip


def test_endpoint_and_options_from_yaml_config(sim, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(
        f"providers:\n  binance:\n    url: {sim.url}\n    options: {{max_candles: 100}}\n"
    )
    start, end = _range(sim, 1)

    with DataManager(cache_dir=tmp_path / "c", config=config) as manager:
        frame = manager.get_ohlcv("XRP/USDT", "1h", start, end, provider="binance")
        caps = manager.provider("binance").capabilities

    assert caps.max_candles == 100
    assert len(frame) == 25 and sim.stats.by_path["/api/v3/klines"] == 1


@pytest.mark.slow
def test_two_processes_fill_one_cache_without_duplicates(sim, tmp_path):
    start, end = _range(sim, 3)
    cache = str(tmp_path / "shared")
    ctx = multiprocessing.get_context("spawn")
    args = (cache, sim.url, "ADA/BTC", "1m", start.isoformat(), end.isoformat())

    with ctx.Pool(2) as pool:
        bars = pool.starmap(child_fetch, [args, args])

    with DataManager(cache_dir=cache) as manager:
        stored = manager.cache.read("ADA/BTC", "1m", start, end)
        missing = manager.cache.missing_ranges("ADA/BTC", "1m", start, end)
    assert stored.index.is_unique and not missing
    assert min(bars) >= 0 and max(bars) >= 3 * 1440
    pd.testing.assert_frame_equal(stored, _truth(sim, "binance", "ADA/BTC", "1m", start, end),
                                  check_freq=False)  # fmt: skip
