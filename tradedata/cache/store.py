"""The :class:`Cache`: partitions of OHLCV bars, their metadata and coverage, on disk."""

from __future__ import annotations

import logging
import math
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd

from tradedata.cache import partitions as parts
from tradedata.cache.backend import Backend
from tradedata.cache.coverage_api import CoverageMixin
from tradedata.cache.fundamentals import FundamentalsMixin
from tradedata.cache.integrity import IntegrityMixin
from tradedata.cache.layout import SeriesInfo, check_name, years_of
from tradedata.cache.partitions import Damaged, QualityFn, Rows
from tradedata.cache.reader import ReaderMixin
from tradedata.cache.tree import TreeMixin
from tradedata.errors import CacheError, ConfigurationError, DataValidationError, InputError
from tradedata.model import normalize_frame, parse_range, parse_timeframe

__all__ = ["DEFAULT_MAX_SIZE_GB", "Cache", "default_cache_dir"]

log = logging.getLogger("tradedata.cache")

DEFAULT_MAX_SIZE_GB = 20.0
_RETRIES = 8
_INTERNAL = ("generation", "members")
_FIRST_YEAR, _LAST_YEAR = 1678, 2261  # what int64 nanoseconds can hold


_MAX_LIMIT = 2**62  # bytes; any larger limit means "no limit"


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
    if max_size_gb is None:
        env = os.environ.get("CACHE_MAX_SIZE_GB")
        if env is None or not env.strip():
            return int(DEFAULT_MAX_SIZE_GB * 1e9)
        try:
            value = float(env)
        except ValueError as exc:
            raise ConfigurationError(f"CACHE_MAX_SIZE_GB must be a number, got {env!r}") from exc
        if not (math.isfinite(value) and value > 0):
            raise ConfigurationError(f"CACHE_MAX_SIZE_GB must be a positive number, got {env!r}")
        return min(_MAX_LIMIT, int(value * 1e9)) if value < 1e12 else _MAX_LIMIT
    if isinstance(max_size_gb, bool) or not isinstance(max_size_gb, (int, float)):
        raise InputError(f"max_size_gb must be a number, got {max_size_gb!r}")
    if not (math.isfinite(max_size_gb) and max_size_gb > 0):
        raise InputError(f"max_size_gb must be a positive number, got {max_size_gb!r}")
    return min(_MAX_LIMIT, int(max_size_gb * 1e9)) if max_size_gb < 1e12 else _MAX_LIMIT


class Cache(ReaderMixin, CoverageMixin, FundamentalsMixin, IntegrityMixin, TreeMixin):
    """A process-safe on-disk store of OHLCV partitions keyed by (symbol, timeframe, year).

    ``cache_dir`` defaults to ``DATA_CACHE_DIR`` or ``platformdirs.user_cache_dir("tradedata")``;
    ``max_size_gb`` to ``CACHE_MAX_SIZE_GB`` or 20. Beyond the limit, whole partitions are
    evicted least recently used first (their coverage with them). Symbols and timeframes are
    expected normalised (``BTC/USDT``, ``1h``). Several processes may use one directory at once.
    """

    def __init__(
        self, cache_dir: str | os.PathLike[str] | None = None, max_size_gb: float | None = None
    ) -> None:
        self.directory: Path = _expand(cache_dir, "cache_dir") if cache_dir else default_cache_dir()
        self.max_size_bytes: int = _size_limit(max_size_gb)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CacheError(
                f"cannot create the cache directory {self.directory}: {exc.strerror or exc}"
            ) from exc
        except ValueError as exc:  # an embedded NUL byte
            raise ConfigurationError(f"cache_dir {str(cache_dir)!r} is not a valid path") from exc
        self.quarantine_dir: Path = self.directory / "quarantine"
        self._db = Backend(self.directory)
        self._pins: list[tuple[str, str, int, int]] = []
        self._pins_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Cache {str(self.directory)!r} limit={self.max_size_bytes / 1e9:g} GB>"

    # -- writing -------------------------------------------------------------------------------
    def write(
        self,
        symbol: str,
        timeframe: str,
        frame: pd.DataFrame,
        *,
        source: str,
        provider_info: dict | None = None,
        quality: QualityFn | None = None,
        coverage: tuple[Any, Any] | None = None,
    ) -> list[int]:
        """Merge ``frame`` into the series' year partitions; returns the years touched.

        Rows at a timestamp already stored are replaced by the new ones (within ``frame`` the
        last row for a timestamp wins). ``quality(partition_frame)`` computes each touched
        partition's ``data_quality`` dict; ``provider_info`` is kept per provider in the
        metadata. ``coverage=(start, end)`` also marks that range fetched from ``source``, in
        the same transaction. When the store cannot be written (the disk is full, the cache
        can only be read) a :class:`CacheError` is raised and nothing is changed.
        """
        check_name(symbol, "symbol")
        check_name(source, "source")
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
                self._index_years(symbol, tf, add=touched)
                if coverage is not None:
                    self.add_coverage(symbol, tf, coverage[0], coverage[1], source)
        except BaseException:
            self._db.remove_files(files)
            raise
        self._db.delete(*stale)
        self._enforce_limit({(symbol, tf, y) for y in touched})
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
        previous = self._locked_meta(symbol, tf, year)
        old = None
        if previous is not None:
            old = self._load_rows(symbol, tf, year, previous)
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
        info = dict((previous or {}).get("provider_info") or {})
        if provider_info is not None:
            info[source] = provider_info
        meta = parts.build_metadata(
            symbol=symbol, timeframe=tf, year=year, rows=rows, blob=blob, members=members,
            gen=gen, previous=previous, quality=report, provider_info=info,
        )  # fmt: skip
        self._db.set_json(self._db.meta_key(symbol, tf, year), meta)
        self._db.dc.set(self._db.atime_key(symbol, tf, year), time.time(), retry=True)
        if previous is None:
            return None
        return self._db.data_key(symbol, tf, year, previous["generation"])

    def _locked_meta(self, symbol: str, tf: str, year: int) -> dict | None:
        """Metadata read inside a transaction; unreadable metadata is quarantined (-> None)."""
        try:
            meta = self._db.get_json(self._db.meta_key(symbol, tf, year))
            if meta is not None and not (
                isinstance(meta, dict) and isinstance(meta.get("generation"), str)
            ):
                raise ValueError("metadata has no generation")
        except ValueError as exc:
            self._quarantine(symbol, tf, year, None, f"unreadable metadata ({exc})")
            return None
        return meta

    def _load_rows(self, symbol: str, tf: str, year: int, meta: dict) -> Rows | None:
        """Every row of a partition (inside a transaction); damaged partitions -> None."""
        try:
            handle = self._db.open_data(self._db.data_key(symbol, tf, year, meta["generation"]))
            if handle is None:
                raise Damaged("data file missing")
            try:
                blob = handle if isinstance(handle, bytes) else handle.read()
            finally:
                if not isinstance(handle, bytes):
                    handle.close()
            ts, values, columns = parts.decode(blob, meta, None, None)
            names, codes = parts.sources_of(meta, ts.size)
            members = [parts.MemberInfo.from_list(m) for m in meta["members"]]
        except (Damaged, KeyError, TypeError, ValueError, OSError) as exc:
            self._quarantine(symbol, tf, year, meta, str(exc))
            return None
        return Rows(ts, values, columns, names, codes, (blob, members))

    def _index_years(
        self, symbol: str, tf: str, add: Sequence[int] = (), remove: Sequence[int] = ()
    ) -> None:
        """Inside a transaction: update the series' list of years."""
        key = self._db.series_key(symbol, tf)
        try:
            current = set((self._db.get_json(key) or {}).get("years", []))
        except (ValueError, AttributeError):
            current = set()
        years = sorted((current | set(add)) - set(remove))
        if years:
            self._db.set_json(key, {"symbol": symbol, "timeframe": tf, "years": years})
        else:
            self._db.delete(key)

    # -- eviction guard ------------------------------------------------------------------------
    @contextmanager
    def pinned(
        self, symbol: str, timeframe: str, start: Any = None, end: Any = None
    ) -> Iterator[None]:
        """Inside the block, size-limit eviction (by this object) never removes a partition
        of ``symbol``/``timeframe`` overlapping ``[start, end]`` (None: unbounded).

        :meth:`DataManager.get_ohlcv` pins what it is about to fetch and read, so a small
        ``CACHE_MAX_SIZE_GB`` cannot evict bars of the request being served; when the limit is
        too small for them, a :class:`CacheLimitWarning` says so and the limit is exceeded.
        """
        tf = parse_timeframe(timeframe).name
        s, e = parse_range(start, end)
        pin = (symbol, tf, s.year if s is not None else 0, e.year if e is not None else 10**6)
        with self._pins_lock:
            self._pins.append(pin)
        try:
            yield
        finally:
            with self._pins_lock:
                self._pins.remove(pin)

    def _is_pinned(self, part: tuple[str, str, int]) -> bool:
        symbol, tf, year = part
        with self._pins_lock:
            return any(p[0] == symbol and p[1] == tf and p[2] <= year <= p[3] for p in self._pins)

    # -- reading (see reader.py) ------------------------------------------------------------
    def has(self, symbol: str, timeframe: str) -> bool:
        """True when at least one partition of the series is stored."""
        return bool(self.years(symbol, timeframe))

    def years(self, symbol: str, timeframe: str) -> list[int]:
        """The years stored for a series, ascending."""
        tf = parse_timeframe(timeframe).name
        try:
            record = self._db.get_json(self._db.series_key(symbol, tf)) or {}
            return sorted(int(y) for y in record.get("years", []))
        except (ValueError, AttributeError, TypeError):
            return []

    def metadata(self, symbol: str, timeframe: str, year: int) -> dict | None:
        """The metadata of one partition (None when it is not stored)."""
        tf = parse_timeframe(timeframe).name
        try:
            meta = self._db.get_json(self._db.meta_key(symbol, tf, int(year)))
        except ValueError:
            return None
        if meta is None:
            return None
        return {k: v for k, v in meta.items() if k not in _INTERNAL}

    def series(self) -> list[SeriesInfo]:
        """Every stored series with its range, bars, size, score, providers and years."""
        out = []
        for key in list(self._db.keys("s|")):
            _, symbol, tf = key.split("|", 2)
            metas = [m for y in self.years(symbol, tf) if (m := self.metadata(symbol, tf, y))]
            if metas:
                out.append(_summary(symbol, tf, metas))
        return out

    # -- removing ------------------------------------------------------------------------------
    def delete(self, symbol: str, timeframe: str | None = None) -> int:
        """Remove a series (every timeframe when ``timeframe`` is None) and its coverage.

        Returns the number of partitions removed.
        """
        tfs = [parse_timeframe(timeframe).name] if timeframe else self._timeframes(symbol)
        removed = 0
        stale: list[str] = []
        with self._db.transact():
            for tf in tfs:
                for year in self.years(symbol, tf):
                    key = self._drop_partition(symbol, tf, year, uncover=False)
                    removed += 1
                    stale += [key] if key else []
                self._db.delete(self._db.series_key(symbol, tf), self._db.coverage_key(symbol, tf))
        self._db.delete(*stale)
        return removed

    def _timeframes(self, symbol: str) -> list[str]:
        found = set()
        for prefix in ("s|", "c|"):
            for key in self._db.keys(f"{prefix}{symbol}|"):
                found.add(key.split("|")[2])
        return sorted(found)

    def _drop_partition(self, symbol: str, tf: str, year: int, *, uncover: bool) -> str | None:
        """Inside a transaction: remove a partition's keys; returns its data key to delete."""
        db = self._db
        try:
            gen = (db.get_json(db.meta_key(symbol, tf, year)) or {}).get("generation")
        except (ValueError, AttributeError):
            gen = None
        db.delete(db.meta_key(symbol, tf, year), db.atime_key(symbol, tf, year))
        self._index_years(symbol, tf, remove=[year])
        if uncover:
            self._uncover_year(symbol, tf, year)
        return db.data_key(symbol, tf, year, gen) if isinstance(gen, str) else None

    def clear(self) -> None:
        """Remove everything: partitions, coverage, fundamentals and the quarantine folder."""
        self._db.dc.clear(retry=True)
        shutil.rmtree(self.quarantine_dir, ignore_errors=True)

    # -- the rest ------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """Directory, bytes used, limit, and counts of series, partitions and quarantined items."""
        partitions = sum(1 for _ in self._db.keys("p|"))
        return {
            "directory": str(self.directory),
            "size_bytes": self._db.used_bytes(),
            "max_size_bytes": self.max_size_bytes,
            "series": sum(1 for _ in self._db.keys("s|")),
            "partitions": partitions,
            "quarantined": len(self.quarantined()),
            "fundamentals": len(self.fundamentals_keys()),
        }

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


def _summary(symbol: str, tf: str, metas: list[dict]) -> SeriesInfo:
    bars = sum(int(m.get("bars", 0)) for m in metas)
    scored = [
        (m["data_quality"]["score"], int(m.get("bars", 0)))
        for m in metas
        if isinstance(m.get("data_quality"), dict)
        and isinstance(m["data_quality"].get("score"), (int, float))
    ]
    weight = sum(w for _, w in scored)
    score = sum(s * w for s, w in scored) / weight if weight else None
    providers = sorted({p["provider"] for m in metas for p in m.get("providers", [])})
    return SeriesInfo(
        symbol=symbol,
        timeframe=tf,
        first=pd.Timestamp(metas[0]["first"]),
        last=pd.Timestamp(metas[-1]["last"]),
        bars=bars,
        bytes=sum(int(m.get("bytes", 0)) for m in metas),
        score=score,
        providers=tuple(providers),
        years=tuple(int(m["year"]) for m in metas),
    )
