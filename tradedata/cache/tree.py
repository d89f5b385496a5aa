"""Export to and import from the plain-file tree::

    ohlcv/SYMBOL/TIMEFRAME/YEAR.csv.gz         timestamp,open,high,low,close,volume[,adj_close]
    ohlcv/SYMBOL/TIMEFRAME/YEAR.metadata.json  the partition metadata, its coverage, a sha256
    fundamentals/KEY.json                      {"key", "expires_at", "data"}

The metadata's ``checksum`` is ``sha256:`` of the csv.gz file. SYMBOL and KEY are made
file-safe (``BTC/USDT`` -> ``BTC_USDT``) and the real names are kept in the JSON; month
timeframes use ``1mo`` folders so ``1m`` and ``1M`` never clash. Floats are written in shortest
round-trip form and read back exactly, so export + import is lossless (bars, metadata and
coverage). Import checks the whole tree first and writes nothing if any part is malformed
(:class:`~tradedata.errors.CacheError` or, for bad CSV,
:class:`~tradedata.errors.CSVFormatError`).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tradedata.cache import codec
from tradedata.cache import coverage as cov
from tradedata.cache import partitions as parts
from tradedata.cache.backend import Backend
from tradedata.cache.layout import dumps, file_safe, iso, timeframe_dir, year_bounds
from tradedata.cache.tree_check import Entry, check_fundamentals, check_partition
from tradedata.errors import CacheError

if TYPE_CHECKING:
    from tradedata.cache.coverage import Span

__all__ = ["TreeMixin"]

_TREE_FORMAT = "tradedata-tree-1"
_INTERNAL = ("generation", "members", "bytes", "checksum", "format")


#: A wrapper around an iterable that reports progress (``tqdm`` fits).
Progress = Callable[[Iterable[Any]], Iterable[Any]]


def _no_progress(items: Iterable[Any]) -> Iterable[Any]:
    return items


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    text = frame.to_csv(index=True, index_label="timestamp", date_format=None, lineterminator="\n")
    return codec.deflate(text.encode())


class TreeMixin:
    """``export_tree`` / ``import_tree`` of :class:`~tradedata.cache.Cache`."""

    _db: Backend

    if TYPE_CHECKING:

        def _spans(self, symbol: str, tf: str) -> list[Span]: ...
        def _read_partition(
            self, symbol: str, tf: str, year: int, lo: int | None, hi: int | None
        ) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]] | None: ...
        def _fundamentals_items(self) -> list[tuple[str, dict, float | None]]: ...
        def years(self, symbol: str, timeframe: str) -> list[int]: ...
        def add_coverage(
            self, symbol: str, timeframe: str, start: Any, end: Any, provider: str,
            fetched_at: Any = None,
        ) -> None: ...  # fmt: skip
        def _index_years(self, symbol: str, tf: str, add: Any = (), remove: Any = ()) -> None: ...
        def _enforce_limit(self, keep: set[tuple[str, str, int]]) -> list: ...

    # -- export --------------------------------------------------------------------------------
    def export_tree(
        self, directory: str | os.PathLike[str], progress: Progress | None = None
    ) -> int:
        """Write every series and fundamentals entry as the plain-file tree; returns partitions.

        ``progress`` wraps the iteration over series (e.g. ``tqdm``) to show progress.
        """
        root = Path(directory)
        names: dict[str, str] = {}
        keys: dict[str, str] = {}
        count = 0
        wrap = progress or _no_progress
        try:
            for symbol, tf in wrap(self._all_series()):
                count += self._export_series(root / "ohlcv", symbol, tf, names)
            for key, value, expires in self._fundamentals_items():
                when = iso(int(expires * 1e9)) if expires else None
                record = {"key": key, "expires_at": when, "data": value}
                safe = _unique(keys, file_safe(key), key)
                _atomic_write(root / "fundamentals" / f"{safe}.json", dumps(record).encode())
        except OSError as exc:
            raise CacheError(f"cannot export the cache to {root}: {exc}") from exc
        return count

    def _all_series(self) -> list[tuple[str, str]]:
        found = set()
        for prefix in ("s|", "c|"):
            for key in self._db.keys(prefix):
                _, symbol, tf = key.split("|", 2)
                found.add((symbol, tf))
        return sorted(found)

    def _export_series(self, ohlcv: Path, symbol: str, tf: str, names: dict[str, str]) -> int:
        folder = ohlcv / _unique(names, file_safe(symbol), symbol) / timeframe_dir(tf)
        written: dict[int, dict[str, Any]] = {}
        for year in self.years(symbol, tf):
            got = self._read_partition(symbol, tf, year, None, None)
            meta = self._db.get_json(self._db.meta_key(symbol, tf, year))
            if got is None or meta is None:
                continue  # damaged: quarantined, and its coverage removed
            ts, values, columns = got
            frame = parts.Rows(ts, values, columns).frame()
            data = _csv_bytes(frame)
            _atomic_write(folder / f"{year}.csv.gz", data)
            public = {k: v for k, v in meta.items() if k not in _INTERNAL}
            written[year] = {**public, "checksum": _sha256(data)}
        spans = self._spans(symbol, tf)
        covered = {
            y for s, e, _, _ in spans for y in range(_year(s), _year(e) + 1) if y not in written
        }
        for year in sorted(covered):  # fetched, no bars: an empty file keeps the coverage
            empty = parts.Rows(np.zeros(0, np.int64), np.zeros((5, 0)), parts.column_order(()))
            data = _csv_bytes(empty.frame())
            _atomic_write(folder / f"{year}.csv.gz", data)
            written[year] = {
                "symbol": symbol, "timeframe": tf, "year": year, "bars": 0,
                "columns": list(parts.column_order(())),
                "checksum": _sha256(data),
            }  # fmt: skip
        for year, record in written.items():
            lo, after = year_bounds(year)
            record["format"] = _TREE_FORMAT
            record["file"] = f"{year}.csv.gz"
            record["coverage"] = [
                {"start": iso(s), "end": iso(e), "provider": p, "fetched_at": iso(f)}
                for s, e, p, f in cov.clip(spans, lo, after - 1)
            ]
            _atomic_write(folder / f"{year}.metadata.json", json.dumps(record, indent=1).encode())
        return sum(1 for r in written.values() if r.get("bars"))

    # -- import --------------------------------------------------------------------------------
    def import_tree(
        self, directory: str | os.PathLike[str], progress: Progress | None = None
    ) -> int:
        """Read a tree written by :meth:`export_tree`; returns the partitions imported.

        Partitions in the tree replace those stored; coverage and fundamentals are added.
        The whole tree is checked before anything is written. ``progress`` wraps the
        iteration over partitions (e.g. ``tqdm``).
        """
        root = Path(directory)
        if not (root / "ohlcv").is_dir() and not (root / "fundamentals").is_dir():
            raise CacheError(f"{root} is not a tradedata tree (no ohlcv/ or fundamentals/ folder)")
        metas = sorted((root / "ohlcv").glob("*/*/*.metadata.json"))
        _check_strays(root)
        for path in metas:
            check_partition(path, load_rows=False)
        funds = [check_fundamentals(p) for p in sorted((root / "fundamentals").glob("*.json"))]
        count = 0
        for path in (progress or _no_progress)(metas):
            entry = check_partition(path, load_rows=True)
            count += self._import_entry(entry)
        now = time.time()
        for key, value, expires in funds:
            if expires is None or expires > now:
                ttl = None if expires is None else expires - now
                self.set_fundamentals(key, value, ttl)  # type: ignore[attr-defined]
        return count

    def _import_entry(self, entry: Entry) -> int:
        stale = None
        if entry.rows is not None and entry.rows.size:
            blob, members = parts.encode(entry.rows, entry.year)
            gen = uuid.uuid4().hex
            meta = {
                **entry.meta,
                "format": parts.FORMAT,
                "bytes": len(blob),
                "checksum": codec.checksum(blob),
                "generation": gen,
                "members": [m.to_list() for m in members],
            }
            db = self._db
            with db.transact():
                try:
                    old = db.get_json(db.meta_key(entry.symbol, entry.timeframe, entry.year))
                except ValueError:
                    old = None
                db.put_data(db.data_key(entry.symbol, entry.timeframe, entry.year, gen), blob)
                db.set_json(db.meta_key(entry.symbol, entry.timeframe, entry.year), meta)
                db.dc.set(db.atime_key(entry.symbol, entry.timeframe, entry.year), time.time())
                self._index_years(entry.symbol, entry.timeframe, add=[entry.year])
                if isinstance(old, dict) and isinstance(old.get("generation"), str):
                    stale = db.data_key(
                        entry.symbol, entry.timeframe, entry.year, old["generation"]
                    )
            if stale:
                db.delete(stale)
        for s, e, provider, fetched in entry.coverage:
            self.add_coverage(entry.symbol, entry.timeframe, s, e, provider, fetched)
        if entry.rows is not None and entry.rows.size:
            self._enforce_limit({(entry.symbol, entry.timeframe, entry.year)})
            return 1
        return 0


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _year(ns: int) -> int:
    return pd.Timestamp(ns, tz="UTC").year


def _unique(names: dict[str, str], safe: str, real: str) -> str:
    """A file-safe name not yet used by another real name."""
    candidate = safe
    while names.get(candidate, real) != real:
        candidate = f"{candidate}~{hashlib.sha1(real.encode()).hexdigest()[:6]}"
    names[candidate] = real
    return candidate


def _check_strays(root: Path) -> None:
    """Every CSV file must have its metadata file."""
    for path in (root / "ohlcv").glob("*/*/*.csv.gz"):
        if not path.with_name(path.name[: -len(".csv.gz")] + ".metadata.json").is_file():
            raise CacheError(f"{path} has no metadata file next to it")
