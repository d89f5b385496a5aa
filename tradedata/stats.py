"""Operating statistics: ``DataManager.stats()``, ``dm.reset_stats()`` and ``tradedata stats``.

Two scopes are reported:

* ``process`` — since this Python process started (counters in :mod:`tradedata.metrics`);
* ``persisted`` — since the last reset (``tradedata stats --reset`` or ``dm.reset_stats()``),
  kept in the cache directory (``<cache_dir>/stats``, a small SQLite store shared by every
  process using the cache). Each process adds what it did when the manager is closed, when
  ``stats()`` is called, and at interpreter exit.

Per provider: ``requests``, ``errors`` by error class (and ``errors_total``), ``retries``,
``rate_limit_waits`` (requests that waited for the shared rate limit or a ``Retry-After``) and
the seconds waited, ``latency_p50_ms``/``latency_p95_ms``, and the circuit breaker's current
state (``closed``, ``half-open`` or ``open``). For the cache: ``hits`` and ``misses`` (requested
ranges found wholly in the cache or not), ``bytes_read`` and ``bytes_written`` (compressed bytes
on disk) and ``compression_ratio`` (raw bar bytes written per stored byte).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradedata import metrics

log = logging.getLogger("tradedata.stats")

__all__ = ["Stats", "collect", "flush", "human_bytes", "reset", "track", "untrack"]

_KEY = "stats"
_lock = threading.Lock()
#: per cache directory: the process counters already added to its persisted record
_baselines: dict[str, dict[str, Any]] = {}
#: cache directories of managers not closed yet (flushed at interpreter exit)
_open_dirs: dict[str, int] = {}


def _store(directory: Path) -> Any:
    import diskcache

    return diskcache.Cache(str(directory / "stats"), timeout=10, statistics=0)


def _fresh() -> dict[str, Any]:
    return {"since": time.time(), "counters": metrics.empty_snapshot()}


def flush(directory: str | Path) -> dict[str, Any]:
    """Add this process's new counters to the record persisted in ``directory``; return it."""
    directory = Path(directory)
    key = str(directory.resolve())
    with _lock:
        current = metrics.snapshot()
        delta = metrics.subtract_snapshots(current, _baselines.get(key, metrics.empty_snapshot()))
        store = _store(directory)
        try:
            with store.transact(retry=True):
                record = store.get(_KEY) or _fresh()
                record["counters"] = metrics.add_snapshots(record["counters"], delta)
                store.set(_KEY, record, retry=True)
        finally:
            store.close()
        _baselines[key] = current
    return record


def reset(directory: str | Path) -> None:
    """Start the persisted counters of ``directory`` again from zero, now."""
    directory = Path(directory)
    with _lock:
        store = _store(directory)
        try:
            store.set(_KEY, _fresh(), retry=True)
        finally:
            store.close()
        _baselines[str(directory.resolve())] = metrics.snapshot()


def track(directory: str | Path) -> None:
    """A manager opened ``directory``: count from now for it; flush it at interpreter exit."""
    key = str(Path(directory).resolve())
    with _lock:
        _baselines.setdefault(key, metrics.snapshot())
        _open_dirs[key] = _open_dirs.get(key, 0) + 1


def untrack(directory: str | Path) -> None:
    """A manager of ``directory`` is closed: flush it now, not at exit."""
    directory = Path(directory)
    key = str(directory.resolve())
    with _lock:
        left = _open_dirs.pop(key, 1) - 1
        if left > 0:
            _open_dirs[key] = left
    if directory.is_dir() and _unflushed(key):  # nothing new: the cache stays untouched
        try:
            flush(directory)
        except Exception as exc:  # counters must never break closing a manager
            log.debug("could not save statistics in %s: %s", directory, exc)


def _unflushed(key: str) -> bool:
    delta = metrics.subtract_snapshots(metrics.snapshot(), _baselines.get(key, {}))
    return bool(delta["providers"]) or any(delta["cache"].values())


@atexit.register
def _flush_at_exit() -> None:
    for key in list(_open_dirs):
        directory = Path(key)
        if directory.is_dir() and _unflushed(key):
            with contextlib.suppress(Exception):  # never fail an exiting interpreter
                flush(directory)


def _ts(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds)) + " UTC"


def _breaker_states() -> dict[str, str]:
    import sys

    resilience = sys.modules.get("tradedata.adapters.resilience")
    if resilience is None:  # no provider was used in this process
        return {}
    states: dict[str, str] = resilience.breaker_states()
    return states


def _worst(states: list[str]) -> str:
    for state in ("open", "half-open"):
        if state in states:
            return state
    return "closed"


def _scope(
    counters: dict[str, Any], since: float, breakers: dict[str, str], *, idle: bool = False
) -> dict[str, Any]:
    """One scope's report; ``idle`` also lists providers with a breaker but no requests."""
    providers = {}
    names = set(counters.get("providers", {}))
    if idle:
        names |= {k.split("@", 1)[0] for k in breakers}
    for name in sorted(names):
        raw = counters.get("providers", {}).get(name) or {}
        hist = raw.get("latency_ms", {})
        states = [state for key, state in breakers.items() if key.split("@", 1)[0] == name]
        providers[name] = {
            "requests": int(raw.get("requests", 0)),
            "errors_total": int(raw.get("errors_total", 0)),
            "errors": dict(raw.get("errors", {})),
            "retries": int(raw.get("retries", 0)),
            "rate_limit_waits": int(raw.get("rate_limit_waits", 0)),
            "waited_seconds": round(float(raw.get("waited_seconds", 0.0)), 3),
            "latency_p50_ms": metrics.percentile(hist, 0.50),
            "latency_p95_ms": metrics.percentile(hist, 0.95),
            "circuit": _worst(states),
        }
    cache = dict(counters.get("cache", {}))
    lookups = cache.get("hits", 0) + cache.get("misses", 0)
    cache["hit_ratio"] = round(cache.get("hits", 0) / lookups, 4) if lookups else None
    written = cache.get("bytes_written", 0)
    ratio = cache.get("raw_bytes_written", 0) / written if written else None
    cache["compression_ratio"] = None if ratio is None else round(ratio, 2)
    return {"since": _ts(since), "providers": providers, "cache": cache}


@dataclass(frozen=True)
class Stats:
    """What :meth:`DataManager.stats` returns: counters since process start and since a reset."""

    process: dict[str, Any]
    persisted: dict[str, Any]
    cache_dir: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (what ``tradedata stats --json`` prints)."""
        return {"cache_dir": self.cache_dir, "process": self.process, "persisted": self.persisted}

    @property
    def providers(self) -> dict[str, Any]:
        """Per-provider counters since process start (``persisted["providers"]``: since reset)."""
        return dict(self.process["providers"])

    @property
    def cache(self) -> dict[str, Any]:
        """Cache counters since process start (``persisted["cache"]``: since reset)."""
        return dict(self.process["cache"])

    def __getitem__(self, key: str) -> Any:
        """``stats["persisted"]``, ``stats["providers"]`` (this process), ..."""
        data = {**self.process, **self.to_dict()}
        return data[key]

    def __str__(self) -> str:
        lines = [f"tradedata stats (cache {self.cache_dir})"]
        for title, scope in (("this process", self.process), ("since reset", self.persisted)):
            lines.append(f"\n{title}, since {scope['since']}:")
            lines += _provider_table(scope["providers"])
            lines.append(_cache_line(scope["cache"]))
        return "\n".join(lines)


def _fmt(value: Any, suffix: str = "") -> str:
    return "-" if value is None else f"{value:.1f}{suffix}"


def _provider_table(providers: dict[str, Any]) -> list[str]:
    if not providers:
        return ["  no provider requests"]
    head = (
        f"  {'provider':<14}{'requests':>9}{'errors':>8}{'retries':>8}{'waits':>9}"
        f"{'p50 ms':>9}{'p95 ms':>9}  circuit  errors by class"
    )
    rows = [head]
    for name, p in providers.items():
        by_class = ", ".join(f"{k} {v}" for k, v in sorted(p["errors"].items())) or "-"
        rows.append(
            f"  {name:<14}{p['requests']:>9}{p['errors_total']:>8}{p['retries']:>8}"
            f"{p['rate_limit_waits']:>9}{_fmt(p['latency_p50_ms']):>9}"
            f"{_fmt(p['latency_p95_ms']):>9}  {p['circuit']:<8} {by_class}"
        )
    return rows


def _cache_line(cache: dict[str, Any]) -> str:
    ratio = cache.get("hit_ratio")
    hit = "-" if ratio is None else f"{ratio:.0%}"
    return (
        f"  cache: {cache.get('hits', 0)} hits, {cache.get('misses', 0)} misses ({hit} hits), "
        f"read {human_bytes(cache.get('bytes_read', 0))}, "
        f"written {human_bytes(cache.get('bytes_written', 0))}, "
        f"compression {_fmt(cache.get('compression_ratio'), 'x')}"
    )


def human_bytes(n: float) -> str:
    """``n`` bytes as B, KB, MB or GB (powers of 1000, like the size limit)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{int(n)} B"


def collect(directory: str | Path) -> Stats:
    """Flush this process's counters into ``directory`` and report both scopes."""
    record = flush(directory)
    breakers = _breaker_states()
    current = metrics.snapshot()
    return Stats(
        process=_scope(current, current["started"], breakers, idle=True),
        persisted=_scope(record["counters"], record["since"], breakers),
        cache_dir=str(directory),
    )
