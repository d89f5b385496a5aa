"""DataManager.stats(): provider and cache counters, since process start and since a reset."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.support.memory_provider import MemoryProvider, synthetic
from tradedata import metrics
from tradedata.adapters.base import RateLimit
from tradedata.errors import AllProvidersFailedError, RateLimitError, TemporaryProviderError
from tradedata.manager import DataManager

NOW = "2024-01-03 00:00"


def _flaky(page: int) -> Exception | None:
    # the first page fails twice (a 5xx, then a rate limit) before it is served
    return {1: TemporaryProviderError("boom"), 2: RateLimitError("slow down")}.get(page)


def _manager(cache_dir: Path, name: str) -> tuple[DataManager, MemoryProvider]:
    dm = DataManager(cache_dir=cache_dir)
    prov = MemoryProvider(synthetic("2024-01-01", 2 * 1440), NOW, name=name, fail=_flaky)
    dm.add_provider(prov, name)
    return dm, prov


def test_stats_count_requests_errors_retries_latency_and_cache(cache_dir: Path) -> None:
    dm, prov = _manager(cache_dir, "statsprov")
    frame = dm.get_ohlcv("BTC/USDT", "1m", "2024-01-01 00:00", "2024-01-01 09:59", "statsprov")
    assert len(frame) == 600
    dm.get_ohlcv("BTC/USDT", "1m", "2024-01-01 00:00", "2024-01-01 09:59", "statsprov")  # warm
    report = dm.stats()
    p = report.process["providers"]["statsprov"]
    assert p["requests"] == prov.pages == 8  # 2 failures + 6 pages of 100 bars
    assert p["errors"] == {"TemporaryProviderError": 1, "RateLimitError": 1}
    assert p["errors_total"] == 2 and p["retries"] == 2
    assert p["latency_p50_ms"] is not None and p["latency_p95_ms"] >= p["latency_p50_ms"]
    assert p["circuit"] == "closed"
    cache = report.process["cache"]
    assert cache["misses"] >= 1 and cache["hits"] >= 1
    assert cache["bytes_written"] > 0 and cache["bytes_read"] > 0
    # raw float64 bars compress: the ratio is raw bytes per stored byte
    assert cache["compression_ratio"] > 1.5
    persisted = report.persisted["providers"]["statsprov"]
    assert persisted["requests"] == 8 and persisted["retries"] == 2
    assert report["providers"] == report.providers == report.process["providers"]
    assert report["persisted"] is report.persisted and report.cache["hits"] == cache["hits"]
    text = str(report)
    assert "statsprov" in text and "since reset" in text and "compression" in text
    dm.close()


def test_persisted_stats_survive_the_manager_and_reset(cache_dir: Path) -> None:
    dm, _ = _manager(cache_dir, "persistprov")
    dm.get_ohlcv("BTC/USDT", "1m", "2024-01-01 00:00", "2024-01-01 01:39", "persistprov")
    dm.close()
    again = DataManager(cache_dir=cache_dir)
    first = again.stats().persisted["providers"]["persistprov"]
    assert first["requests"] == 3  # two failures and one page
    assert again.stats().persisted["providers"]["persistprov"]["requests"] == 3  # not doubled
    again.reset_stats()
    after = again.stats()
    assert "persistprov" not in after.persisted["providers"]
    assert after.persisted["cache"]["misses"] == 0
    # the process scope is not reset
    assert after.process["providers"]["persistprov"]["requests"] >= 3
    again.close()


def test_open_circuit_is_reported(cache_dir: Path) -> None:
    dm = DataManager(cache_dir=cache_dir)
    prov = MemoryProvider(
        synthetic("2024-01-01", 1440),
        NOW,
        name="deadprov",
        fail=lambda page: TemporaryProviderError("down"),
    )
    dm.add_provider(prov, "deadprov")
    for _ in range(3):
        with pytest.raises(AllProvidersFailedError):
            dm.get_ohlcv("BTC/USDT", "1m", "2024-01-01 00:00", "2024-01-01 01:00", "deadprov")
    p = dm.stats().process["providers"]["deadprov"]
    assert p["circuit"] == "open"
    assert p["errors"]["TemporaryProviderError"] == p["requests"]
    dm.close()


def test_percentile_reads_the_histogram() -> None:
    hist: dict[str, int] = {}
    for ms in [1.0] * 90 + [100.0] * 10:
        key = str(next(i for i, b in enumerate(metrics.BUCKETS_MS) if b >= ms))
        hist[key] = hist.get(key, 0) + 1
    assert metrics.percentile(hist, 0.5) == pytest.approx(1.0, rel=0.25)
    assert metrics.percentile(hist, 0.95) == pytest.approx(100.0, rel=0.25)
    assert metrics.percentile({}, 0.5) is None


def test_snapshots_add_and_subtract() -> None:
    a = metrics.empty_snapshot()
    a["providers"]["x"] = {
        "requests": 3, "errors_total": 1, "retries": 1, "rate_limit_waits": 0,
        "waited_seconds": 0.0, "errors": {"E": 1}, "latency_ms": {"10": 3},
    }  # fmt: skip
    a["cache"]["hits"] = 2
    both = metrics.add_snapshots(a, a)
    assert both["providers"]["x"]["requests"] == 6 and both["cache"]["hits"] == 4
    assert metrics.subtract_snapshots(both, a) == metrics.add_snapshots(a, metrics.empty_snapshot())


class _SlowLimit(MemoryProvider):
    """The memory provider behind a tight rate limit: 2 requests, refilled at 20 per second."""

    capabilities = dataclasses.replace(MemoryProvider.capabilities, rate_limit=RateLimit(2, 0.1))


def test_rate_limit_waits_are_counted(cache_dir: Path) -> None:
    dm = DataManager(cache_dir=cache_dir)
    prov = _SlowLimit(synthetic("2024-01-01", 1440), NOW, name="slowprov")
    dm.add_provider(prov, "slowprov")
    dm.get_ohlcv("BTC/USDT", "1m", "2024-01-01 00:00", "2024-01-01 09:59", "slowprov")
    p = dm.stats().process["providers"]["slowprov"]
    assert p["requests"] == 6  # 600 bars, 100 a page
    assert p["rate_limit_waits"] >= 3  # the bucket holds 2; each further request waits
    assert 0.1 <= p["waited_seconds"] <= 2.0  # ~4 waits of 0.05 s
    dm.close()
