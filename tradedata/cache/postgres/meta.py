"""The metadata of one year of a series, computed from its rows inside a write."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from tradedata.cache.codec import checksum
from tradedata.cache.interface import QualityFn
from tradedata.cache.layout import dumps, identity_fields, iso, store_name, year_bounds
from tradedata.cache.partitions import Rows, default_quality, runs_of
from tradedata.cache.postgres.blocks import year_from_blocks
from tradedata.cache.postgres.catalog import Key, columns_of, series_row
from tradedata.cache.postgres.io import read_rows
from tradedata.cache.postgres.schema import SCHEMA
from tradedata.errors import InputError

__all__ = ["FORMAT", "rescore_year", "year_meta", "year_rows"]

FORMAT = "tradedata-postgres-1"


def year_rows(
    cur: Any, series_id: int, year: int, columns: tuple[str, ...], touched: np.ndarray
) -> tuple[Rows, np.ndarray]:
    """Every row of one stored year (its ``columns``), inside a write that changed the bars at
    ``touched`` times, and each row's provider id. The months the write left alone come from
    their read blocks when the year has them."""
    got = year_from_blocks(cur, series_id, year, columns, touched)
    if got is not None:
        ts, values, ids = got
    else:
        first, after = year_bounds(year)
        ts, values, read = read_rows(cur, series_id, columns, first, after - 1, providers=True)
        assert read is not None
        ids = read
    cur.execute(f"SELECT id, name FROM {SCHEMA}.providers")
    names = dict(cur.fetchall())
    used = list(dict.fromkeys(ids.tolist()))
    codes = np.searchsorted(np.array(sorted(used)), ids) if ids.size else ids
    order = sorted(used)
    rows = Rows(ts, values, columns, [names[i] for i in order], codes.astype(np.int32))
    return rows, ids


def year_meta(
    cur: Any,
    series_id: int,
    key: tuple[str, str, str],
    year: int,
    rows: Rows,
    write: tuple[str, dict | None, QualityFn | None, int],
) -> dict[str, Any]:
    """The metadata of one stored year, computed from its ``rows`` (inside the write)."""
    series_source, symbol, tf = key
    source, provider_info, quality, dupes = write
    ts, values, columns = rows.timestamps, rows.values, rows.columns
    if quality is not None:
        report = quality(rows.frame())
        if not isinstance(report, dict):
            raise InputError(f"quality() must return a dict, got {type(report).__name__}")
    else:
        report = default_quality(rows, dupes)
    cur.execute(
        f"SELECT meta FROM {SCHEMA}.metadata WHERE series_id = %s AND year = %s",
        (series_id, year),
    )
    found = cur.fetchone()
    previous = found[0] if found else {}
    info = dict(previous.get("provider_info") or {})
    if provider_info is not None:
        info[source] = provider_info
    runs = runs_of(rows)
    counts: dict[str, int] = {}
    for name, count in runs:
        counts[name] = counts.get(name, 0) + count
    now = iso(time.time_ns())
    return identity_fields(store_name(symbol, series_source)) | {
        "format": FORMAT,
        "symbol": symbol,
        "timeframe": tf,
        "year": year,
        "data_source": next(iter(counts)) if len(counts) == 1 else "mixed",
        "providers": [{"provider": k, "bars": v} for k, v in counts.items()],
        "source_runs": runs,
        "created_at": previous.get("created_at", now),
        "updated_at": now,
        "data_quality": report,
        "provider_info": {k: v for k, v in info.items() if k in counts},
        "bars": rows.size,
        "first": iso(int(ts[0])) if ts.size else None,
        "last": iso(int(ts[-1])) if ts.size else None,
        "columns": list(columns),
        "bytes": int(ts.size * (12 + 8 * len(columns))),
        "checksum": checksum(ts.tobytes() + values.tobytes()),
    }


def rescore_year(cur: Any, key: Key, year: int, quality: QualityFn) -> bool:
    """Inside a transaction, under the series row's lock (as a write): set one stored year's
    ``data_quality`` to ``quality(its bars)``; its bars, blocks and the rest of its metadata
    stay as they are. False when the year holds no bars."""
    found = series_row(cur, key)
    if found is None:
        return False
    series_id = int(found[0])
    cur.execute(f"SELECT id FROM {SCHEMA}.series WHERE id = %s FOR UPDATE", (series_id,))
    cur.execute(
        f"SELECT meta FROM {SCHEMA}.metadata WHERE series_id = %s AND year = %s",
        (series_id, year),
    )
    row = cur.fetchone()
    if row is None:
        return False
    rows, _ = year_rows(cur, series_id, year, columns_of(found), np.zeros(0, np.int64))
    report = quality(rows.frame())
    if not isinstance(report, dict):
        raise InputError(f"quality() must return a dict, got {type(report).__name__}")
    cur.execute(
        f"UPDATE {SCHEMA}.metadata SET meta = %s::jsonb WHERE series_id = %s AND year = %s",
        (dumps({**dict(row[0]), "data_quality": report}), series_id, year),
    )
    return True
