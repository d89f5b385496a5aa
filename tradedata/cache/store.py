"""The :class:`Cache`: partitions of OHLCV bars, their metadata and coverage, on disk.

``Cache`` writes partitions itself and owns one collaborator per idea, each in its module:
:class:`~tradedata.cache.catalog.Catalog` (series, years, metadata),
:class:`~tradedata.cache.coverage.Coverage`, :class:`~tradedata.cache.reader.Reader`,
:class:`~tradedata.cache.integrity.Quarantine` and :class:`~tradedata.cache.integrity.Integrity`
(damage, verification, eviction), :class:`~tradedata.cache.fundamentals.FundamentalsStore`,
:class:`~tradedata.cache.actions.ActionsStore` (splits and dividends per symbol) and
:class:`~tradedata.cache.tree.Tree` (plain-file export and import). Its public methods hand
over to them.
"""

from __future__ import annotations

import math
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd

import tradedata.cache.partitions as parts
from tradedata import metrics
from tradedata.actions import CorporateActions
from tradedata.cache.actions import ActionsStore
from tradedata.cache.backend import Backend
from tradedata.cache.catalog import Catalog
from tradedata.cache.coverage import Coverage, CoverageSpan
from tradedata.cache.fundamentals import FundamentalsStore
from tradedata.cache.integrity import Integrity, Quarantine
from tradedata.cache.layout import (
    Damage,
    SeriesInfo,
    check_name,
    identity_fields,
    split_store_name,
    store_name,
    years_of,
)
from tradedata.cache.locks import file_lock, lock_name
from tradedata.cache.migrate import migrate
from tradedata.cache.partitions import QualityFn, Rows
from tradedata.cache.reader import Reader
from tradedata.cache.tree import Progress, Tree
from tradedata.errors import CacheError, ConfigurationError, DataValidationError, InputError
from tradedata.model import normalize_frame, parse_range, parse_timeframe

__all__ = ["DEFAULT_MAX_SIZE_GB", "Cache", "default_cache_dir"]

DEFAULT_MAX_SIZE_GB = 20.0
_FIRST_YEAR, _LAST_YEAR = 1678, 2261  # what int64 nanoseconds can hold


def _expand(path: str | os.PathLike[str], what: str) -> Path:
    """``path`` with ``~``/``~user`` expanded; a :class:`ConfigurationError` if it cannot be."""
    try:
        return Path(path).expanduser()
    except (RuntimeError, KeyError) as exc:  # "~nosuchuser/x": no such home directory
        raise ConfigurationError(f"{what} {os.fspath(path)!r}: cannot expand '~' ({exc})") from exc
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{what} must be a path, got {path!r}") from exc


def default_cache_dir() -> Path:
    """``DATA_CACHE_DIR`` if set, else the platform's user cache folder for tradedata."""
    env = os.environ.get("DATA_CACHE_DIR")
    if env:
        return _expand(env, "DATA_CACHE_DIR")
    import platformdirs

    return Path(platformdirs.user_cache_dir("tradedata"))


def _size_limit(max_size_gb: float | None) -> int:
    """The limit in bytes: a finite positive number of GB (beyond 1e9 GB means none)."""
    env = os.environ.get("CACHE_MAX_SIZE_GB", "").strip() if max_size_gb is None else None
    if max_size_gb is None and not env:
        return int(DEFAULT_MAX_SIZE_GB * 1e9)
    error = ConfigurationError if env else InputError
    shown = f"CACHE_MAX_SIZE_GB {env!r}" if env else f"max_size_gb {max_size_gb!r}"
    raw = env if env else max_size_gb
    try:
        if isinstance(raw, bool) or not isinstance(raw, (str, int, float)) or raw == "":
            raise TypeError(type(raw).__name__)
        value = float(raw)
    except (TypeError, ValueError) as exc:
        raise error(f"{shown} is not a number") from exc
    if not (math.isfinite(value) and value > 0):
        raise error(f"{shown} must be a positive number")
    return int(min(value, 1e9) * 1e9)


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
        self.directory: Path = _expand(cache_dir, "cache_dir") if cache_dir else default_cache_dir()
        limit = _size_limit(max_size_gb)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CacheError(
                f"cannot create the cache directory {self.directory}: {exc.strerror or exc}"
            ) from exc
        except ValueError as exc:  # an embedded NUL byte
            raise ConfigurationError(f"cache_dir {str(cache_dir)!r} is not a valid path") from exc
        self.quarantine_dir: Path = self.directory / "quarantine"
        self._db = db = Backend(self.directory)
        self._coverage = Coverage(db)
        self._catalog = Catalog(db, self._coverage)
        self._quarantine = Quarantine(db, self._catalog, self.quarantine_dir)
        self._reader = Reader(db, self._catalog, self._quarantine)
        self._integrity = Integrity(
            db, self._catalog, self._quarantine, self._reader.load_rows, limit
        )
        self._fundamentals = FundamentalsStore(db)
        self._actions = ActionsStore(db)
        self._tree = Tree(
            db,
            self._catalog,
            self._coverage,
            self._fundamentals,
            self._reader,
            self._integrity,
            self._actions,
        )
        migrate(db, self._catalog, self._reader.load_rows)  # written before sources existed

    @property
    def max_size_bytes(self) -> int:
        """The size limit; beyond it, least recently used partitions are evicted."""
        return self._integrity.max_size_bytes

    @max_size_bytes.setter
    def max_size_bytes(self, value: int) -> None:
        self._integrity.max_size_bytes = value

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
        name = store_name(symbol, source)
        provider = check_name(
            provider if provider is not None else split_store_name(name)[0], "provider"
        )
        symbol, source = name, provider  # below: the stored name, and the rows' provider
        tf = parse_timeframe(timeframe).name
        data = normalize_frame(frame)
        ts = data.index.asi8
        dupes = np.zeros(0, dtype=np.int64)  # years of the rows dropped as duplicates
        if ts.size > 1 and not (np.diff(ts) > 0).all():
            last = np.concatenate((ts[1:] != ts[:-1], [True]))
            dupes = years_of(ts[~last])
            data, ts = data[last], ts[last]
        values = np.ascontiguousarray(data.to_numpy(dtype=np.float64).T)
        new = Rows(ts, values, tuple(data.columns), [source], np.zeros(ts.size, dtype=np.int32))
        years = years_of(ts)
        if ts.size and (years[0] < _FIRST_YEAR or years[-1] > _LAST_YEAR):
            raise DataValidationError(f"bar times must lie in {_FIRST_YEAR}..{_LAST_YEAR}")
        cuts = np.flatnonzero(np.diff(years)) + 1
        bounds = zip(np.concatenate(([0], cuts)), np.concatenate((cuts, [ts.size])), strict=True)
        touched: list[int] = []
        stale: list[str] = []
        files: list[Path] = []  # data files written: removed again if the transaction fails
        self._db.writable()
        try:
            with self._db.transact():
                for lo, hi in bounds if ts.size else ():
                    year = int(years[lo])
                    piece = Rows(
                        ts[lo:hi], values[:, lo:hi], new.columns, [source], new.codes[lo:hi]
                    )
                    dropped = int((dupes == year).sum())
                    old_key = self._write_partition(
                        symbol, tf, year, piece, source, provider_info, quality, dropped, files
                    )
                    stale += [old_key] if old_key else []
                    touched.append(year)
                self._catalog.index_years(symbol, tf, add=touched)
                if coverage is not None:
                    self._coverage.add(symbol, tf, coverage[0], coverage[1], source)
        except BaseException:
            self._db.remove_files(files)
            raise
        self._db.delete(*stale)
        self._integrity.enforce_limit({(symbol, tf, y) for y in touched})
        return touched

    def _write_partition(
        self,
        symbol: str,
        tf: str,
        year: int,
        new: Rows,
        source: str,
        provider_info: dict | None,
        quality: QualityFn | None,
        dupes: int,
        files: list[Path],
    ) -> str | None:
        """Inside a transaction: merge, encode and store one partition; returns the stale key."""
        previous = self._reader.locked_meta(symbol, tf, year)
        old = None
        if previous is not None:
            old = self._reader.load_rows(symbol, tf, year, previous)
            if old is None:
                previous = None
        rows = parts.merge_rows(old, new)
        if quality is not None:
            report = quality(rows.frame())
            if not isinstance(report, dict):
                raise InputError(f"quality() must return a dict, got {type(report).__name__}")
        else:
            report = parts.default_quality(rows, dupes)
        blob, members = parts.encode(rows, year, parts.unchanged_members(old, new, rows, year))
        gen = uuid.uuid4().hex
        path = self._db.put_data(self._db.data_key(symbol, tf, year, gen), blob)
        files += [path] if path else []
        metrics.record_cache_write(len(blob), rows.timestamps.nbytes + rows.values.nbytes)
        info = dict((previous or {}).get("provider_info") or {})
        if provider_info is not None:
            info[source] = provider_info
        meta = parts.build_metadata(
            symbol=symbol, timeframe=tf, year=year, rows=rows, blob=blob, members=members,
            gen=gen, previous=previous, quality=report, provider_info=info,
        )  # fmt: skip
        meta.update(identity_fields(symbol))
        self._db.set_json(self._db.meta_key(symbol, tf, year), meta)
        self._db.dc.set(self._db.atime_key(symbol, tf, year), time.time(), retry=True)
        if previous is None:
            return None
        return self._db.data_key(symbol, tf, year, previous["generation"])

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
        name = store_name(symbol, source)
        tf = parse_timeframe(timeframe).name
        self._db.writable()
        with self._db.transact():
            meta = self._reader.locked_meta(name, tf, year)
            rows = None if meta is None else self._reader.load_rows(name, tf, year, meta)
            if meta is None or rows is None:
                return False
            report = quality(rows.frame())
            if not isinstance(report, dict):
                raise InputError(f"quality() must return a dict, got {type(report).__name__}")
            self._db.set_json(self._db.meta_key(name, tf, year), {**meta, "data_quality": report})
        return True

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
        with self._integrity.pinned(store_name(symbol, source), tf, first, last):
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
        return self._reader.read(store_name(symbol, source), timeframe, start, end)

    def partition_file(
        self, symbol: str, timeframe: str, year: int, *, source: str | None = None
    ) -> Path | None:
        """The data file of a partition (for diagnostics), or None when it is not stored."""
        return self._reader.partition_file(store_name(symbol, source), timeframe, year)

    def has(self, symbol: str, timeframe: str, *, source: str | None = None) -> bool:
        """True when at least one partition of the series is stored."""
        return bool(self._catalog.years(store_name(symbol, source), timeframe))

    def years(self, symbol: str, timeframe: str, *, source: str | None = None) -> list[int]:
        """The years stored for a series, ascending."""
        return self._catalog.years(store_name(symbol, source), timeframe)

    def metadata(
        self, symbol: str, timeframe: str, year: int, *, source: str | None = None
    ) -> dict | None:
        """The metadata of one partition (None when it is not stored)."""
        return self._catalog.metadata(store_name(symbol, source), timeframe, year)

    def sources(self, symbol: str, timeframe: str | None = None) -> list[str]:
        """The sources with a series (or coverage) of ``symbol`` stored, sorted."""
        return self._catalog.sources(symbol, timeframe)

    def series(self) -> list[SeriesInfo]:
        """Every stored series with its range, bars, size, score, providers and years."""
        return self._catalog.series()

    def covered_series(self) -> list[tuple[str, str, str]]:
        """``(source, symbol, timeframe)`` of every series with a coverage record."""
        found = []
        for key in self._db.keys("c|"):
            _, name, tf = key.split("|", 2)
            found.append((*split_store_name(name), tf))
        return sorted(found)

    # -- coverage -------------------------------------------------------------------------------
    def coverage(
        self, symbol: str, timeframe: str, *, source: str | None = None
    ) -> list[CoverageSpan]:
        """The fetched spans of a series, sorted and disjoint (inclusive bounds, UTC)."""
        return self._coverage.listing(store_name(symbol, source), timeframe)

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
        self._coverage.add(store_name(symbol, source), timeframe, start, end, provider, fetched_at)

    def remove_coverage(
        self, symbol: str, timeframe: str, start: Any, end: Any, *, source: str | None = None
    ) -> None:
        """Forget that ``[start, end]`` was fetched, so it is fetched again."""
        self._coverage.remove(store_name(symbol, source), timeframe, start, end)

    def missing_ranges(
        self, symbol: str, timeframe: str, start: Any, end: Any, *, source: str | None = None
    ) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
        """The parts of ``[start, end]`` never fetched, as ``(first, last)`` bar open times.

        Bar opens are on the timeframe's epoch-aligned grid; a fetched range that had no bars
        counts as fetched. Empty when everything is covered.
        """
        holes = self._coverage.missing_ranges(store_name(symbol, source), timeframe, start, end)
        metrics.record_cache_lookup(hit=not holes)
        return holes

    def provider_at(
        self, symbol: str, timeframe: str, ts: Any, *, source: str | None = None
    ) -> str | None:
        """The provider that supplied the bar at ``ts`` (None if that time was never fetched)."""
        return self._coverage.provider_at(store_name(symbol, source), timeframe, ts)

    # -- removing ------------------------------------------------------------------------------
    def delete(
        self, symbol: str, timeframe: str | None = None, *, source: str | None = None
    ) -> int:
        """Remove a series (every timeframe when ``timeframe`` is None) and its coverage.

        Only the ``source`` series go (None: the default source's). Returns the number of
        partitions removed.
        """
        symbol = store_name(symbol, source)
        tfs = [parse_timeframe(timeframe).name] if timeframe else self._catalog.timeframes(symbol)
        removed = 0
        stale: list[str] = []
        with self._db.transact():
            for tf in tfs:
                for year in self._catalog.years(symbol, tf):
                    key = self._catalog.drop_partition(symbol, tf, year, uncover=False)
                    removed += 1
                    stale += [key] if key else []
                self._db.delete(self._db.series_key(symbol, tf), self._db.coverage_key(symbol, tf))
        self._db.delete(*stale)
        return removed

    def clear(self) -> None:
        """Remove everything: partitions, coverage, fundamentals and the quarantine folder."""
        with self._db.writing("clear"):
            self._db.dc.clear(retry=True)
        self._quarantine.clear()

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
            "quarantined": len(self._quarantine.quarantined()),
            "fundamentals": len(self._fundamentals.keys()),
        }

    # -- damage -------------------------------------------------------------------------------
    def quarantined(self) -> list[Damage]:
        """Everything moved to the quarantine folder so far, oldest first."""
        return self._quarantine.quarantined()

    def clear_quarantine(self) -> int:
        """Delete everything in the quarantine folder; returns the records removed."""
        return self._quarantine.clear()

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
        return self._integrity.verify(progress)

    def collect_garbage(self) -> int:
        """Remove data generations and access records no metadata refers to; fix the index."""
        return self._integrity.collect_garbage()

    # -- fundamentals ---------------------------------------------------------------------------
    def get_fundamentals(self, key: str) -> dict | None:
        """The stored dict for ``key``, or None when missing or expired."""
        return self._fundamentals.get(key)

    def set_fundamentals(self, key: str, value: dict, ttl: float | None) -> None:
        """Store ``value`` (JSON-able: numpy scalars and timestamps are converted) for ``ttl`` s.

        ``ttl=None`` keeps it until deleted. Raises :class:`InputError` for a bad ``ttl`` or a
        value that cannot be stored as JSON.
        """
        self._fundamentals.set(key, value, ttl)

    def fundamentals_expiry(self, key: str) -> float | None:
        """Epoch seconds when ``key`` expires (None: never, or not stored)."""
        return self._fundamentals.expiry(key)

    def delete_fundamentals(self, key: str) -> bool:
        """Remove ``key``; True if it was stored."""
        return self._fundamentals.delete(key)

    def fundamentals_keys(self) -> list[str]:
        """The keys of every fundamentals entry still valid, sorted."""
        return self._fundamentals.keys()

    # -- corporate actions -------------------------------------------------------------------
    def get_actions(self, symbol: str) -> CorporateActions | None:
        """The stored splits and dividends of ``symbol`` (None when never recorded)."""
        return self._actions.get(symbol)

    def set_actions(self, symbol: str, actions: CorporateActions) -> None:
        """Store the splits and dividends of ``symbol`` (replacing any earlier record).

        Bars are kept as traded; reads adjust them with this record, so a new split
        re-adjusts every cached series of the symbol without a fetch.
        """
        self._actions.set(symbol, actions)

    def delete_actions(self, symbol: str) -> bool:
        """Remove the record of ``symbol``; True if there was one."""
        return self._actions.delete(symbol)

    def actions_symbols(self) -> list[str]:
        """Every symbol with a corporate-actions record, sorted."""
        return self._actions.symbols()

    # -- plain-file tree ------------------------------------------------------------------------
    def export_tree(
        self, directory: str | os.PathLike[str], progress: Progress | None = None
    ) -> int:
        """Write every series and fundamentals entry as the plain-file tree; returns partitions.

        The tree's format is described in :mod:`tradedata.cache.tree`. ``progress`` wraps the
        iteration over series (e.g. ``tqdm``) to show progress.
        """
        return self._tree.export(directory, progress)

    def import_tree(
        self, directory: str | os.PathLike[str], progress: Progress | None = None
    ) -> int:
        """Read a tree written by :meth:`export_tree`; returns the partitions imported.

        Partitions in the tree replace those stored; coverage and fundamentals are added.
        The whole tree is checked before anything is written. ``progress`` wraps the
        iteration over partitions (e.g. ``tqdm``).
        """
        return self._tree.load(directory, progress)

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
