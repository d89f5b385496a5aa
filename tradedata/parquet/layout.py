"""The shape of the Parquet dataset: partition paths, the file schema and the manifest.

A dataset is a folder (local, S3 or any fsspec URL) laid out the Hive way::

    DEST/
      _tradedata_manifest.json                              (written last: the commit)
      source=binance/symbol=BTC%2FUSDT/timeframe=1m/year=2024/part-0.parquet
      source=consolidated/symbol=AAPL/timeframe=1d/year=2023/part-0.parquet
      source=binance/symbol=BTC%2FUSDT/timeframe=1%4D/year=2024/part-0.parquet   (timeframe 1M)

**Partition values are percent-encoded** (RFC 3986: every byte outside ``A-Z a-z 0-9 . _ - ~``
becomes ``%XX`` of its UTF-8 encoding), so ``BTC/USDT`` is the folder ``symbol=BTC%2FUSDT`` and
``BTC/USDT:USDT`` is ``symbol=BTC%2FUSDT%3AUSDT``. DuckDB (``hive_partitioning``), pyarrow and
Dask (Hive partitioning, ``segment_encoding="uri"``) and Spark (partition discovery) decode
these values, so the ``symbol`` column reads back as ``BTC/USDT``. Timeframe values also encode
their upper-case letters (``1M`` is ``1%4D``), so one month (``1M``) and one minute (``1m``)
stay two folders on case-insensitive file systems (macOS, Windows) and still read back as
``1M`` and ``1m``.

Every file has the same columns: ``timestamp`` (Parquet ``TIMESTAMP(MICROS, UTC)``: the bar's
open time), ``open high low close volume adj_close`` (float64; ``adj_close`` is null where the
source has none) and ``provider`` (which provider delivered the bar). Files are zstd-compressed
and sorted by time; the partition columns live only in the paths, as Hive readers expect.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import numpy as np

from tradedata.errors import DataValidationError

__all__ = [
    "DATA_FILE",
    "FORMAT",
    "MANIFEST",
    "PartitionKey",
    "decode_value",
    "encode_value",
    "manifest_text",
    "parse_manifest",
    "partition_token",
]

#: The dataset format; a manifest of another format is not trusted (everything is rewritten).
FORMAT = "tradedata-parquet-1"
#: The manifest's name at the dataset root (``_`` makes Spark, pyarrow and Dask skip it).
MANIFEST = "_tradedata_manifest.json"
#: The one data file in each partition folder.
DATA_FILE = "part-0.parquet"
#: Value columns, in file order (after ``timestamp``, before ``provider``).
VALUE_COLUMNS = ("open", "high", "low", "close", "volume", "adj_close")
#: Rows per Parquet row group: about three months of one-minute bars.
ROW_GROUP_ROWS = 131_072


def encode_value(value: str, *, fold_case: bool = False) -> str:
    """A partition value as a path segment: percent-encoding (``BTC/USDT`` -> ``BTC%2FUSDT``).

    ``fold_case`` also encodes upper-case letters (``1M`` -> ``1%4D``), for values that differ
    only in case.
    """
    if not fold_case:
        return quote(value, safe="")
    return "".join(f"%{ord(c):02X}" if "A" <= c <= "Z" else quote(c, safe="") for c in value)


def decode_value(segment: str) -> str:
    """The value a Hive reader sees for a path segment (the inverse of :func:`encode_value`)."""
    return unquote(segment)


@dataclass(frozen=True, order=True)
class PartitionKey:
    """One partition of the dataset: a year of one series from one source."""

    source: str
    symbol: str
    timeframe: str
    year: int

    @property
    def path(self) -> str:
        """The folder relative to the dataset root, ``source=../symbol=../timeframe=../year=..``."""
        return "/".join(
            (
                f"source={encode_value(self.source)}",
                f"symbol={encode_value(self.symbol)}",
                f"timeframe={encode_value(self.timeframe, fold_case=True)}",
                f"year={self.year}",
            )
        )

    @property
    def file(self) -> str:
        """The data file relative to the dataset root."""
        return f"{self.path}/{DATA_FILE}"

    def describe(self) -> str:
        """``binance BTC/USDT 1m 2024``: for messages."""
        return f"{self.source} {self.symbol} {self.timeframe} {self.year}"


def partition_token(key: PartitionKey, meta: dict[str, Any]) -> str:
    """A fingerprint of what a partition's file would hold, from the cache metadata alone.

    It covers the stored blob's checksum, bar count, range, columns and per-bar providers, the
    partition key and the dataset format: equal tokens mean the file need not be written again.
    """
    basis = {
        "format": FORMAT,
        "key": [key.source, key.symbol, key.timeframe, key.year],
        "checksum": meta.get("checksum"),
        "bars": meta.get("bars"),
        "first": meta.get("first"),
        "last": meta.get("last"),
        "columns": meta.get("columns"),
        "source_runs": meta.get("source_runs"),
    }
    digest = hashlib.sha256(json.dumps(basis, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:32]


def providers_per_row(meta: dict[str, Any], rows: int) -> np.ndarray:
    """The provider of each bar, rebuilt from the metadata's ``source_runs``."""
    runs = meta.get("source_runs") or [[meta.get("data_source", "unknown"), rows]]
    names = np.array([str(name) for name, _ in runs], dtype=object)
    counts = np.array([int(count) for _, count in runs], dtype=np.int64)
    if int(counts.sum()) != rows:
        raise DataValidationError("the partition's provider runs do not match its bars")
    return np.repeat(names, counts)


def manifest_text(partitions: dict[str, dict[str, Any]], written_at: str) -> str:
    """The manifest JSON: format, layout, encoding, and one entry per partition path."""
    body = {
        "format": FORMAT,
        "written_at": written_at,
        "layout": "source=/symbol=/timeframe=/year=/" + DATA_FILE,
        "partition_encoding": "RFC 3986 percent-encoding; timeframe upper-case letters too",
        "columns": ["timestamp", *VALUE_COLUMNS, "provider"],
        "timestamp": "bar open time, TIMESTAMP(MICROS) adjusted to UTC",
        "compression": "zstd",
        "partitions": dict(sorted(partitions.items())),
    }
    return json.dumps(body, indent=1, sort_keys=False) + "\n"


def parse_manifest(text: bytes | str) -> dict[str, dict[str, Any]] | None:
    """The partition entries of a manifest; None when it is unreadable or of another format."""
    try:
        body = json.loads(text)
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        return None
    entries = body.get("partitions")
    if not isinstance(entries, dict):
        return None
    return {k: v for k, v in entries.items() if _entry_key(v) == k}


def _entry_key(entry: Any) -> str | None:
    """The path an entry's own fields give (None if malformed): a tampered key never counts."""
    if not isinstance(entry, dict):
        return None
    source, symbol, timeframe, year = (
        entry.get(name) for name in ("source", "symbol", "timeframe", "year")
    )
    if not (isinstance(source, str) and isinstance(symbol, str) and isinstance(timeframe, str)):
        return None
    if not (source and symbol and timeframe) or type(year) is not int:
        return None
    return PartitionKey(source, symbol, timeframe, year).path
