"""The plain-file tree's export and import for the embedded cache (:class:`Tree`); the tree's
format is described in :mod:`tradedata.cache.tree`."""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import tradedata.cache.codec as codec
import tradedata.cache.coverage as cov
import tradedata.cache.partitions as parts
from tradedata.cache.actions import ActionsStore
from tradedata.cache.backend import Backend
from tradedata.cache.catalog import Catalog
from tradedata.cache.fundamentals import FundamentalsStore
from tradedata.cache.integrity import Integrity
from tradedata.cache.layout import (
    dumps,
    file_safe,
    iso,
    split_store_name,
    timeframe_dir,
    year_bounds,
)
from tradedata.cache.reader import Reader
from tradedata.cache.tree.files import (
    Entry,
    check_fundamentals,
    check_partition,
    check_strays,
    sha256,
    split_legacy,
)
from tradedata.errors import CacheError
from tradedata.identity import default_source

__all__ = ["Progress", "Tree"]

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


class Tree:
    """``export_tree`` / ``import_tree`` of :class:`~tradedata.cache.Cache`."""

    def __init__(
        self,
        db: Backend,
        catalog: Catalog,
        coverage: cov.Coverage,
        fundamentals: FundamentalsStore,
        reader: Reader,
        integrity: Integrity,
        actions: ActionsStore | None = None,
    ) -> None:
        self._db = db
        self._catalog = catalog
        self._coverage = coverage
        self._fundamentals = fundamentals
        self._reader = reader
        self._integrity = integrity
        self._actions = actions

    # -- export --------------------------------------------------------------------------------
    def export(self, directory: str | os.PathLike[str], progress: Progress | None = None) -> int:
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
            for key, value, expires in self._fundamentals.items():
                when = iso(int(expires * 1e9)) if expires else None
                record = {"key": key, "expires_at": when, "data": value}
                safe = _unique(keys, file_safe(key), key)
                _atomic_write(root / "fundamentals" / f"{safe}.json", dumps(record).encode())
            if self._actions is not None:
                self._actions.export(root / "actions", _atomic_write)
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
        source, plain = split_store_name(symbol)
        base = ohlcv if source == default_source(plain) else ohlcv / f"@{source}"
        key = f"{base.name}/{file_safe(plain)}"
        folder = base / _unique(names, key, symbol).split("/", 1)[1] / timeframe_dir(tf)
        written: dict[int, dict[str, Any]] = {}
        for year in self._catalog.years(symbol, tf):
            got = self._reader.read_partition(symbol, tf, year, None, None)
            meta = self._db.get_json(self._db.meta_key(symbol, tf, year))
            if got is None or meta is None:
                continue  # damaged: quarantined, and its coverage removed
            ts, values, columns = got
            frame = parts.Rows(ts, values, columns).frame()
            data = _csv_bytes(frame)
            _atomic_write(folder / f"{year}.csv.gz", data)
            public = {k: v for k, v in meta.items() if k not in _INTERNAL}
            written[year] = {**public, "symbol": plain, "source": source, "checksum": sha256(data)}
        spans = self._coverage.spans(symbol, tf)
        covered = {
            y for s, e, _, _ in spans for y in range(_year(s), _year(e) + 1) if y not in written
        }
        for year in sorted(covered):  # fetched, no bars: an empty file keeps the coverage
            empty = parts.Rows(np.zeros(0, np.int64), np.zeros((5, 0)), parts.column_order(()))
            data = _csv_bytes(empty.frame())
            _atomic_write(folder / f"{year}.csv.gz", data)
            written[year] = {
                "symbol": plain, "source": source, "timeframe": tf, "year": year, "bars": 0,
                "columns": list(parts.column_order(())),
                "checksum": sha256(data),
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
    def load(self, directory: str | os.PathLike[str], progress: Progress | None = None) -> int:
        """Read a tree written by :meth:`export`; returns the partitions imported.

        Partitions in the tree replace those stored; coverage and fundamentals are added.
        The whole tree is checked before anything is written. ``progress`` wraps the
        iteration over partitions (e.g. ``tqdm``).
        """
        root = Path(directory)
        if not (root / "ohlcv").is_dir() and not (root / "fundamentals").is_dir():
            raise CacheError(f"{root} is not a tradedata tree (no ohlcv/ or fundamentals/ folder)")
        metas = sorted((root / "ohlcv").glob("*/*/*.metadata.json"))
        metas += sorted((root / "ohlcv").glob("@*/*/*/*.metadata.json"))
        check_strays(root)
        for path in metas:
            check_partition(path, load_rows=False)
        funds = [check_fundamentals(p) for p in sorted((root / "fundamentals").glob("*.json"))]
        actions = ActionsStore.check_tree(root / "actions")
        count = 0
        for path in (progress or _no_progress)(metas):
            entry = check_partition(path, load_rows=True)
            for part in split_legacy(entry):  # a tree from before sources: rows to their own
                count += self._import_entry(part)
        now = time.time()
        for key, value, expires in funds:
            if expires is None or expires > now:
                ttl = None if expires is None else expires - now
                self._fundamentals.set(key, value, ttl)
        if self._actions is not None:
            for symbol, record in actions:
                self._actions.set(symbol, record)
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
                self._catalog.index_years(entry.symbol, entry.timeframe, add=[entry.year])
                if isinstance(old, dict) and isinstance(old.get("generation"), str):
                    stale = db.data_key(
                        entry.symbol, entry.timeframe, entry.year, old["generation"]
                    )
            if stale:
                db.delete(stale)
        for s, e, provider, fetched in entry.coverage:
            self._coverage.add(entry.symbol, entry.timeframe, s, e, provider, fetched)
        if entry.rows is not None and entry.rows.size:
            self._integrity.enforce_limit({(entry.symbol, entry.timeframe, entry.year)})
            return 1
        return 0


def _year(ns: int) -> int:
    return pd.Timestamp(ns, tz="UTC").year


def _unique(names: dict[str, str], safe: str, real: str) -> str:
    """A file-safe name not yet used by another real name."""
    candidate = safe
    while names.get(candidate, real) != real:
        candidate = f"{candidate}~{hashlib.sha1(real.encode()).hexdigest()[:6]}"
    names[candidate] = real
    return candidate
