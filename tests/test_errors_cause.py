"""Errors that name the cause: symbol not found, every provider's reason kept, never empty."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.support.memory_provider import MemoryProvider, synthetic
from tradedata.errors import (
    AllProvidersFailedError,
    SymbolNotFoundError,
    SymbolNotListedError,
    TemporaryProviderError,
)
from tradedata.manager import DataManager

RULES = {"rules": {"crypto": {"primary": "memA", "backup": ["memB"]}}}
DATA = synthetic("2024-01-01", 60)


def _dm(cache_dir: Path, *providers: MemoryProvider, config: object = RULES) -> DataManager:
    dm = DataManager(cache_dir=cache_dir, config=config)  # type: ignore[arg-type]
    for prov in providers:
        dm.add_provider(prov)
    return dm


def _failing(name: str, error: Exception) -> MemoryProvider:
    return MemoryProvider(DATA, now="2024-01-02", name=name, fail=lambda n: error)


def test_a_pinned_provider_that_does_not_list_the_symbol_raises_symbol_not_found(
    cache_dir: Path,
) -> None:
    dm = _dm(cache_dir, _failing("memA", SymbolNotFoundError("memA does not list NOPE/USDT")))

    with pytest.raises(SymbolNotFoundError, match="memA does not list NOPE/USDT"):
        dm.get_ohlcv("NOPE/USDT", "1m", "2024-01-01", "2024-01-01 00:30", provider="memA")
    assert dm.cache.series() == []


def test_every_provider_saying_not_found_is_a_symbol_not_found_error(cache_dir: Path) -> None:
    dm = _dm(
        cache_dir,
        _failing("memA", SymbolNotFoundError("memA: unknown symbol")),
        _failing("memB", SymbolNotFoundError("memB: no such market")),
    )

    with pytest.raises(SymbolNotFoundError) as info:  # memA and memB are two venues: opt in
        dm.get_ohlcv("NOPE/USDT", "1m", "2024-01-01", "2024-01-01 00:30", fallback="venues")

    err = info.value
    assert isinstance(err, SymbolNotListedError) and isinstance(err, AllProvidersFailedError)
    assert "memA: unknown symbol" in str(err) and "memB: no such market" in str(err)
    assert set(err.errors) == {"memA", "memB"}


def test_mixed_failures_keep_each_providers_reason(cache_dir: Path) -> None:
    dm = _dm(
        cache_dir,
        _failing("memA", SymbolNotFoundError("memA: unknown symbol")),
        _failing("memB", TemporaryProviderError("memB: 503 service unavailable")),
    )

    with pytest.raises(AllProvidersFailedError) as info:  # two venues: opt in to ask both
        dm.get_ohlcv("NOPE/USDT", "1m", "2024-01-01", "2024-01-01 00:30", fallback="venues")

    err = info.value
    assert not isinstance(err, SymbolNotFoundError)
    assert "memA: unknown symbol" in str(err) and "503 service unavailable" in str(err)
    assert isinstance(err.errors["memB"], TemporaryProviderError)


def test_a_provider_too_shallow_for_the_range_says_so(cache_dir: Path) -> None:
    class Shallow(MemoryProvider):
        capabilities = replace(MemoryProvider.capabilities, history_days={"1m": 1})

    dm = _dm(cache_dir, Shallow(DATA, now="2024-01-09", name="memA"))

    with pytest.raises(AllProvidersFailedError) as info:
        dm.get_ohlcv("BTC/USDT", "1m", "2024-01-01", "2024-01-01 00:30", provider="memA")

    assert "memA serves 1m bars only for the last 1 days" in str(info.value)
    assert dm.cache.coverage("BTC/USDT", "1m", source="memA") == []


def test_all_providers_failed_is_never_raised_with_an_empty_reason() -> None:
    err = AllProvidersFailedError(
        "no data for AAPL 1h: ", errors={"yahoo": TemporaryProviderError("timed out")}
    )
    assert str(err) == "no data for AAPL 1h: yahoo: timed out"
    assert str(AllProvidersFailedError("no data for AAPL 1h:")).endswith(
        "no provider gave a reason"
    )
