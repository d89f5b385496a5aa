"""Export to and import from the plain-file tree::

    ohlcv/SYMBOL/TIMEFRAME/YEAR.csv.gz         timestamp,open,high,low,close,volume[,adj_close]
                                               [,open_interest]
    ohlcv/SYMBOL/TIMEFRAME/YEAR.metadata.json  the partition metadata, its coverage, a sha256
    ohlcv/@SOURCE/SYMBOL/TIMEFRAME/YEAR.*      the same, for a series of another source
    fundamentals/KEY.json                      {"key", "expires_at", "data"}
    actions/SYMBOL.json                        splits and dividends (tradedata.cache.actions)

A series of the symbol's default source (:func:`tradedata.identity.default_source`: ``binance``
for crypto, ``consolidated`` for equities) keeps the layout trees had before sources existed;
another source's series lives under ``ohlcv/@SOURCE/`` (``ohlcv/@bybit/BTC_USDT/1h/2024.*``).
The metadata's ``source`` names the series' source either way (a tree written before sources
existed has none: its series are the default source's), and must agree with the folder.

The metadata's ``checksum`` is ``sha256:`` of the csv.gz file. SYMBOL and KEY are made
file-safe (``BTC/USDT`` -> ``BTC_USDT``) and the real names are kept in the JSON; month
timeframes use ``1mo`` folders so ``1m`` and ``1M`` never clash. Floats are written in shortest
round-trip form and read back exactly, so export + import is lossless (bars, metadata and
coverage). Import checks the whole tree first and writes nothing if any part is malformed
(:class:`~tradedata.errors.CacheError` or, for bad CSV,
:class:`~tradedata.errors.CSVFormatError`).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import time
import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
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
    check_name,
    dumps,
    file_safe,
    iso,
    parse_ns,
    split_store_name,
    store_name,
    timeframe_dir,
    year_bounds,
)
from tradedata.cache.migrate import split_old
from tradedata.cache.partitions import Damaged, Rows, column_order, sources_of
from tradedata.cache.reader import Reader
from tradedata.errors import CacheError, CSVFormatError, InputError
from tradedata.identity import default_source, normalize_source
from tradedata.model import parse_timeframe

__all__ = ["Entry", "Tree", "check_fundamentals", "check_partition"]

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
            written[year] = {**public, "symbol": plain, "source": source, "checksum": _sha256(data)}
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
        _check_strays(root)
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
    found = [*(root / "ohlcv").glob("*/*/*.csv.gz"), *(root / "ohlcv").glob("@*/*/*/*.csv.gz")]
    for path in found:
        if not path.with_name(path.name[: -len(".csv.gz")] + ".metadata.json").is_file():
            raise CacheError(f"{path} has no metadata file next to it")


# -- checking the files of a tree ------------------------------------------------------------
_NOT_STORED = ("file", "checksum", "coverage", "format", "sha256")


@dataclass
class Entry:
    """One checked partition of a tree: what to store and the coverage to restore."""

    symbol: str
    timeframe: str
    year: int
    meta: dict[str, Any]
    rows: Rows | None
    coverage: list[tuple[pd.Timestamp, pd.Timestamp, str, pd.Timestamp]]
    legacy: bool = False  # written before series had a source (no "source" in the record)


def _fail(path: Path, why: str) -> CacheError:
    return CacheError(f"malformed tree file {path}: {why}")


def _load_json(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _fail(path, f"not readable JSON ({exc})") from exc
    if not isinstance(record, dict):
        raise _fail(path, "not a JSON object")
    return record


def _int(record: dict[str, Any], name: str, path: Path) -> int:
    value = record.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(path, f"{name!r} must be an integer, got {value!r}")
    return value


def _coverage(record: dict[str, Any], path: Path) -> list[tuple[Any, Any, str, Any]]:
    items = record.get("coverage", [])
    if not isinstance(items, list):
        raise _fail(path, "'coverage' must be a list")
    out = []
    for item in items:
        try:
            s, e = parse_ns(item["start"]), parse_ns(item["end"])
            f = parse_ns(item["fetched_at"])
            provider = check_name(item["provider"], "provider")
        except (KeyError, TypeError, ValueError, InputError) as exc:
            raise _fail(path, f"bad coverage entry {item!r}") from exc
        if s > e:
            raise _fail(path, f"coverage entry ends before it starts: {item!r}")
        ts = (pd.Timestamp(s, tz="UTC"), pd.Timestamp(e, tz="UTC"))
        out.append((*ts, provider, pd.Timestamp(f, tz="UTC")))
    return out


def _header(record: dict[str, Any], path: Path) -> tuple[str, str, int, tuple[str, ...]]:
    try:
        symbol = check_name(record.get("symbol"), "symbol")  # type: ignore[arg-type]
        tf = parse_timeframe(record.get("timeframe", "")).name
        given = record.get("source")
        source = normalize_source(given) if given is not None else default_source(symbol)
        name = store_name(symbol, source)
    except InputError as exc:
        raise _fail(path, str(exc)) from exc
    folder = path.parent.parent.parent.name
    if folder.startswith("@") != (source != default_source(symbol)) or (
        folder.startswith("@") and folder[1:] != source
    ):
        raise _fail(path, f"source {source!r} does not match the folder it is in")
    if tf != record.get("timeframe"):
        raise _fail(path, f"timeframe {record.get('timeframe')!r} is not canonical ({tf})")
    year = _int(record, "year", path)
    if not 1678 <= year <= 2261 or path.name != f"{year}.metadata.json":
        raise _fail(path, f"year {year} does not match the file name")
    columns = record.get("columns")
    if not isinstance(columns, list) or tuple(columns) != column_order(columns):
        allowed = "open,high,low,close,volume[,adj_close][,open_interest]"
        raise _fail(path, f"columns must be {allowed}: {columns!r}")
    return name, tf, year, tuple(columns)


def check_partition(path: Path, *, load_rows: bool) -> Entry:
    """Parse and check one ``YEAR.metadata.json`` and its CSV; raise on any inconsistency."""
    record = _load_json(path)
    symbol, tf, year, columns = _header(record, path)
    if record.get("file") != f"{year}.csv.gz":
        raise _fail(path, f"'file' must be {year}.csv.gz")
    csv_path = path.with_name(f"{year}.csv.gz")
    try:
        data = csv_path.read_bytes()
    except OSError as exc:
        raise _fail(path, f"cannot read {csv_path.name} ({exc})") from exc
    if record.get("checksum") != "sha256:" + hashlib.sha256(data).hexdigest():
        raise _fail(path, f"{csv_path.name} does not match its checksum")
    bars = _int(record, "bars", path)
    rows = _parse_csv(data, columns, year, csv_path)
    if rows.size != bars:
        raise _fail(path, f"'bars' is {bars} but {csv_path.name} holds {rows.size} rows")
    if bars:
        try:
            rows.sources, rows.codes = sources_of(record, bars)
        except (Damaged, TypeError, ValueError) as exc:
            raise _fail(path, f"bad 'source_runs' ({exc})") from exc
    meta = {k: v for k, v in record.items() if k not in _NOT_STORED}
    if bars:
        meta["first"] = iso(int(rows.timestamps[0]))
        meta["last"] = iso(int(rows.timestamps[-1]))
    kept = rows if load_rows else None
    legacy = "source" not in record
    return Entry(symbol, tf, year, meta, kept, _coverage(record, path), legacy)


def split_legacy(entry: Entry) -> list[Entry]:
    """A partition of a tree written before sources existed, split by the source of each
    row's (and coverage span's) provider (:func:`tradedata.cache.migrate.split_old`); any
    other entry as it is."""
    if not entry.legacy:
        return [entry]
    pieces = split_old(entry.symbol, entry.timeframe, entry.rows, entry.meta, entry.coverage)
    return [
        Entry(name, entry.timeframe, entry.year, meta, rows, cov)
        for name, rows, meta, cov in pieces
    ]


def _parse_csv(data: bytes, columns: tuple[str, ...], year: int, path: Path) -> Rows:
    try:
        text = gzip.decompress(data)
        frame = pd.read_csv(
            io.BytesIO(text),
            float_precision="round_trip",
            dtype={c: "float64" for c in columns},
            keep_default_na=False,
            na_values=[""],
        )
    except (OSError, EOFError, zlib.error, ValueError, pd.errors.ParserError) as exc:
        raise CSVFormatError(f"{path}: not a readable csv.gz ({exc})") from exc
    if list(frame.columns) != ["timestamp", *columns]:
        raise CSVFormatError(f"{path}: header must be timestamp,{','.join(columns)}")
    try:
        index = pd.DatetimeIndex(pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601"))
    except (ValueError, TypeError) as exc:
        raise CSVFormatError(f"{path}: unreadable timestamps ({exc})") from exc
    ts = np.asarray(index.as_unit("ns").asi8, dtype=np.int64)
    lo, after = year_bounds(year)
    if ts.size and (ts[0] < lo or ts[-1] >= after):
        raise CSVFormatError(f"{path}: rows outside the year {year}")
    if ts.size > 1 and not (np.diff(ts) > 0).all():
        raise CSVFormatError(f"{path}: timestamps are not strictly increasing")
    values = np.ascontiguousarray(frame[list(columns)].to_numpy(dtype=np.float64).T)
    return Rows(ts, values, columns)


def check_fundamentals(path: Path) -> tuple[str, dict, float | None]:
    """Parse one ``fundamentals/KEY.json``: ``(key, data, expires_at epoch s or None)``."""
    record = _load_json(path)
    key, data, expires = record.get("key"), record.get("data"), record.get("expires_at")
    if not isinstance(key, str) or not key or "|" in key or not isinstance(data, dict):
        raise _fail(path, "needs a 'key' string and a 'data' object")
    try:
        when = None if expires is None else parse_ns(expires) / 1e9
    except (TypeError, ValueError) as exc:
        raise _fail(path, f"bad 'expires_at' {expires!r}") from exc
    return key, data, when
