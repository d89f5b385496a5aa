"""The write path of the embedded :class:`~tradedata.cache.store.Cache`: merging bars into
year partitions, rescoring a stored year, deleting a series.

A write merges, encodes and stores every touched partition in one transaction (the data
files it wrote are removed again if the transaction fails; the replaced generations only
after it committed), then enforces the size limit, never evicting what it just wrote.
Series names here are stored names (``store_name(symbol, source)``).
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import tradedata.cache.partitions as parts
from tradedata import metrics
from tradedata.cache.backend import Backend
from tradedata.cache.catalog import Catalog
from tradedata.cache.coverage import Coverage
from tradedata.cache.integrity import Integrity
from tradedata.cache.layout import check_name, identity_fields, split_store_name, years_of
from tradedata.cache.partitions import QualityFn, Rows
from tradedata.cache.reader import Reader
from tradedata.errors import DataValidationError, InputError
from tradedata.model import normalize_frame, parse_timeframe

__all__ = ["Writer"]

_FIRST_YEAR, _LAST_YEAR = 1678, 2261  # what int64 nanoseconds can hold


class Writer:
    """Changes to stored bars: merge-writes, rescoring and deletion, each one transaction."""

    def __init__(
        self,
        db: Backend,
        catalog: Catalog,
        coverage: Coverage,
        reader: Reader,
        integrity: Integrity,
    ) -> None:
        self._db = db
        self._catalog = catalog
        self._coverage = coverage
        self._reader = reader
        self._integrity = integrity

    def write(
        self,
        name: str,
        timeframe: str,
        frame: pd.DataFrame,
        *,
        provider: str | None,
        provider_info: dict | None,
        quality: QualityFn | None,
        coverage: tuple[Any, Any] | None,
    ) -> list[int]:
        """Merge ``frame`` into the series ``name``'s year partitions; returns the years
        touched (see :meth:`Cache.write <tradedata.cache.store.Cache.write>`)."""
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

    def rescore(self, name: str, timeframe: str, year: int, quality: QualityFn) -> bool:
        """Recompute one stored year's ``data_quality`` (see :meth:`Cache.rescore
        <tradedata.cache.store.Cache.rescore>`); False when it holds no (readable) bars."""
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

    def delete(self, name: str, timeframe: str | None) -> int:
        """Remove the series ``name`` (every timeframe when None) and its coverage; returns
        the partitions removed. The data files go after the transaction committed."""
        tfs = [parse_timeframe(timeframe).name] if timeframe else self._catalog.timeframes(name)
        removed = 0
        stale: list[str] = []
        with self._db.transact():
            for tf in tfs:
                for year in self._catalog.years(name, tf):
                    key = self._catalog.drop_partition(name, tf, year, uncover=False)
                    removed += 1
                    stale += [key] if key else []
                self._db.delete(self._db.series_key(name, tf), self._db.coverage_key(name, tf))
        self._db.delete(*stale)
        return removed
