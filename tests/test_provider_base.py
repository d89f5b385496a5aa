"""The shared provider machinery: pagination, open candle, chunks, errors, secrets."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from tests.support.memory_provider import MemoryProvider, synthetic
from tradedata.adapters.base import ProviderSettings, Secret
from tradedata.errors import TemporaryProviderError, UnsupportedError


def test_paginates_across_many_pages_exactly() -> None:
    data = synthetic("2024-01-01", 1000)
    prov = MemoryProvider(data, now="2024-01-02")
    out = prov.fetch_ohlcv("BTC/USDT", "1m", "2024-01-01", "2024-01-01 16:39")
    pd.testing.assert_frame_equal(out, data, check_freq=False)
    assert prov.pages == 10


def test_open_candle_is_never_returned() -> None:
    data = synthetic("2024-01-01", 100)
    prov = MemoryProvider(data, now="2024-01-01 01:30:30")  # the 01:30 bar is still open
    out = prov.fetch_ohlcv("BTC/USDT", "1m", "2024-01-01", "2024-01-01 05:00")
    assert out.index[-1] == pd.Timestamp("2024-01-01 01:29", tz="UTC")


def test_chunks_cover_ranges_without_holes() -> None:
    data = synthetic("2024-01-01", 250)
    prov = MemoryProvider(data, now="2024-01-02")
    chunks = list(prov.iter_chunks("BTC/USDT", "1m", "2024-01-01", "2024-01-01 10:00"))
    assert chunks[0].start == pd.Timestamp("2024-01-01", tz="UTC")
    for a, b in itertools.pairwise(chunks):
        assert b.start == a.end + pd.Timedelta(minutes=1)
    assert chunks[-1].end == pd.Timestamp("2024-01-01 10:00", tz="UTC")  # no data after 04:09
    assert sum(len(c.frame) for c in chunks) == 250


def test_transient_errors_are_retried_and_data_is_complete() -> None:
    data = synthetic("2024-01-01", 500)
    prov = MemoryProvider(
        data, now="2024-01-02", fail=lambda n: TemporaryProviderError("503") if n % 2 else None
    )
    out = prov.fetch_ohlcv("BTC/USDT", "1m", "2024-01-01", "2024-01-01 08:19")
    pd.testing.assert_frame_equal(out, data, check_freq=False)
    assert prov.stats.retries >= 5


def test_empty_page_mid_range_is_asked_again() -> None:
    data = synthetic("2024-01-01", 300)
    empty_once = {3}

    class Glitchy(MemoryProvider):
        def fetch_page(self, symbol, timeframe, since, until, limit):  # type: ignore[override]
            page = super().fetch_page(symbol, timeframe, since, until, limit)
            return page.iloc[:0] if self.pages in empty_once else page

    prov = Glitchy(data, now="2024-01-02")
    out = prov.fetch_ohlcv("BTC/USDT", "1m", "2024-01-01", "2024-01-01 04:59")
    assert len(out) == 300


def test_unsupported_timeframe_and_market() -> None:
    prov = MemoryProvider(synthetic("2024-01-01", 10), now="2024-01-02")
    with pytest.raises(UnsupportedError):
        list(prov.iter_chunks("BTC/USDT", "3m", "2024-01-01", "2024-01-01 01:00"))
    with pytest.raises(UnsupportedError):
        list(prov.iter_chunks("AAPL", "1m", "2024-01-01", "2024-01-01 01:00"))
    assert not prov.supports("AAPL", "1m") and prov.supports("BTCUSDT", "1h")


def test_secrets_never_show() -> None:
    settings = ProviderSettings(api_key="CANARY-123", secret="CANARY-456")
    prov = MemoryProvider(synthetic("2024-01-01", 1), now="2024-01-02", settings=settings)
    for text in (repr(settings), str(settings), repr(prov), str(settings.api_key)):
        assert "CANARY" not in text
    assert isinstance(settings.api_key, Secret) and settings.api_key.get() == "CANARY-123"
