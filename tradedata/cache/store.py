"""The :class:`Cache`: partitions of OHLCV bars, their metadata and coverage, on disk.

``Cache`` is the front of the embedded store: it owns one collaborator per idea, built and
listed by :func:`~tradedata.cache.wiring.assemble`, and its public methods hand over to them.
Where the cache lives and how large it may grow: :mod:`tradedata.cache.settings`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from tradedata import metrics
from tradedata.actions import CorporateActions
from tradedata.cache.coverage import CoverageSpan
from tradedata.cache.layout import Damage, SeriesInfo, store_name
from tradedata.cache.locks import file_lock, lock_name
from tradedata.cache.partitions import QualityFn
from tradedata.cache.settings import (
    DEFAULT_MAX_SIZE_GB,
    default_cache_dir,
    expand,
    make_directory,
    size_limit,
)
from tradedata.cache.tree import Progress
from tradedata.cache.wiring import assemble
from tradedata.model import parse_range, parse_timeframe

__all__ = ["DEFAULT_MAX_SIZE_GB", "Cache", "default_cache_dir"]


class Cache:
    """A process-safe on-disk store of OHLCV partitions keyed by (source, symbol, timeframe, year).

    ``cache_dir`` defaults to ``DATA_CACHE_DIR`` or ``platformdirs.user_cache_dir("tradedata")``;
    ``max_size_gb`` to ``CACHE_MAX_SIZE_GB`` or 20. Beyond the limit, whole partitions are
    evicted least recently used first (their coverage with them). Symbols and timeframes are
    expected normalised (``BTC/USDT``, ``1h``). Several processes may use one directory at once.

    Every series method takes ``source=``: the venue or equity volume scope the series belongs
    to (:mod:`tradedata.identity`); ``None`` is the symbol's default source
    (:func:`~tradedata.identity.default_source`). Two sources' series never share bars.
    """

    def __init__(
        self, cache_dir: str | os.PathLike[str] | None = None, max_size_gb: float | None = None
    ) -> None:
        self.directory: Path = expand(cache_dir, "cache_dir") if cache_dir else default_cache_dir()
        limit = size_limit(max_size_gb)
        make_directory(self.directory, cache_dir)
        self.quarantine_dir: Path = self.directory / "quarantine"
        self._parts = parts = assemble(self.directory, self.quarantine_dir, limit)
        self._db = parts.db

    @property
    def max_size_bytes(self) -> int:
        """The size limit; beyond it, least recently used partitions are evicted."""
        return self._parts.integrity.max_size_bytes

    @max_size_bytes.setter
    def max_size_bytes(self, value: int) -> None:
        self._parts.integrity.max_size_bytes = value

    def __repr__(self) -> str:
        return f"<Cache {str(self.directory)!r} limit={self.max_size_bytes / 1e9:g} GB>"

    @property
    def location(self) -> str:
        """The cache folder, as text."""
        return str(self.directory)

    def hole_lock(
        self, symbol: str, timeframe: str, start: Any, end: Any, *, source: str | None = None
    ) -> AbstractContextManager[None]:
        """A machine-wide lock for fetching ``[start, end]`` of a series (a file lock)."""
        name = store_name(symbol, source)
        key = lock_name(name, timeframe, pd.Timestamp(start).value, pd.Timestamp(end).value)
        return file_lock(self.directory / "locks" / f"{key}.lock")

    # -- writing -------------------------------------------------------------------------------
    def write(
        self,
        symbol: str,
        timeframe: str,
        frame: pd.DataFrame,
        *,
        source: str | None = None,
        provider: str | None = None,
        provider_info: dict | None = None,
        quality: QualityFn | None = None,
        coverage: tuple[Any, Any] | None = None,
    ) -> list[int]:
        """Merge ``frame`` into the ``source`` series' year partitions; returns the years touched.

        ``provider`` names who delivered the rows (kept per row and in coverage; default: the
        source's name). Rows at a timestamp already stored are replaced by the new ones
        (within ``frame`` the last row for a timestamp wins). ``quality(partition_frame)``
        computes each touched partition's ``data_quality`` dict; ``provider_info`` is kept per
        provider in the metadata. ``coverage=(start, end)`` also marks that range fetched from
        ``provider``, in the same transaction. When the store cannot be written (the disk is
        full, the cache can only be read) a :class:`CacheError` is raised and nothing is
        changed.
        """
        return self._parts.writer.write(
            store_name(symbol, source), timeframe, frame, provider=provider,
            provider_info=provider_info, quality=quality, coverage=coverage,
        )  # fmt: skip

    def rescore(
        self,
        symbol: str,
        timeframe: str,
        year: int,
        quality: QualityFn,
        *,
        source: str | None = None,
    ) -> bool:
        """Recompute one stored year's ``data_quality`` as ``quality(its stored bars)``, in
        one transaction; the bars, their generation and coverage stay as they are. False when
        the year holds no (readable) bars."""
        return self._parts.writer.rescore(store_name(symbol, source), timeframe, year, quality)

    @contextmanager
    def pinned(
        self,
        symbol: str,
        timeframe: str,
        start: Any = None,
        end: Any = None,
        *,
        source: str | None = None,
    ) -> Iterator[None]:
        """Inside the block, size-limit eviction (by this object) never removes a partition
        of ``symbol``/``timeframe`` overlapping ``[start, end]`` (None: unbounded).

        :meth:`DataManager.get_ohlcv` pins what it fetches and reads, so a small
        ``CACHE_MAX_SIZE_GB`` cannot evict bars of the request being served; when the limit is
        too small for them, a :class:`CacheLimitWarning` says so and the limit is exceeded.
        """
        tf = parse_timeframe(timeframe).name
        s, e = parse_range(start, end)
        first, last = s.year if s is not None else 0, e.year if e is not None else 10**6
        with self._parts.integrity.pinned(store_name(symbol, source), tf, first, last):
            yield

    # -- reading --------------------------------------------------------------------------------
    def read(
        self,
        symbol: str,
        timeframe: str,
        start: Any = None,
        end: Any = None,
        *,
        source: str | None = None,
    ) -> pd.DataFrame:
        """Bars with ``start <= open time <= end`` (either may be None) as a schema frame.

        Only the partitions, and within them only the months, overlapping the range are read.
        A damaged partition (bad data, a lost metadata row, a series index that disagrees with
        the partitions) is quarantined with a :class:`CacheCorruptionWarning` and left out,
        its coverage removed so it is fetched again; it never raises for damage.
        ``frame.attrs["damaged"]`` lists the ``(first, last)`` ranges left out for that reason
        by this read: :meth:`DataManager.get_ohlcv` fetches them again at once.
        """
        return self._parts.reader.read(store_name(symbol, source), timeframe, start, end)

    def partition_file(
        self, symbol: str, timeframe: str, year: int, *, source: str | None = None
    ) -> Path | None:
        """The data file of a partition (for diagnostics), or None when it is not stored."""
        return self._parts.reader.partition_file(store_name(symbol, source), timeframe, year)

    def has(self, symbol: str, timeframe: str, *, source: str | None = None) -> bool:
        """True when at least one partition of the series is stored."""
        return bool(self._parts.catalog.years(store_name(symbol, source), timeframe))

    def years(self, symbol: str, timeframe: str, *, source: str | None = None) -> list[int]:
        """The years stored for a series, ascending."""
        return self._parts.catalog.years(store_name(symbol, source), timeframe)

    def metadata(
        self, symbol: str, timeframe: str, year: int, *, source: str | None = None
    ) -> dict | None:
        """The metadata of one partition (None when it is not stored)."""
        return self._parts.catalog.metadata(store_name(symbol, source), timeframe, year)

    def sources(self, symbol: str, timeframe: str | None = None) -> list[str]:
        """The sources with a series (or coverage) of ``symbol`` stored, sorted."""
        return self._parts.catalog.sources(symbol, timeframe)

    def series(self) -> list[SeriesInfo]:
        """Every stored series with its range, bars, size, score, providers and years."""
        return self._parts.catalog.series()

    def covered_series(self) -> list[tuple[str, str, str]]:
        """``(source, symbol, timeframe)`` of every series with a coverage record."""
        return self._parts.coverage.covered_series()

    # -- coverage -------------------------------------------------------------------------------
    def coverage(
        self, symbol: str, timeframe: str, *, source: str | None = None
    ) -> list[CoverageSpan]:
        """The fetched spans of a series, sorted and disjoint (inclusive bounds, UTC)."""
        return self._parts.coverage.listing(store_name(symbol, source), timeframe)

    def add_coverage(
        self,
        symbol: str,
        timeframe: str,
        start: Any,
        end: Any,
        provider: str,
        fetched_at: Any = None,
        *,
        source: str | None = None,
    ) -> None:
        """Record that ``[start, end]`` was fetched from ``provider`` (even if it had no bars)."""
        self._parts.coverage.add(
            store_name(symbol, source), timeframe, start, end, provider, fetched_at
        )

    def remove_coverage(
        self, symbol: str, timeframe: str, start: Any, end: Any, *, source: str | None = None
    ) -> None:
        """Forget that ``[start, end]`` was fetched, so it is fetched again."""
        self._parts.coverage.remove(store_name(symbol, source), timeframe, start, end)

    def missing_ranges(
        self, symbol: str, timeframe: str, start: Any, end: Any, *, source: str | None = None
    ) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
        """The parts of ``[start, end]`` never fetched, as ``(first, last)`` bar open times.

        Bar opens are on the timeframe's epoch-aligned grid; a fetched range that had no bars
        counts as fetched. Empty when everything is covered.
        """
        holes = self._parts.coverage.missing_ranges(
            store_name(symbol, source), timeframe, start, end
        )
        metrics.record_cache_lookup(hit=not holes)
        return holes

    def provider_at(
        self, symbol: str, timeframe: str, ts: Any, *, source: str | None = None
    ) -> str | None:
        """The provider that supplied the bar at ``ts`` (None if that time was never fetched)."""
        return self._parts.coverage.provider_at(store_name(symbol, source), timeframe, ts)

    # -- removing ------------------------------------------------------------------------------
    def delete(
        self, symbol: str, timeframe: str | None = None, *, source: str | None = None
    ) -> int:
        """Remove a series (every timeframe when ``timeframe`` is None) and its coverage.

        Only the ``source`` series go (None: the default source's). Returns the number of
        partitions removed.
        """
        return self._parts.writer.delete(store_name(symbol, source), timeframe)

    def clear(self) -> None:
        """Remove everything: partitions, coverage, fundamentals and the quarantine folder."""
        with self._db.writing("clear"):
            self._db.dc.clear(retry=True)
        self._parts.quarantine.clear()

    # -- the rest ------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """Directory, bytes used, limit, and counts of series, partitions and quarantined items."""
        partitions = sum(1 for _ in self._db.keys("p|"))
        return {
            "location": self.location,
            "directory": str(self.directory),
            "size_bytes": self._db.used_bytes(),
            "max_size_bytes": self.max_size_bytes,
            "series": sum(1 for _ in self._db.keys("s|")),
            "partitions": partitions,
            "quarantined": len(self._parts.quarantine.quarantined()),
            "fundamentals": len(self._parts.fundamentals.keys()),
        }

    # -- damage -------------------------------------------------------------------------------
    def quarantined(self) -> list[Damage]:
        """Everything moved to the quarantine folder so far, oldest first."""
        return self._parts.quarantine.quarantined()

    def clear_quarantine(self) -> int:
        """Delete everything in the quarantine folder; returns the records removed."""
        return self._parts.quarantine.clear()

    def verify(
        self, progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None
    ) -> list[Damage]:
        """Check every partition fully; quarantine damaged ones; clean up leftovers.

        Returns every quarantined item (those found now and earlier), oldest first. Leftovers
        of interrupted writes (unreferenced data files) are removed, and the series index is
        checked against the partitions' metadata rows (a lost row is quarantined, an index
        missing a year rebuilt). ``progress`` wraps the iteration over partitions (e.g.
        ``tqdm``). Raises :class:`CacheError` on a cache that can only be read.
        """
        return self._parts.integrity.verify(progress)

    def collect_garbage(self) -> int:
        """Remove data generations and access records no metadata refers to; fix the index."""
        return self._parts.integrity.collect_garbage()

    # -- fundamentals ---------------------------------------------------------------------------
    def get_fundamentals(self, key: str) -> dict | None:
        """The stored dict for ``key``, or None when missing or expired."""
        return self._parts.fundamentals.get(key)

    def set_fundamentals(self, key: str, value: dict, ttl: float | None) -> None:
        """Store ``value`` (JSON-able: numpy scalars and timestamps are converted) for ``ttl`` s.

        ``ttl=None`` keeps it until deleted. Raises :class:`InputError` for a bad ``ttl`` or a
        value that cannot be stored as JSON.
        """
        self._parts.fundamentals.set(key, value, ttl)

    def fundamentals_expiry(self, key: str) -> float | None:
        """Epoch seconds when ``key`` expires (None: never, or not stored)."""
        return self._parts.fundamentals.expiry(key)

    def delete_fundamentals(self, key: str) -> bool:
        """Remove ``key``; True if it was stored."""
        return self._parts.fundamentals.delete(key)

    def fundamentals_keys(self) -> list[str]:
        """The keys of every fundamentals entry still valid, sorted."""
        return self._parts.fundamentals.keys()

    # -- corporate actions -------------------------------------------------------------------
    def get_actions(self, symbol: str) -> CorporateActions | None:
        """The stored splits and dividends of ``symbol`` (None when never recorded)."""
        return self._parts.actions.get(symbol)

    def set_actions(self, symbol: str, actions: CorporateActions) -> None:
        """Store the splits and dividends of ``symbol`` (replacing any earlier record).

        Bars are kept as traded; reads adjust them with this record, so a new split
        re-adjusts every cached series of the symbol without a fetch.
        """
        self._parts.actions.set(symbol, actions)

    def delete_actions(self, symbol: str) -> bool:
        """Remove the record of ``symbol``; True if there was one."""
        return self._parts.actions.delete(symbol)

    def actions_symbols(self) -> list[str]:
        """Every symbol with a corporate-actions record, sorted."""
        return self._parts.actions.symbols()

    # -- plain-file tree ------------------------------------------------------------------------
    def export_tree(
        self, directory: str | os.PathLike[str], progress: Progress | None = None
    ) -> int:
        """Write every series and fundamentals entry as the plain-file tree; returns partitions.

        The tree's format is described in :mod:`tradedata.cache.tree`. ``progress`` wraps the
        iteration over series (e.g. ``tqdm``) to show progress.
        """
        return self._parts.tree.export(directory, progress)

    def import_tree(
        self, directory: str | os.PathLike[str], progress: Progress | None = None
    ) -> int:
        """Read a tree written by :meth:`export_tree`; returns the partitions imported.

        Partitions in the tree replace those stored; coverage and fundamentals are added.
        The whole tree is checked before anything is written. ``progress`` wraps the
        iteration over partitions (e.g. ``tqdm``).
        """
        return self._parts.tree.load(directory, progress)

    def close(self) -> None:
        """Close the database connections (the object must not be used afterwards)."""
        self._db.close()

    def __enter__(self) -> Cache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
