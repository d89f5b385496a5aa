"""Process-wide counters behind ``DataManager.stats()`` (see :mod:`tradedata.stats`).

This module sits at the bottom of the package (it imports nothing from tradedata), so the
provider base class and the cache can record what they do without importing the manager:

* :func:`record_call` — one provider request: its latency and, when it failed, the error class;
  :func:`record_retry` and :func:`record_wait` — a retry and seconds spent waiting for the
  shared rate limit (or a server's ``Retry-After``).
* :func:`record_cache_lookup` — a requested range found wholly in the cache (hit) or not
  (miss); :func:`record_cache_read` / :func:`record_cache_write` — stored (compressed) bytes
  read and written, and the raw bytes of the bars they hold.

:func:`snapshot` returns every counter as plain JSON-ready data; latencies are kept as a
histogram with log-spaced buckets so that snapshots can be added and percentiles read back
(:func:`percentile`) without keeping every sample.
"""

from __future__ import annotations

import bisect
import copy
import math
import threading
import time
from typing import Any

__all__ = [
    "BUCKETS_MS",
    "add_snapshots",
    "empty_snapshot",
    "percentile",
    "record_cache_lookup",
    "record_cache_read",
    "record_cache_write",
    "record_call",
    "record_retry",
    "record_wait",
    "snapshot",
    "subtract_snapshots",
]

#: Upper bounds (milliseconds) of the latency histogram's buckets: 0.1 ms .. ~10 min, x1.25.
BUCKETS_MS: tuple[float, ...] = tuple(round(0.1 * 1.25**i, 4) for i in range(83))

_lock = threading.Lock()
_started = time.time()

_PROVIDER_KEYS = ("requests", "errors_total", "retries", "rate_limit_waits", "waited_seconds")
_CACHE_KEYS = ("hits", "misses", "bytes_read", "bytes_written", "raw_bytes_written")


def _new_provider() -> dict[str, Any]:
    return {**{k: 0 for k in _PROVIDER_KEYS}, "errors": {}, "latency_ms": {}}


def empty_snapshot() -> dict[str, Any]:
    """A snapshot with every counter at zero."""
    return {"providers": {}, "cache": {k: 0 for k in _CACHE_KEYS}}


_data: dict[str, Any] = empty_snapshot()


def _provider(name: str) -> dict[str, Any]:
    entry = _data["providers"].get(name)
    if entry is None:
        entry = _data["providers"][name] = _new_provider()
    return entry


def _bucket(ms: float) -> str:
    i = bisect.bisect_left(BUCKETS_MS, ms)
    return str(min(i, len(BUCKETS_MS) - 1))


def record_call(provider: str, seconds: float, error: BaseException | None = None) -> None:
    """One request to ``provider`` took ``seconds``; ``error`` is what it raised, if anything."""
    with _lock:
        entry = _provider(provider)
        entry["requests"] += 1
        hist = entry["latency_ms"]
        key = _bucket(seconds * 1000.0)
        hist[key] = hist.get(key, 0) + 1
        if error is not None:
            entry["errors_total"] += 1
            name = type(error).__name__
            entry["errors"][name] = entry["errors"].get(name, 0) + 1


def record_retry(provider: str) -> None:
    """A failed request to ``provider`` is tried again."""
    with _lock:
        _provider(provider)["retries"] += 1


def record_wait(provider: str, seconds: float) -> None:
    """A request to ``provider`` waited ``seconds`` for the rate limit (or a Retry-After)."""
    if seconds <= 0:
        return
    with _lock:
        entry = _provider(provider)
        entry["rate_limit_waits"] += 1
        entry["waited_seconds"] += float(seconds)


def record_cache_lookup(hit: bool) -> None:
    """A requested range was wholly in the cache (``hit``) or needed fetching."""
    with _lock:
        _data["cache"]["hits" if hit else "misses"] += 1


def record_cache_read(stored_bytes: int) -> None:
    """``stored_bytes`` of compressed partition data were read from disk."""
    with _lock:
        _data["cache"]["bytes_read"] += int(stored_bytes)


def record_cache_write(stored_bytes: int, raw_bytes: int) -> None:
    """A partition of ``raw_bytes`` (bars in memory) was written as ``stored_bytes``."""
    with _lock:
        _data["cache"]["bytes_written"] += int(stored_bytes)
        _data["cache"]["raw_bytes_written"] += int(raw_bytes)


def snapshot() -> dict[str, Any]:
    """A deep copy of every counter since the process started (``started`` is a Unix time)."""
    with _lock:
        out = copy.deepcopy(_data)
    out["started"] = _started
    return out


def _combine(a: dict[str, Any], b: dict[str, Any], sign: int) -> dict[str, Any]:
    out = empty_snapshot()
    for key in _CACHE_KEYS:
        out["cache"][key] = a.get("cache", {}).get(key, 0) + sign * b.get("cache", {}).get(key, 0)
    names = set(a.get("providers", {})) | set(b.get("providers", {}))
    for name in sorted(names):
        pa = a.get("providers", {}).get(name) or _new_provider()
        pb = b.get("providers", {}).get(name) or _new_provider()
        entry = _new_provider()
        for key in _PROVIDER_KEYS:
            entry[key] = pa.get(key, 0) + sign * pb.get(key, 0)
        for field in ("errors", "latency_ms"):
            fa, fb = pa.get(field, {}), pb.get(field, {})
            merged = {k: fa.get(k, 0) + sign * fb.get(k, 0) for k in set(fa) | set(fb)}
            entry[field] = {k: v for k, v in sorted(merged.items()) if v}
        if any(entry[k] for k in _PROVIDER_KEYS):
            out["providers"][name] = entry
    return out


def add_snapshots(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The counters of ``a`` plus those of ``b`` (``started`` is dropped)."""
    return _combine(a, b, 1)


def subtract_snapshots(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The counters of ``a`` minus those of ``b`` (``b`` an earlier snapshot of the same run)."""
    return _combine(a, b, -1)


def percentile(histogram: dict[str, int], q: float) -> float | None:
    """The ``q`` quantile (0..1) in milliseconds of a latency histogram (None when empty).

    The answer is the upper bound of the bucket holding that quantile (within 25%).
    """
    counts = sorted((int(k), int(v)) for k, v in histogram.items() if int(v) > 0)
    total = sum(v for _, v in counts)
    if not total:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index, count in counts:
        seen += count
        if seen >= rank:
            return BUCKETS_MS[min(index, len(BUCKETS_MS) - 1)]
    return BUCKETS_MS[counts[-1][0]]


def _reset_for_tests() -> None:
    """Zero every counter (tests only)."""
    global _data
    with _lock:
        _data = empty_snapshot()
