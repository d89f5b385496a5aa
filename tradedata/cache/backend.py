"""The diskcache layer: one SQLite index (process-safe, WAL) plus one file per partition.

Keys are plain strings so they sort and can be listed by prefix::

    p|SYMBOL|TF|YEAR        partition metadata (JSON), including the current data generation
    d|SYMBOL|TF|YEAR|GEN    partition data (gzip bytes, always stored as a file)
    a|SYMBOL|TF|YEAR        last access time (float), for least-recently-used eviction
    s|SYMBOL|TF             series index (JSON): the years stored
    c|SYMBOL|TF             coverage spans (JSON)
    f|KEY                   fundamentals (JSON, with a diskcache expiry)

A partition is replaced by writing its data under a new generation, then switching the metadata
in one transaction, then deleting the old data file: a writer killed at any point leaves the
previous generation readable. Data files not referenced by metadata are garbage and are removed
by :func:`collect_garbage`.
"""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import diskcache

from tradedata.cache.layout import dumps
from tradedata.errors import CacheError

__all__ = ["Backend"]

_SETTINGS: dict[str, Any] = {
    "eviction_policy": "none",  # tradedata evicts whole partitions itself
    "cull_limit": 0,
    "size_limit": 2**62,
    "statistics": 0,
    # JSON values stay inline in SQLite so replacing them is transactional; partition data
    # is always a file (written with ``read=True``).
    "disk_min_file_size": 2**31,
}
_TOUCH_TIMEOUT = 0.05  # seconds a reader waits to record an access time
_TOUCH_BACKOFF = 1.0


def _key(*parts: object) -> str:
    return "|".join(str(p) for p in parts)


class Backend:
    """Typed access to the diskcache store under ``directory / "store"``."""

    def __init__(self, directory: Path, timeout: float = 60.0) -> None:
        self.path = directory / "store"
        try:
            self.dc = diskcache.Cache(str(self.path), timeout=timeout, **_SETTINGS)
        except (OSError, sqlite3.Error, diskcache.Timeout) as exc:
            raise CacheError(f"cannot open the cache at {self.path}: {exc}") from exc
        self._toucher: diskcache.Cache | None = None
        self._pending: dict[str, float] = {}
        self._touch_after = 0.0

    # -- keys ----------------------------------------------------------------------------------
    @staticmethod
    def meta_key(symbol: str, timeframe: str, year: int) -> str:
        """Key of a partition's metadata."""
        return _key("p", symbol, timeframe, year)

    @staticmethod
    def data_key(symbol: str, timeframe: str, year: int, gen: str) -> str:
        """Key of one generation of a partition's data."""
        return _key("d", symbol, timeframe, year, gen)

    @staticmethod
    def atime_key(symbol: str, timeframe: str, year: int) -> str:
        """Key of a partition's last access time."""
        return _key("a", symbol, timeframe, year)

    @staticmethod
    def series_key(symbol: str, timeframe: str) -> str:
        """Key of a series' index of years."""
        return _key("s", symbol, timeframe)

    @staticmethod
    def coverage_key(symbol: str, timeframe: str) -> str:
        """Key of a series' coverage spans."""
        return _key("c", symbol, timeframe)

    @staticmethod
    def actions_key(symbol: str) -> str:
        """Key of a symbol's corporate-actions record (JSON)."""
        return _key("x", symbol)

    @staticmethod
    def fundamentals_key(name: str) -> str:
        """Key of a fundamentals entry."""
        return _key("f", name)

    # -- values --------------------------------------------------------------------------------
    def get_json(self, key: str) -> Any:
        """The JSON value at ``key`` or None; raises ``ValueError`` if it is not valid JSON."""
        text = self.dc.get(key)
        if text is None:
            return None
        if not isinstance(text, str):
            raise ValueError(f"{key} does not hold JSON text")
        return json.loads(text)

    def set_json(self, key: str, value: Any, expire: float | None = None) -> None:
        """Store ``value`` as JSON text."""
        self.dc.set(key, dumps(value), expire=expire, retry=True)

    def put_data(self, key: str, blob: bytes) -> None:
        """Store a partition blob as its own file."""
        self.dc.set(key, io.BytesIO(blob), read=True, retry=True)

    def open_data(self, key: str) -> BinaryIO | bytes | None:
        """An open handle on a partition blob (bytes if stored inline), or None if missing."""
        return self.dc.get(key, read=True, retry=True)

    def delete(self, *keys: str) -> None:
        """Delete keys (missing ones are ignored)."""
        for key in keys:
            self.dc.delete(key, retry=True)

    @contextlib.contextmanager
    def transact(self) -> Iterator[None]:
        """Serialise a read-modify-write across threads and processes (SQLite write lock)."""
        with self.dc.transact(retry=True):
            yield

    def keys(self, prefix: str) -> Iterator[str]:
        """Keys starting with ``prefix`` (``"p|"``, ``"s|BTC/USDT|"``, ...)."""
        for key in self.dc.iterkeys():
            if isinstance(key, str) and key.startswith(prefix):
                yield key

    def used_bytes(self) -> int:
        """Bytes used on disk: the SQLite index plus every data file."""
        return int(self.dc.volume())

    # -- access times --------------------------------------------------------------------------
    def touch(self, keys: list[str]) -> None:
        """Record an access now, best effort: never waits long for a busy writer.

        When the store is busy the times are kept and written with a later touch (after a
        short back-off), so least-recently-used order stays roughly right.
        """
        now = time.time()
        for key in keys:
            self._pending[key] = now
        if not self._pending or now < self._touch_after:
            return
        try:
            if self._toucher is None:
                self._toucher = diskcache.Cache(str(self.path), timeout=_TOUCH_TIMEOUT, **_SETTINGS)
            with self._toucher.transact(retry=False):
                for key, stamp in list(self._pending.items()):
                    self._toucher.set(key, stamp)
        except (diskcache.Timeout, sqlite3.Error, OSError):
            self._touch_after = now + _TOUCH_BACKOFF
            return
        self._pending.clear()

    def close(self) -> None:
        """Close the SQLite connections (after writing pending access times)."""
        self._touch_after = 0.0
        self.touch([])
        if self._toucher is not None:
            self._toucher.close()
        self.dc.close()
