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
import errno
import io
import json
import os
import sqlite3
import threading
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


#: What a failed write of the store raises (full disk, read-only file system, locked file ...).
STORE_ERRORS = (OSError, sqlite3.Error, diskcache.Timeout)


_FULL = "the disk is full (free some space, or lower CACHE_MAX_SIZE_GB)"


def _disk_full(path: Path) -> bool:
    """True when the file system holding ``path`` has (almost) no space left."""
    for folder in (path, *path.parents):
        try:
            st = os.statvfs(folder)
        except (OSError, AttributeError):
            continue
        return st.f_bavail * st.f_frsize < 64 * 1024
    return False


def _reason(exc: BaseException, path: Path | None = None) -> str:
    """One line for a store failure; says so plainly when the disk is full."""
    if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "disk is full" in str(exc):
        return _FULL
    if isinstance(exc, sqlite3.Error) and path is not None and _disk_full(path):
        return _FULL  # SQLite may report a failed write to a full disk as "disk I/O error"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


class _NeedsSetup(Exception):
    """Internal: the store is new or its settings differ; diskcache must set it up."""


class _ExistingStore(diskcache.Cache):  # type: ignore[misc]
    """An existing diskcache opened without rewriting anything.

    ``diskcache.Cache.__init__`` rewrites its settings table on every open, so merely opening
    a cache changed its database file, and failed on a read-only database or a full disk.
    This reads the settings instead (diskcache sets the store up only when they differ).
    ``mode`` ``"?mode=ro"`` or ``"?immutable=1"`` opens the database for reading only (a
    WAL database in a folder we may not write needs ``immutable``; its owner's uncommitted
    writes are then not seen).
    """

    def __init__(self, directory: str, timeout: float, mode: str | None = None) -> None:
        self._directory = directory
        self._timeout = timeout
        self._mode = mode
        self._local = threading.local()
        self._txn_id = None
        try:
            settings = dict(self._sql("SELECT key, value FROM Settings").fetchall())
        except sqlite3.OperationalError as exc:
            if mode is None and "no such table" in str(exc):
                raise _NeedsSetup from None  # another process is creating the store right now
            raise
        wanted = {**diskcache.core.DEFAULT_SETTINGS, **_SETTINGS}
        stale = any(settings.get(k) != v for k, v in wanted.items())
        if mode is None and (stale or not set(diskcache.core.METADATA) <= set(settings)):
            raise _NeedsSetup
        disk = {k[5:]: v for k, v in settings.items() if k.startswith("disk_")}
        self._disk = diskcache.Disk(directory, **disk)
        for key, value in settings.items():
            setattr(self, key, value)
        ((self._page_size,),) = self._sql("PRAGMA page_size").fetchall()
        if mode is None:  # may we write? (takes the write lock briefly, changes nothing)
            self._sql("PRAGMA busy_timeout = 200")
            try:
                self._sql("BEGIN IMMEDIATE")
                self._sql("ROLLBACK")
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc):  # busy means someone writes: it is writable
                    raise
            finally:
                self._sql(f"PRAGMA busy_timeout = {int(timeout * 1000)}")

    def __getstate__(self) -> tuple[str, float, str | None]:
        return (self._directory, self._timeout, self._mode)

    def __setstate__(self, state: tuple[str, float, str | None]) -> None:
        self.__init__(*state)  # type: ignore[misc]

    @property
    def _con(self) -> sqlite3.Connection:
        if self._mode is None:
            return diskcache.Cache._con.fget(self)  # type: ignore[no-any-return]
        con = getattr(self._local, "con", None)
        if con is None:
            uri = Path(self._directory, diskcache.core.DBNAME).resolve().as_uri() + self._mode
            con = self._local.con = sqlite3.connect(
                uri, uri=True, timeout=self._timeout, isolation_level=None
            )
        return con


def _open(path: Path, timeout: float) -> diskcache.Cache:
    """The store at ``path``, created when new, opened without writes when it exists."""
    if (path / diskcache.core.DBNAME).is_file():
        try:
            return _ExistingStore(str(path), timeout)
        except _NeedsSetup:
            pass
    return diskcache.Cache(str(path), timeout=timeout, **_SETTINGS)


class Backend:
    """Typed access to the diskcache store under ``directory / "store"``."""

    def __init__(self, directory: Path, timeout: float = 60.0) -> None:
        self.path = directory / "store"
        #: Why the store could only be opened for reading (None: it is writable).
        self.read_only: str | None = None
        try:
            self.dc = _open(self.path, timeout)
        except STORE_ERRORS as exc:
            self.dc = self._open_read_only(exc, timeout)
        self._toucher: diskcache.Cache | None = None
        self._pending: dict[str, float] = {}
        self._touch_after = 0.0

    def _open_read_only(self, exc: BaseException, timeout: float) -> diskcache.Cache:
        """The store opened for reading only, when it exists; else a :class:`CacheError`."""
        if not (self.path / diskcache.core.DBNAME).is_file():
            raise CacheError(
                f"cannot open the cache at {self.path}: {_reason(exc, self.path)}"
            ) from exc
        last: BaseException = exc
        # "mode=ro" shares SQLite's locks with writers; a WAL database in a folder we may not
        # write needs "immutable=1" (its owner's uncommitted writes are not seen).
        for mode in ("?mode=ro", "?immutable=1"):
            try:
                store = _ExistingStore(str(self.path), timeout, mode)
                store.get("s|")  # a first real read, so a store that cannot be read fails here
            except STORE_ERRORS as again:
                last = again
                continue
            self.read_only = _reason(exc, self.path)
            return store
        raise CacheError(
            f"cannot open the cache at {self.path}: {_reason(exc, self.path)}"
        ) from last

    def writable(self) -> None:
        """Raise :class:`CacheError` when the store was opened for reading only."""
        if self.read_only is not None:
            raise CacheError(
                f"the cache at {self.path} can only be read ({self.read_only}); nothing was written"
            )

    @contextlib.contextmanager
    def writing(self, what: str) -> Iterator[None]:
        """Turn a failed write (full disk, read-only files) into one :class:`CacheError`."""
        self.writable()
        try:
            yield
        except STORE_ERRORS as exc:
            reason = _reason(exc, self.path)
            raise CacheError(f"cannot {what} in the cache at {self.path}: {reason}") from exc

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
        with self.writing("store a record"):
            self.dc.set(key, dumps(value), expire=expire, retry=True)

    def put_data(self, key: str, blob: bytes) -> Path | None:
        """Store a partition blob as its own file; returns the file's path.

        Inside a transaction that then fails, the row is rolled back but the file stays:
        the caller removes it (see :meth:`remove_files`).
        """
        with self.writing("store a partition"):
            self.dc.set(key, io.BytesIO(blob), read=True, retry=True)
            handle = self.dc.get(key, read=True, retry=True)
        if handle is None or isinstance(handle, bytes):
            return None
        handle.close()
        return Path(handle.name)

    @staticmethod
    def remove_files(paths: list[Path]) -> None:
        """Remove data files of a write that was rolled back (best effort)."""
        for path in paths:
            with contextlib.suppress(OSError):
                path.unlink()

    def open_data(self, key: str) -> BinaryIO | bytes | None:
        """An open handle on a partition blob (bytes if stored inline), or None if missing."""
        return self.dc.get(key, read=True, retry=True)

    def delete(self, *keys: str) -> None:
        """Delete keys (missing ones are ignored)."""
        with self.writing("delete a record"):
            for key in keys:
                self.dc.delete(key, retry=True)

    @contextlib.contextmanager
    def transact(self) -> Iterator[None]:
        """Serialise a read-modify-write across threads and processes (SQLite write lock)."""
        with self.writing("update records"), self.dc.transact(retry=True):
            yield

    def keys(self, prefix: str) -> Iterator[str]:
        """Keys starting with ``prefix`` (``"p|"``, ``"s|BTC/USDT|"``, ...), in key order.

        A range query on the key index: listing one series' partitions does not scan the rest.
        """
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        rows = self.dc._sql(
            "SELECT key FROM Cache WHERE raw = 1 AND key >= ? AND key < ? ORDER BY key",
            (prefix, upper),
        ).fetchall()
        for (key,) in rows:
            if isinstance(key, str) and key.startswith(prefix):
                yield key

    def partition_years(self, symbol: str, timeframe: str) -> list[int]:
        """The years with a metadata row (``p|``) for a series, ascending."""
        years = []
        for key in self.keys(_key("p", symbol, timeframe, "")):
            tail = key.rsplit("|", 1)[-1]
            if tail.isdigit():
                years.append(int(tail))
        return sorted(years)

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
        if self.read_only is not None:
            return
        for key in keys:
            self._pending[key] = now
        if not self._pending or now < self._touch_after:
            return
        try:
            if self._toucher is None:
                self._toucher = _open(self.path, _TOUCH_TIMEOUT)
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
