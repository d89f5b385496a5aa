"""Reads of :class:`~tradedata.cache.Cache`: ranges read only overlapping partitions and months.

A read plans from the metadata first (which partitions and months overlap, how many rows),
allocates the result once and inflates each month straight into it. A partition that changes
while being read is read again; a damaged one is quarantined and left out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import tradedata.cache.partitions as parts
from tradedata.cache.backend import Backend
from tradedata.cache.catalog import Catalog
from tradedata.cache.integrity import Quarantine
from tradedata.cache.layout import year_bounds
from tradedata.cache.partitions import Damaged, Rows
from tradedata.errors import CacheError
from tradedata.model import empty_frame, parse_range, parse_timeframe

__all__ = ["Reader"]

_RETRIES = 8
_Chunk = tuple[np.ndarray, np.ndarray, tuple[str, ...]]
_READ_ERRORS = (Damaged, KeyError, TypeError, ValueError, AttributeError)


class Reader:
    """Reads of stored partitions: ranges, whole partitions, metadata inside transactions.

    A partition found damaged is handed to the :class:`~tradedata.cache.integrity.Quarantine`.
    """

    def __init__(self, db: Backend, catalog: Catalog, quarantine: Quarantine) -> None:
        self._db = db
        self._catalog = catalog
        self._quarantine = quarantine

    def read(self, symbol: str, timeframe: str, start: Any = None, end: Any = None) -> pd.DataFrame:
        """Bars with ``start <= open time <= end`` (either may be None) as a schema frame.

        Only the partitions, and within them only the months, overlapping the range are read.
        A damaged partition (bad data, a lost metadata row, a series index that disagrees with
        the partitions) is quarantined with a :class:`CacheCorruptionWarning` and left out,
        its coverage removed so it is fetched again; it never raises for damage.
        ``frame.attrs["damaged"]`` lists the ``(first, last)`` ranges whose bars were left out
        for that reason by this read (empty when none): :meth:`DataManager.get_ohlcv` fetches
        them again at once.
        """
        tf = parse_timeframe(timeframe).name
        s, e = parse_range(start, end)
        lo = None if s is None else int(s.value)
        hi = None if e is None else int(e.value)
        damaged, years = self._read_years(symbol, tf)
        plan: list[tuple[int, dict | None, int]] = []
        for year in years:
            if (s is not None and year < s.year) or (e is not None and year > e.year):
                continue
            meta = self._plan_meta(symbol, tf, year)
            rows = 0 if meta is None else parts.planned_rows(meta, lo, hi)
            plan.append((year, meta, rows))
        columns = parts.column_order(
            tuple(c for _, meta, n in plan if meta and n for c in meta["columns"])
        )
        total = sum(n for _, _, n in plan)
        ts = np.empty(total, dtype=np.int64)
        values = np.empty((len(columns), total), dtype=np.float64)
        chunks: list[_Chunk] = []
        exact, pos, touched = True, 0, []
        for year, meta, n in plan:
            out = (ts[pos : pos + n], values[:, pos : pos + n])
            pos += n
            got = self._decode_into(symbol, tf, year, meta, lo, hi, out, columns) if n else None
            if got is None and (meta is None or n):  # changed or damaged: the careful path
                exact = False
                got = self.read_partition(symbol, tf, year, lo, hi, damaged)
            if got is not None and got[0].size:
                chunks.append(got)
                touched.append(self._db.atime_key(symbol, tf, year))
        self._db.touch(touched)
        frame = _frame(ts, values, columns, lo, hi) if exact else _assemble(chunks, lo, hi)
        frame.attrs["damaged"] = _ranges(sorted(set(damaged)), lo, hi)
        return frame

    def _read_years(self, symbol: str, tf: str) -> tuple[list[int], list[int]]:
        """(years lost to damage, years to read): the index checked against the metadata rows."""
        indexed = self._catalog.years(symbol, tf)
        stored = self._db.partition_years(symbol, tf)
        if indexed == stored:
            return [], stored
        if self._db.read_only is not None:  # nothing can be healed: report and read what is
            return sorted(set(indexed) - set(stored)), stored
        lost = self._quarantine.repair_index(symbol, tf)
        return lost, self._db.partition_years(symbol, tf)

    def partition_file(self, symbol: str, timeframe: str, year: int) -> Path | None:
        """The data file of a partition (for diagnostics), or None when it is not stored."""
        tf = parse_timeframe(timeframe).name
        gen = self._catalog.generation(self._db.meta_key(symbol, tf, int(year)))
        if gen is None:
            return None
        handle = self._db.open_data(self._db.data_key(symbol, tf, int(year), gen))
        if handle is None or isinstance(handle, bytes):
            return None
        handle.close()
        return Path(handle.name)

    def _plan_meta(self, symbol: str, tf: str, year: int) -> dict | None:
        try:
            meta = self._db.get_json(self._db.meta_key(symbol, tf, year))
            if meta is not None:
                parts.planned_rows(meta, None, None)
                tuple(meta["columns"])
            return meta
        except _READ_ERRORS:
            return None

    def _decode_into(
        self,
        symbol: str,
        tf: str,
        year: int,
        meta: dict | None,
        lo: int | None,
        hi: int | None,
        out: tuple[np.ndarray, np.ndarray],
        columns: tuple[str, ...],
    ) -> _Chunk | None:
        """Fast path: decode into ``out``; None if anything is off (the caller retries)."""
        if meta is None:
            return None
        try:
            if tuple(meta["columns"]) == columns:
                return self._decode_current(symbol, tf, year, meta, lo, hi, out)
            got = self._decode_current(symbol, tf, year, meta, lo, hi, None)
        except _READ_ERRORS:
            return None
        out[1][:] = _widen(got, columns)
        out[0][:] = got[0]
        return out[0], out[1], columns

    def read_partition(
        self,
        symbol: str,
        tf: str,
        year: int,
        lo: int | None,
        hi: int | None,
        damaged: list[int] | None = None,
    ) -> _Chunk | None:
        """Decode the part of one partition in ``[lo, hi]``; None when missing or damaged
        (a damaged year is added to ``damaged``)."""
        key = self._db.meta_key(symbol, tf, year)
        for _ in range(_RETRIES):
            try:
                meta = self._db.get_json(key)
            except ValueError:
                meta = {"generation": None}
            if meta is None:
                return None
            try:
                return self._decode_current(symbol, tf, year, meta, lo, hi, None)
            except _READ_ERRORS as exc:
                if self._catalog.generation(key) != meta.get("generation"):
                    continue  # replaced while we read it: read the new one
                reason = str(exc) or type(exc).__name__
                found = self._quarantine.quarantine(symbol, tf, year, meta, reason)
                if found is not None and damaged is not None:
                    damaged.append(year)
                return None
        raise CacheError(f"{symbol} {tf} {year}: the partition kept changing while being read")

    def locked_meta(self, symbol: str, tf: str, year: int) -> dict | None:
        """Metadata read inside a transaction; unreadable metadata is quarantined (-> None)."""
        try:
            meta = self._db.get_json(self._db.meta_key(symbol, tf, year))
            if meta is not None and not (
                isinstance(meta, dict) and isinstance(meta.get("generation"), str)
            ):
                raise ValueError("metadata has no generation")
        except ValueError as exc:
            self._quarantine.quarantine(symbol, tf, year, None, f"unreadable metadata ({exc})")
            return None
        return meta

    def load_rows(self, symbol: str, tf: str, year: int, meta: dict) -> Rows | None:
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
            self._quarantine.quarantine(symbol, tf, year, meta, str(exc))
            return None
        return Rows(ts, values, columns, names, codes, (blob, members))

    def _decode_current(
        self,
        symbol: str,
        tf: str,
        year: int,
        meta: dict,
        lo: int | None,
        hi: int | None,
        out: tuple[np.ndarray, np.ndarray] | None,
    ) -> _Chunk:
        gen = meta.get("generation")
        if not isinstance(gen, str):
            raise Damaged("unreadable metadata")
        if not parts.planned_rows(meta, lo, hi):
            columns = tuple(meta["columns"])
            return np.zeros(0, np.int64), np.zeros((len(columns), 0)), columns
        handle = self._db.open_data(self._db.data_key(symbol, tf, year, gen))
        if handle is None:
            raise Damaged("data file missing")
        try:
            return parts.decode(handle, meta, lo, hi, out)
        finally:
            if not isinstance(handle, bytes):
                handle.close()


def _frame(
    ts: np.ndarray, values: np.ndarray, columns: tuple[str, ...], lo: int | None, hi: int | None
) -> pd.DataFrame:
    """A schema frame of the rows in ``[lo, hi]`` (ts ascending; whole months were decoded)."""
    if not ts.size:
        return empty_frame()
    a = 0 if lo is None else int(np.searchsorted(ts, lo, side="left"))
    b = ts.size if hi is None else int(np.searchsorted(ts, hi, side="right"))
    return parts.Rows(ts[a:b], values[:, a:b], columns).frame()


def _ranges(
    years: list[int], lo: int | None, hi: int | None
) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """The parts of ``[lo, hi]`` inside each of ``years`` (UTC), as inclusive Timestamps."""
    out = []
    for year in years:
        first, after = year_bounds(year)
        a = first if lo is None else max(first, lo)
        b = after - 1 if hi is None else min(after - 1, hi)
        if a <= b:
            out.append((pd.Timestamp(a, tz="UTC"), pd.Timestamp(b, tz="UTC")))
    return out


def _assemble(chunks: list[_Chunk], lo: int | None, hi: int | None) -> pd.DataFrame:
    """One frame from separately decoded partitions (ascending years)."""
    if not chunks:
        return empty_frame()
    columns = parts.column_order(tuple(c for chunk in chunks for c in chunk[2]))
    ts = np.concatenate([c[0] for c in chunks])
    values = np.concatenate([_widen(c, columns) for c in chunks], axis=1)
    return _frame(ts, values, columns, lo, hi)


def _widen(chunk: _Chunk, columns: tuple[str, ...]) -> np.ndarray:
    if chunk[2] == columns:
        return chunk[1]
    out = np.full((len(columns), chunk[0].size), np.nan)
    for i, name in enumerate(columns):
        if name in chunk[2]:
            out[i] = chunk[1][chunk[2].index(name)]
    return out
