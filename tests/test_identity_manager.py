"""DataManager and the selector with series identity: naming a source, pinning, imports."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.support.memory_provider import MemoryProvider, synthetic
from tradedata.errors import ConfigurationError, InputError
from tradedata.identity import source_of_provider
from tradedata.manager import DataManager
from tradedata.selection import ProviderSelector

RULES = {"rules": {"crypto": {"primary": "memA", "backup": ["memB"]}}}
DATA = synthetic("2024-01-01", 300)


def _dm(cache_dir: Path, *names: str) -> DataManager:
    dm = DataManager(cache_dir=cache_dir, config=RULES)
    for i, name in enumerate(names):
        shifted = DATA.copy()
        shifted[["open", "high", "low", "close"]] += i  # each venue its own prices
        dm.add_provider(MemoryProvider(shifted, now="2024-01-02", name=name))
    return dm


def test_naming_a_venue_reads_and_fills_only_its_series(cache_dir: Path) -> None:
    dm = _dm(cache_dir, "memA", "memB", "memc")
    a = dm.get_ohlcv("BTC/USDT", "1m", "2024-01-01", "2024-01-01 01:39")
    b = dm.get_ohlcv("MEMB:BTC/USDT", "1m", "2024-01-01", "2024-01-01 01:39")
    c = dm.get_ohlcv("BTC/USDT", "1m", "2024-01-01", "2024-01-01 01:39", exchange="memc")
    assert (a.attrs["source"], b.attrs["source"], c.attrs["source"]) == ("mema", "memb", "memc")
    assert (a.attrs["provider"], b.attrs["provider"], c.attrs["provider"]) == (
        "memA",
        "memB",
        "memc",  # a venue the rule does not list: asked by its own name
    )
    assert (b["close"] - a["close"]).eq(1).all() and (c["close"] - a["close"]).eq(2).all()
    assert dm.cache.sources("BTC/USDT", "1m") == ["mema", "memb", "memc"]
    pd.testing.assert_frame_equal(
        dm.get_ohlcv("memb:BTC/USDT", "1m", provider="cache"), b, check_freq=False
    )


def test_a_pinned_provider_must_deliver_the_named_source(cache_dir: Path) -> None:
    dm = _dm(cache_dir, "memA", "memB")
    with pytest.raises(InputError, match="delivers"):
        dm.get_ohlcv("BTC/USDT", "1m", "2024-01-01", "2024-01-01 00:10", provider="memA",
                     exchange="memb")  # fmt: skip
    with pytest.raises(InputError, match="names source"):
        dm.get_ohlcv("MEMA:BTC/USDT", "1m", exchange="memb")
    with pytest.raises(InputError, match="fallback"):
        dm.get_ohlcv("BTC/USDT", "1m", fallback="anything")
    assert dm.cache.series() == []


def test_import_joins_the_series_get_ohlcv_reads(cache_dir: Path) -> None:
    dm = _dm(cache_dir, "memA")
    dm.import_frame(DATA.iloc[:50], "BTC/USDT", "1m", source="file")
    dm.import_frame(DATA.iloc[:20] * 2, "BTC/USDT", "1m", source="file", exchange="kraken")
    frame = dm.get_ohlcv("BTC/USDT", "1m", provider="cache")
    assert frame.attrs["source"] == "mema" and len(frame) == 50
    assert frame.attrs["provider"] == "file"
    kraken = dm.get_ohlcv("KRAKEN:BTC/USDT", "1m", provider="cache")
    assert len(kraken) == 20 and kraken.attrs["source"] == "kraken"
    assert dm.delete("BTC/USDT", "1m", exchange="kraken") == 1
    assert dm.cache.sources("BTC/USDT") == ["mema"]


def test_rule_fallback_setting_is_checked() -> None:
    with pytest.raises(ConfigurationError, match="fallback"):
        ProviderSelector({"crypto": {"primary": "binance", "fallback": "always"}})
    selector = ProviderSelector({"crypto": {"primary": "binance", "fallback": "venues"}})
    assert selector.fallback_for("BTC/USDT", "1h") == "venues"
    assert ProviderSelector().fallback_for("BTC/USDT", "1h") is None


def test_equity_sources_follow_volume_scope() -> None:
    assert source_of_provider("yahoo", "AAPL", "1d") == "consolidated"
    assert source_of_provider("alpaca", "AAPL", "1h") == "iex"  # the free feed
    assert source_of_provider("alpaca", "AAPL", "1h", feed="sip") == "consolidated"
    assert source_of_provider("tiingo", "AAPL", "1h") == "iex"  # Tiingo intraday is IEX
    assert source_of_provider("tiingo", "AAPL", "1d") == "consolidated"
    assert source_of_provider("bybit", "BTC/USDT", "1h") == "bybit"
    assert source_of_provider("coingecko", "BTC/USDT", "1h") == "coingecko"
    selector = ProviderSelector(config=None)
    assert selector.source_of("alpaca", "MSFT", "1h") == "iex"


def test_a_panel_compares_venues_side_by_side(cache_dir: Path) -> None:
    dm = _dm(cache_dir, "memA", "memB")
    panel = dm.get_panel(["BTC/USDT", "memb:BTC/USDT"], "1m", "2024-01-01", "2024-01-01 00:59")
    assert list(panel.columns) == ["BTC/USDT", "MEMB:BTC/USDT"]
    assert (panel["MEMB:BTC/USDT"] - panel["BTC/USDT"]).eq(1).all()


def test_download_stores_under_the_exchange_and_plans_from_its_series(cache_dir: Path) -> None:
    from tradedata.download import download

    dm = _dm(cache_dir, "memA", "memb")
    dm.get_ohlcv("BTC/USDT", "1m", "2024-01-01", "2024-01-01 04:59")  # memA's series, full
    args = {"timeframes": ["1m"], "start": "2024-01-01", "end": "2024-01-01 04:59"}
    report = download(["MEMB:BTC/USDT"], exchange="memb", manager=dm, progress=False, **args)
    (res,) = report.series
    assert res.source == "memb" and res.expected == 300 and res.stored == 300
    assert len(dm.cache.read("BTC/USDT", "1m", source="memb")) == 300
    again = download(["BTC/USDT"], exchange="memb", manager=dm, progress=False, **args)
    assert again.series[0].expected == 0  # planned from memb's own coverage
    with pytest.raises(InputError, match="names source"):
        download(["KRAKEN:BTC/USDT"], exchange="memb", manager=dm, progress=False, **args)
