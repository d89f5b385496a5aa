"""The files of a plain-file tree, checked and parsed before anything is imported (format: see
:mod:`tradedata.cache.tree`): one partition's metadata and CSV (:func:`check_partition`), a
fundamentals entry, stray files."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tradedata.cache.layout import (
    check_name,
    iso,
    parse_ns,
    store_name,
    year_bounds,
)
from tradedata.cache.migrate import split_old
from tradedata.cache.partitions import Damaged, Rows, column_order, sources_of
from tradedata.errors import CacheError, CSVFormatError, InputError
from tradedata.identity import default_source, normalize_source
from tradedata.model import parse_timeframe

__all__ = [
    "Entry",
    "check_fundamentals",
    "check_partition",
    "check_strays",
    "sha256",
    "split_legacy",
]


def sha256(data: bytes) -> str:
    """The ``sha256:`` checksum of a tree file's bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def check_strays(root: Path) -> None:
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
