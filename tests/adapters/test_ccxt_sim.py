"""The ccxt adapter against the simulator: pagination, the open candle, clocks, every fault."""

# ruff: noqa: F811 - the simulator fixtures are imported, then requested by name

from __future__ import annotations

import threading
import traceback

import pandas as pd
import pytest

from tests.adapters.ccxt_conftest_fixtures import (
    last_days,
    make_provider,
    sim,  # noqa: F401 - fixture
    sim_server,  # noqa: F401 - fixture
)
from tradedata.adapters.base import ProviderSettings, Secret
from tradedata.adapters.ccxt_ import CcxtProvider
from tradedata.adapters.ccxt_.pacing import fixed_window_rate
from tradedata.errors import SymbolNotFoundError, TemporaryProviderError, UnsupportedError
from tradedata.sim.faults import Faults
from tradedata.sim.simulator import ExchangeSimulator

EXCHANGES = ("binance", "bybit")
CANARY = "CANARY-KEY-5f0e1d2c"


def _past_range(sim: ExchangeSimulator, days: float) -> tuple[pd.Timestamp, pd.Timestamp]:
    """A range ending an hour ago, so repeated fetches see the same closed bars."""
    end = sim.now().floor("h") - pd.Timedelta(hours=1)
    return end - pd.Timedelta(days=days), end


@pytest.mark.parametrize("exchange", EXCHANGES)
@pytest.mark.parametrize(
    ("timeframe", "days", "per_page"), [("1m", 4, 1000), ("5m", 10, 1000), ("1h", 60, 500),
                                        ("1d", 400, 150), ("1w", 1000, 40)]
)  # fmt: skip
def test_pagination_equals_canonical(sim, exchange, timeframe, days, per_page):
    start, end = _past_range(sim, days)
    provider = make_provider(sim, exchange, max_candles=per_page)

    got = provider.fetch_ohlcv("BTC/USDT", timeframe, start, end)

    truth = sim.canonical(exchange, "BTC/USDT", timeframe, start, end + pd.Timedelta(seconds=1))
    pd.testing.assert_frame_equal(got, truth, check_freq=False)
    assert len(got) > provider.capabilities.max_candles  # really paginated


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_the_still_open_candle_is_never_returned(sim, exchange):
    provider = make_provider(sim, exchange)
    now = sim.now()
    raw = provider.ccxt_client()
    provider.load_markets()
    served = raw.fetch_ohlcv("BTC/USDT", "1h", limit=3)  # the exchange does serve it

    got = provider.fetch_ohlcv("BTC/USDT", "1h", now - pd.Timedelta(hours=30), now)

    open_bar = now.floor("h")
    assert pd.Timestamp(served[-1][0], unit="ms", tz="UTC") == open_bar
    assert got.index[-1] == open_bar - pd.Timedelta(hours=1)


def test_now_is_the_exchanges_clock_not_ours():
    with ExchangeSimulator(seed=1, start="2024-03-01 12:00:30", speed=0) as frozen:
        provider = make_provider(frozen, "binance")

        readings = [provider.now() for _ in range(3)]

    assert all(r == pd.Timestamp("2024-03-01 12:00:30", tz="UTC") for r in readings)


def test_accelerated_exchange_never_yields_an_open_candle():
    with ExchangeSimulator(seed=2, start="2024-03-01 12:00:00", speed=120) as fast:
        provider = make_provider(fast, "binance")
        start = pd.Timestamp("2024-03-01 08:00", tz="UTC")

        got = provider.fetch_ohlcv("BTC/USDT", "1m", start, fast.now() + pd.Timedelta(hours=1))
        now_after = fast.now()

    assert got.index[-1] < now_after.floor("min")
    assert provider.now() <= now_after


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_unknown_symbol_is_symbol_not_found(sim, exchange):
    start, end = last_days(sim, 1)

    with pytest.raises(SymbolNotFoundError):
        make_provider(sim, exchange).fetch_ohlcv("NOPE/USDT", "1h", start, end)


def test_timeframe_the_exchange_lacks_is_unsupported(sim):
    start, end = last_days(sim, 1)

    with pytest.raises(UnsupportedError, match="8h"):
        make_provider(sim, "bybit").fetch_ohlcv("BTC/USDT", "8h", start, end)


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_only_spot_markets_are_loaded(sim, exchange):
    provider = make_provider(sim, exchange)

    symbols = provider.spot_symbols(quote="USDT")

    assert "BTC/USDT" in symbols and "ADA/BTC" not in symbols
    paths = sim.stats.by_path
    assert not [p for p in paths if p.startswith(("/fapi", "/dapi", "/eapi"))]
    assert paths.get("/v5/market/instruments-info", 0) <= 1


def test_binance_published_limit_is_learned_from_exchange_info(sim):
    sim.set_faults(Faults(rate_limit=3000))
    provider = make_provider(sim, "binance")

    provider.load_markets()

    assert provider.capabilities.rate_limit == fixed_window_rate(3000, 60, max_weight=20)


_FAULTS = {
    "5xx": Faults(error_rate=0.4),
    "latency": Faults(latency=0.01),
    "slow_body": Faults(slow_body_rate=0.5, slow_body_delay=0.005),
    "truncated": Faults(truncate_rate=0.4),
    "malformed": Faults(malformed_rate=0.4),
    "empty_pages": Faults(empty_rate=0.3),
    "everything": Faults(
        error_rate=0.1, truncate_rate=0.1, malformed_rate=0.1, empty_rate=0.1, slow_body_rate=0.1
    ),
}


@pytest.mark.parametrize("exchange", EXCHANGES)
@pytest.mark.parametrize("fault", list(_FAULTS))
def test_every_fault_yields_the_fault_free_series(sim, exchange, fault):
    start, end = _past_range(sim, 8)
    clean = make_provider(sim, exchange).fetch_ohlcv("ETH/USDT", "1m", start, end)
    sim.set_faults(_FAULTS[fault])
    sim.reset_stats()

    got = make_provider(sim, exchange).fetch_ohlcv("ETH/USDT", "1m", start, end)

    stats = sim.stats
    pd.testing.assert_frame_equal(got, clean)
    assert len(got) == 8 * 1440 + 1  # inclusive end
    assert stats.http_418 == 0
    assert fault == "latency" or sum(stats.faults.values()) > 0


def test_binance_429s_are_honoured_without_a_ban(sim):
    start, end = _past_range(sim, 4)
    truth = make_provider(sim, "binance").fetch_ohlcv("SOL/USDT", "1m", start, end)
    sim.set_faults(Faults(rate_limit=24, rate_window=1.0, ban_seconds=30))
    sim.reset_stats()
    provider = make_provider(sim, "binance", fast=False, rate_limit=6000, rate_period=60)

    got = provider.fetch_ohlcv("SOL/USDT", "1m", start, end)

    stats = sim.stats
    pd.testing.assert_frame_equal(got, truth)
    assert stats.http_429 >= 1 and provider.stats.rate_limited >= 1
    assert stats.http_418 == 0


def test_bybit_rate_limit_answers_are_retried(sim):
    start, end = _past_range(sim, 4)
    truth = make_provider(sim, "bybit").fetch_ohlcv("SOL/USDT", "1m", start, end)
    sim.set_faults(Faults(rate_limit=3, rate_window=1.0))
    sim.reset_stats()
    provider = make_provider(sim, "bybit", fast=False, rate_limit=600, rate_period=5)

    got = provider.fetch_ohlcv("SOL/USDT", "1m", start, end)

    pd.testing.assert_frame_equal(got, truth)
    assert sim.stats.bybit_rate_limited >= 1


def test_concurrent_fetches_share_one_budget_and_never_hit_the_limit(sim):
    start, end = _past_range(sim, 4)
    sim.set_faults(Faults(rate_limit=60, rate_window=1.0, ban_seconds=30))
    provider = make_provider(sim, "binance", fast=False, rate_limit=60, rate_period=1)
    symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "ADA/BTC", "BTC/USDT"]
    results: dict[int, pd.DataFrame] = {}

    def fetch(i: int) -> None:
        results[i] = provider.fetch_ohlcv(symbols[i], "1m", start, end)

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(len(symbols))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    stats = sim.stats
    assert stats.http_429 == 0 and stats.http_418 == 0
    assert stats.by_path["/api/v3/klines"] >= 30  # > 60 weight: pacing was needed
    for i, symbol in enumerate(symbols):
        truth = sim.canonical("binance", symbol, "1m", start, end + pd.Timedelta(seconds=1))
        pd.testing.assert_frame_equal(results[i], truth, check_freq=False)


def test_a_failing_exchange_raises_a_temporary_error_without_the_key(sim):
    sim.set_faults(Faults(error_rate=1.0, paths=("/api/v3/klines",)))
    settings = ProviderSettings(url=sim.url, api_key=Secret(CANARY), secret=Secret(CANARY))
    provider = CcxtProvider("binance", settings)
    provider.retry_policy = make_provider(sim).retry_policy  # type: ignore[misc]
    start, end = last_days(sim, 1)

    with pytest.raises(TemporaryProviderError) as info:
        provider.fetch_ohlcv("BTC/USDT", "1h", start, end)

    shown = "".join(traceback.format_exception(info.value))
    assert CANARY not in shown and CANARY not in repr(provider)
