"""Bars in and out of PostgreSQL with binary ``COPY``, whole buffers parsed by numpy.

:func:`read_rows` runs ``COPY (SELECT ...) TO STDOUT (FORMAT BINARY)`` and decodes the stream
in one go into timestamps, a (columns, rows) float matrix and per-row provider ids;
:func:`put_bars` writes a batch with ``COPY ... FROM STDIN (FORMAT BINARY)`` (straight into
``bars`` when the batch overlaps nothing stored, else through a temporary table and one
``INSERT ... ON CONFLICT DO UPDATE``).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from tradedata.cache.postgres.binary import decode_rows, encode_rows, ns_to_pg, pg_to_ns
from tradedata.cache.postgres.schema import SCHEMA
from tradedata.model import OHLCV_COLUMNS, OPTIONAL_COLUMNS

__all__ = ["BAR_FIELDS", "copy_out", "pg_time", "put_bars", "read_rows"]

BAR_FIELDS = [
    ("series_id", ">i4"),
    ("open_time", ">i8"),
    *[(name, ">f8") for name in (*OHLCV_COLUMNS, *OPTIONAL_COLUMNS)],
    ("provider_id", ">i4"),
]
_COLUMNS = ", ".join(name for name, _ in BAR_FIELDS)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def pg_time(ns: int, *, up: bool = False) -> datetime:
    """An ns instant as an exact microsecond datetime (``up``: round up, else down)."""
    us = -(-ns // 1000) if up else ns // 1000
    return _EPOCH + timedelta(microseconds=us)


def copy_out(cur: Any, statement: Any, params: Any) -> bytes:
    """The whole output of a ``COPY ... TO STDOUT`` statement."""
    out = bytearray()
    with cur.copy(statement, params) as copy:
        for block in copy:
            out += block
    return bytes(out)


def read_rows(
    cur: Any,
    series_id: int,
    columns: tuple[str, ...],
    lo: int | None,
    hi: int | None,
    *,
    providers: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(ns timestamps, values (len(columns), n), provider ids or None)`` for ``[lo, hi]``."""
    where = ["series_id = %s"]
    params: list[Any] = [series_id]
    if lo is not None:
        where.append("open_time >= %s")
        params.append(pg_time(lo, up=True))
    if hi is not None:
        where.append("open_time <= %s")
        params.append(pg_time(hi))
    fields = [("open_time", ">i8"), *[(c, ">f8") for c in columns]]
    if providers:
        fields.append(("provider_id", ">i4"))
    select = ", ".join(name for name, _ in fields)
    statement = (
        f"COPY (SELECT {select} FROM {SCHEMA}.bars WHERE {' AND '.join(where)}"
        " ORDER BY open_time) TO STDOUT (FORMAT BINARY)"
    )
    rows = decode_rows(copy_out(cur, statement, params), fields)
    ts = pg_to_ns(rows["open_time"])
    values = np.empty((len(columns), rows.size), dtype=np.float64)
    for i, name in enumerate(columns):
        values[i] = rows[name]
    ids = rows["provider_id"].astype(np.int32) if providers else None
    return ts, values, ids


def put_bars(
    cur: Any, series_id: int, ts: np.ndarray, values: dict[str, np.ndarray], provider_id: int
) -> None:
    """Upsert one batch of bars (sorted unique ns ``ts``; ``values`` by column name)."""
    n = ts.size
    cols: dict[str, np.ndarray] = {
        "series_id": np.full(n, series_id, dtype=np.int32),
        "open_time": ns_to_pg(ts),
        "provider_id": np.full(n, provider_id, dtype=np.int32),
    }
    for name in (*OHLCV_COLUMNS, *OPTIONAL_COLUMNS):
        cols[name] = values.get(name, np.full(n, np.nan))
    stream = encode_rows(cols, BAR_FIELDS)
    cur.execute(
        f"SELECT EXISTS (SELECT 1 FROM {SCHEMA}.bars WHERE series_id = %s"
        " AND open_time BETWEEN %s AND %s)",
        (series_id, pg_time(int(ts[0])), pg_time(int(ts[-1]))),
    )
    overlaps = bool(cur.fetchone()[0])
    target = "pg_temp.td_incoming" if overlaps else f"{SCHEMA}.bars"
    if overlaps:
        cur.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS td_incoming (LIKE {SCHEMA}.bars)"
            " ON COMMIT DELETE ROWS"
        )
    with cur.copy(f"COPY {target} ({_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(stream)
    if overlaps:
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c, _ in BAR_FIELDS[2:])
        cur.execute(
            f"INSERT INTO {SCHEMA}.bars ({_COLUMNS}) SELECT {_COLUMNS} FROM pg_temp.td_incoming"
            f" ON CONFLICT (series_id, open_time) DO UPDATE SET {updates}"
        )
