"""Export the cache as a Hive-partitioned Parquet dataset for Dask, Spark and DuckDB.

>>> import tradedata
>>> tradedata.export_parquet("s3://bucket/bars")                     # doctest: +SKIP
ParquetExport(dest='s3://bucket/bars', written=12, unchanged=0, removed=0, ...)

The layout, encoding and columns are described in :mod:`tradedata.parquet.layout`. The export
is incremental: each partition's fingerprint (from the cache metadata: content checksum, bars,
range, providers) is compared with the one the manifest recorded, and only partitions that
changed (or whose file is missing) are written again. Files are written under temporary names
and renamed into place; the manifest is written last, so it names only committed files.
Partitions of exported series that the cache no longer holds are removed after the manifest.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import IO, Any

import numpy as np
import pandas as pd

from tradedata.cache.layout import SeriesInfo, iso, split_store_name
from tradedata.errors import DataValidationError, ExportError, InputError
from tradedata.identity import default_source, split_source
from tradedata.model import parse_timeframe
from tradedata.parquet.layout import (
    DATA_FILE,
    MANIFEST,
    ROW_GROUP_ROWS,
    VALUE_COLUMNS,
    PartitionKey,
    manifest_text,
    parse_manifest,
    partition_token,
    providers_per_row,
)
from tradedata.parquet.target import Target, open_target
from tradedata.symbols import normalize_symbol

__all__ = ["ExportWarning", "ParquetExport", "export_parquet", "series_source"]

_READ_ATTEMPTS = 5


class ExportWarning(UserWarning):
    """A cached partition could not be exported this time (it is listed in ``skipped``)."""


@dataclass(frozen=True)
class ParquetExport:
    """What one export did: partitions written, left unchanged, removed or skipped."""

    dest: str
    written: int
    unchanged: int
    removed: int
    rows_written: int
    bytes_written: int
    seconds: float
    partitions: int  # partitions the manifest lists now
    skipped: tuple[str, ...] = field(default_factory=tuple)  # damaged/changing; kept as before

    def to_dict(self) -> dict[str, Any]:
        """The summary as a JSON-able dict."""
        return {**self.__dict__, "skipped": list(self.skipped)}


def series_source(info: SeriesInfo) -> str:
    """The source (venue, or equity volume scope) a cached series is exported under.

    The cache keys series by ``(source, symbol, timeframe)`` (:mod:`tradedata.identity`);
    a series written before sources existed is the symbol's default source.
    """
    return getattr(info, "source", "") or default_source(info.symbol)


def export_parquet(
    dest: str | os.PathLike[str],
    *,
    symbols: Sequence[str] | None = None,
    timeframes: Sequence[str] | None = None,
    full: bool = False,
    storage_options: dict[str, Any] | None = None,
    manager: Any = None,
    cache: Any = None,
) -> ParquetExport:
    """Write (or bring up to date) the Parquet dataset at ``dest`` from the cache.

    ``dest`` is a folder or any fsspec URL (``s3://bucket/prefix`` needs s3fs; credentials and
    endpoint come from ``storage_options`` or the usual ``AWS_*`` variables). ``symbols``
    (``"BTC/USDT"``: every source; ``"BYBIT:BTC/USDT"``: one) and ``timeframes`` limit what is
    exported (partitions of other series already in the dataset
    are kept). ``full=True`` rewrites every partition. The cache is ``manager.cache``, else
    ``cache`` (a :class:`~tradedata.cache.Cache`), else the default one (``DATA_CACHE_DIR`` or
    the config's ``cache_dir``; any store with the cache's ``series``, ``metadata`` and ``read``
    serves). Raises :class:`~tradedata.errors.ExportError` when the
    destination fails; what was committed before stays readable and a rerun resumes.
    """
    started = time.perf_counter()
    if not isinstance(dest, (str, os.PathLike)):
        raise InputError(f"the export destination must be a path or URL, got {dest!r}")
    store = manager.cache if manager is not None else cache
    owned = store is None
    if owned:
        store = _default_cache()
    try:
        _check_pyarrow()
        target = open_target(os.fspath(dest), storage_options)
        wanted = _series_names(symbols)
        return _Exporter(store, target, wanted, _tfs(timeframes), full).run(started)
    finally:
        if owned:
            store.close()


def _default_cache() -> Any:
    from tradedata.cache import Cache
    from tradedata.config import load_config

    return Cache(load_config(None).cache_dir)


def _check_pyarrow() -> None:
    from tradedata.extras import require

    require("parquet", "the Parquet export")


def _names(values: Sequence[str] | None, what: str) -> set[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]
    if not all(isinstance(v, str) and v for v in values):
        raise InputError(f"{what} must be non-empty strings, got {values!r}")
    return set(values)


def _series_names(values: Sequence[str] | None) -> set[tuple[str | None, str]] | None:
    """``["BYBIT:BTC/USDT", "BTCUSDT"]`` -> ``{("bybit", "BTC/USDT"), (None, "BTC/USDT")}``."""
    names = _names(values, "symbols")
    if names is None:
        return None
    out: set[tuple[str | None, str]] = set()
    for name in names:
        source, symbol = split_source(name)
        out |= {(source, symbol), (source, normalize_symbol(symbol))}
    return out


def _tfs(values: Sequence[str] | None) -> set[str] | None:
    names = _names(values, "timeframes")
    return None if names is None else {parse_timeframe(v).name for v in names}


class _Exporter:
    """One export run: plan from the cache metadata, write what changed, commit the manifest."""

    def __init__(
        self,
        cache: Any,
        target: Target,
        symbols: set[tuple[str | None, str]] | None,
        timeframes: set[str] | None,
        full: bool,
    ) -> None:
        self.cache = cache
        self.target = target
        self.symbols = symbols
        self.timeframes = timeframes
        self.full = full
        self._damaged: set[tuple[Any, ...]] | None = None

    def _in_scope(self, entry: dict[str, Any]) -> bool:
        symbol, source = entry.get("symbol"), entry.get("source")
        wanted = self.symbols
        return (wanted is None or (None, symbol) in wanted or (source, symbol) in wanted) and (
            self.timeframes is None or entry.get("timeframe") in self.timeframes
        )

    def _series(self) -> Iterable[SeriesInfo]:
        for info in sorted(
            self.cache.series(), key=lambda s: (series_source(s), s.symbol, s.timeframe)
        ):
            entry = {"source": series_source(info), "symbol": info.symbol}
            if self._in_scope({**entry, "timeframe": info.timeframe}):
                yield info

    def run(self, started: float) -> ParquetExport:
        self.target.prepare()
        old = parse_manifest(self.target.read(MANIFEST) or b"") or {}
        present = self.target.files()
        for name in sorted(present):  # temporary files an interrupted export left behind
            if name.rpartition("/")[2].startswith("_tmp-") and name.endswith(".partial"):
                self.target.delete(name)
        entries: dict[str, dict[str, Any]] = {
            path: e for path, e in old.items() if not self._in_scope(e)
        }
        written = unchanged = rows = size = 0
        skipped: list[str] = []
        for info in self._series():
            source = series_source(info)
            for year in info.years:
                key = PartitionKey(source, info.symbol, info.timeframe, int(year))
                previous = old.get(key.path)
                entry = self._export_partition(key, previous, key.file in present)
                if entry is None:
                    skipped.append(key.describe())
                    if previous is not None:
                        entries[key.path] = previous
                    continue
                entries[key.path] = entry
                if entry is previous:
                    unchanged += 1
                else:
                    written, rows, size = written + 1, rows + entry["rows"], size + entry["bytes"]
        for path, entry in old.items():  # quarantined in the cache: keep the exported copy
            if path not in entries and _key_of(entry) in self._quarantined():
                entries[path] = entry
        gone = sorted(path for path in old if path not in entries)
        if written or gone or set(old) != set(entries) or MANIFEST not in present:
            now = iso(time.time_ns()) or ""
            text = manifest_text(entries, now).encode()
            self.target.write_atomic(MANIFEST, lambda handle: _write_bytes(handle, text))
        for path in gone:
            self.target.delete(f"{path}/{DATA_FILE}")  # path: re-derived from the entry
        return ParquetExport(
            dest=self.target.label, written=written, unchanged=unchanged, removed=len(gone),
            rows_written=rows, bytes_written=size, seconds=time.perf_counter() - started,
            partitions=len(entries), skipped=tuple(skipped),
        )  # fmt: skip

    def _quarantined(self) -> set[tuple[Any, ...]]:
        if self._damaged is None:
            listing = getattr(self.cache, "quarantined", None)
            damage = listing() if callable(listing) else []
            self._damaged = {(*split_store_name(d.symbol), d.timeframe, d.year) for d in damage}
        return self._damaged

    def _export_partition(
        self, key: PartitionKey, previous: dict[str, Any] | None, exists: bool
    ) -> dict[str, Any] | None:
        """Write one partition if it changed; its manifest entry (``previous`` when unchanged).

        None when the cache could not give a consistent copy (damaged, or rewritten during
        every attempt): the partition is skipped with a warning.
        """
        for _ in range(_READ_ATTEMPTS):
            meta = self.cache.metadata(key.symbol, key.timeframe, key.year, source=key.source)
            if meta is None:
                break  # gone from the cache since it was listed (deleted, or quarantined)
            token = partition_token(key, meta)
            if exists and not self.full and (previous or {}).get("token") == token:
                return previous
            table = self._table(key, meta)
            if table is None:
                continue
            after = self.cache.metadata(key.symbol, key.timeframe, key.year, source=key.source)
            if after is None or partition_token(key, after) != token:
                continue  # rewritten while we read it: read again
            size = self.target.write_atomic(key.file, partial(_write_table, table, key))
            return {
                "source": key.source, "symbol": key.symbol, "timeframe": key.timeframe,
                "year": key.year, "file": key.file.rpartition("/")[2], "rows": table.num_rows,
                "bytes": size, "first": meta.get("first"), "last": meta.get("last"),
                "token": token, "written_at": iso(time.time_ns()),
            }  # fmt: skip
        kept = "keeps its previous copy" if previous is not None else "has no copy of it"
        warnings.warn(
            f"{key.describe()}: not exported (the cached partition is damaged, gone or kept "
            f"changing while being read); the dataset {kept}",
            ExportWarning,
            stacklevel=4,
        )
        return None

    def _table(self, key: PartitionKey, meta: dict[str, Any]) -> Any:
        """The partition as an Arrow table; None when the read does not match ``meta``."""
        start = pd.Timestamp(year=key.year, month=1, day=1, tz="UTC")
        end = pd.Timestamp(year=key.year + 1, month=1, day=1, tz="UTC") - pd.Timedelta(1, "ns")
        frame = self.cache.read(key.symbol, key.timeframe, start, end, source=key.source)
        if len(frame) != int(meta.get("bars", -1)):
            return None
        try:
            providers = providers_per_row(meta, len(frame))
        except DataValidationError:
            return None
        return build_table(frame, providers, key)


def _key_of(entry: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(entry.get(k) for k in ("source", "symbol", "timeframe", "year"))


def build_table(frame: pd.DataFrame, providers: np.ndarray, key: PartitionKey) -> Any:
    """A schema frame as an Arrow table of the dataset's columns (timestamps in UTC micros)."""
    import pyarrow as pa

    ns = frame.index.asi8
    if ns.size and bool((ns % 1000).any()):
        raise DataValidationError(
            f"{key.describe()}: bar times finer than a microsecond cannot be exported"
        )
    columns: dict[str, Any] = {
        "timestamp": pa.array(ns // 1000, type=pa.int64()).cast(pa.timestamp("us", tz="UTC"))
    }
    for name in VALUE_COLUMNS:
        if name in frame.columns:
            columns[name] = pa.array(frame[name].to_numpy(dtype=np.float64), type=pa.float64())
        else:
            columns[name] = pa.nulls(len(frame), type=pa.float64())
    columns["provider"] = pa.array(providers.astype(str), type=pa.string())
    metadata = {
        "tradedata.source": key.source,
        "tradedata.symbol": key.symbol,
        "tradedata.timeframe": key.timeframe,
        "tradedata.year": str(key.year),
    }
    return pa.table(columns).replace_schema_metadata(metadata)


def _write_bytes(handle: IO[bytes], data: bytes) -> None:
    handle.write(data)


def _write_table(table: Any, key: PartitionKey, handle: IO[bytes]) -> None:
    import pyarrow.parquet as pq

    try:
        pq.write_table(
            table,
            handle,
            compression="zstd",
            row_group_size=ROW_GROUP_ROWS,
            use_dictionary=["provider"],
            # a fifth of the file less; Spark reads it vectorized since 3.3 (SPARK-36879,
            # apache/spark#34471), DuckDB and pyarrow always
            column_encoding={"timestamp": "DELTA_BINARY_PACKED"},
            write_statistics=True,
        )
    except (ValueError, TypeError) as exc:  # an Arrow error while encoding
        raise ExportError(f"{key.describe()}: cannot encode as Parquet: {exc}") from exc
