"""A compressed columnar copy of every stored month, kept beside the rows for fast reads.

``bars`` (one row per bar) is the store's truth: SQL users query it, every write and check
goes through it. Reading it back costs the server one protocol message per row, about half a
second per million bars however the client parses them. So each write also stores, in the
same transaction and under the series row's lock, every month it touched as one *block* in
``bar_blocks``: the embedded store's codec (:mod:`tradedata.cache.codec`: columnar,
delta/scale encoded, one gzip member; exact, checked to round-trip bit for bit), built from
the rows just read back from ``bars``. ``block_years`` lists the years whose every month with
bars has its block. A read takes the blocks of those years and the rows of any other year
(a store written before schema version 5, until its years are written again), so a block
can only ever be missing, never stale:

- :func:`save_year` runs inside every write, after the rows changed;
- every statement that removes bars removes their blocks in its transaction
  (:func:`tradedata.cache.postgres.catalog.drop`, ``truncate``);
- :func:`check_year` (``tradedata cache verify``) compares blocks with rows and rebuilds them.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from tradedata.cache.codec import block_columns, decode_block, deflate, encode_block, inflate
from tradedata.cache.layout import year_bounds
from tradedata.cache.postgres.binary import decode_fields
from tradedata.cache.postgres.catalog import block_rows_sql
from tradedata.cache.postgres.io import copy_out, read_rows
from tradedata.cache.postgres.schema import SCHEMA

__all__ = ["PROVIDER", "check_year", "month_starts", "read_series", "save_year", "year_from_blocks"]

#: the block column holding each row's provider id (``tradedata.providers``)
PROVIDER = "_provider"

log = logging.getLogger("tradedata")


def month_starts(year: int) -> np.ndarray:
    """The 13 ns instants starting each month of ``year`` and the next year (UTC)."""
    first = np.datetime64(f"{year:04d}-01", "M")
    months = np.arange(first, first + 13, dtype="datetime64[M]")
    return months.astype("datetime64[ns]").astype(np.int64)


def _months_hit(edges: np.ndarray, touched: np.ndarray) -> set[int]:
    """The months (0-11) of the year ``edges`` bound that hold a ``touched`` timestamp."""
    return set(np.unique(np.searchsorted(edges, touched, side="right") - 1).tolist())


def save_year(
    cur: Any,
    series_id: int,
    year: int,
    rows: tuple[np.ndarray, np.ndarray, tuple[str, ...], np.ndarray],
    touched: np.ndarray,
) -> None:
    """Store the blocks of ``year`` from its rows ``(ts, values, columns, provider ids)``
    (all of them, as they are now in ``bars``): the months holding a ``touched`` timestamp and
    any month still without a block; then mark the year as whole."""
    ts, values, columns, ids = rows
    edges = month_starts(year)
    cur.execute(
        f"SELECT month_ns FROM {SCHEMA}.bar_blocks WHERE series_id = %s"
        " AND month_ns >= %s AND month_ns < %s",
        (series_id, int(edges[0]), int(edges[-1])),
    )
    have = {int(r[0]) for r in cur.fetchall()}
    hit = _months_hit(edges, touched)
    cuts = np.searchsorted(ts, edges)
    batch: list[tuple[int, int, int, bytes]] = []
    for month in range(12):
        lo, hi = int(cuts[month]), int(cuts[month + 1])
        start = int(edges[month])
        if lo == hi:
            if start in have:  # rows gone (cannot happen through the store; stay exact)
                cur.execute(
                    f"DELETE FROM {SCHEMA}.bar_blocks WHERE series_id = %s AND month_ns = %s",
                    (series_id, start),
                )
            continue
        if month in hit or start not in have:
            part = {name: values[i, lo:hi] for i, name in enumerate(columns)}
            part[PROVIDER] = ids[lo:hi].astype(np.float64)
            batch.append((series_id, start, hi - lo, deflate(encode_block(ts[lo:hi], part))))
    if batch:
        cur.executemany(
            f"INSERT INTO {SCHEMA}.bar_blocks (series_id, month_ns, rows, block)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (series_id, month_ns)"
            " DO UPDATE SET rows = EXCLUDED.rows, block = EXCLUDED.block",
            batch,
        )
    cur.execute(
        f"INSERT INTO {SCHEMA}.block_years (series_id, year) VALUES (%s, %s)"
        " ON CONFLICT DO NOTHING",
        (series_id, year),
    )


def _decode(
    payload: bytes | memoryview, rows: int, columns: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """One block as ``(ts, values (len(columns), rows))``; a column the block lacks is NaN."""
    raw = inflate(payload)
    ts = np.empty(rows, dtype=np.int64)
    names = block_columns(raw)  # the block names its columns; place them after decoding
    got = np.empty((len(names), rows), dtype=np.float64)
    decode_block(raw, ts, got)
    if names == columns:
        return ts, got
    values = np.full((len(columns), rows), np.nan)
    for i, name in enumerate(names):
        if name in columns:
            values[columns.index(name)] = got[i]
    return ts, values


def _blocks(
    cur: Any, series_id: int, years: list[int], columns: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    first, _ = year_bounds(years[0])
    _, after = year_bounds(years[-1])
    stream = copy_out(
        cur,
        f"COPY (SELECT rows, block FROM {SCHEMA}.bar_blocks WHERE series_id = %s"
        " AND month_ns >= %s AND month_ns < %s ORDER BY month_ns) TO STDOUT (FORMAT BINARY)",
        (series_id, first, after),
    )
    parts = [
        _decode(block, int.from_bytes(n, "big"), columns) for n, block in decode_fields(stream)
    ]
    if not parts:
        return np.zeros(0, np.int64), np.zeros((len(columns), 0))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts], axis=1)


def year_from_blocks(
    cur: Any, series_id: int, year: int, columns: tuple[str, ...], touched: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Inside a write: every row of a whole ``year`` as ``(ts, values, provider ids)``, the
    months holding a ``touched`` timestamp from ``bars`` (the write just changed them), every
    other month from its block (unchanged since it was built); None when the year is not whole
    (read it from ``bars``)."""
    cur.execute(
        f"SELECT 1 FROM {SCHEMA}.block_years WHERE series_id = %s AND year = %s",
        (series_id, year),
    )
    if cur.fetchone() is None:
        return None
    edges = month_starts(year)
    hit = _months_hit(edges, touched)
    stream = copy_out(
        cur,
        f"COPY (SELECT month_ns, rows, block FROM {SCHEMA}.bar_blocks WHERE series_id = %s"
        " AND month_ns >= %s AND month_ns < %s) TO STDOUT (FORMAT BINARY)",
        (series_id, int(edges[0]), int(edges[-1])),
    )
    stored = {
        int.from_bytes(m, "big", signed=True): (int.from_bytes(n, "big"), block)
        for m, n, block in decode_fields(stream)
    }
    wanted = (*columns, PROVIDER)
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    for month in range(12):
        start, after = int(edges[month]), int(edges[month + 1])
        found = stored.get(start)
        if month not in hit and found is not None:
            try:
                ts, values = _decode(found[1], found[0], wanted)
            except Exception as exc:  # damage: drop the year's blocks, rebuilt by this write
                log.warning(
                    "PostgreSQL store: a read block of series %s in %s does not decode (%s: %s):"
                    " rebuilding the year's blocks from its rows",
                    series_id, year, type(exc).__name__, exc,
                )  # fmt: skip
                _forget_year(cur, series_id, year)
                return None
            if not np.isnan(values[-1]).any():  # a block without provider ids: use the rows
                parts.append((ts, values))
                continue
        if month in hit or found is not None:
            ts, values, ids = read_rows(cur, series_id, columns, start, after - 1, providers=True)
            assert ids is not None
            parts.append((ts, np.vstack((values, ids.astype(np.float64)[None, :]))))
    if not parts:
        return np.zeros(0, np.int64), np.zeros((len(columns), 0)), np.zeros(0, np.int32)
    ts = np.concatenate([p[0] for p in parts])
    values = np.concatenate([p[1] for p in parts], axis=1)
    return ts, values[:-1], values[-1].astype(np.int32)


def _forget_year(cur: Any, series_id: int, year: int) -> None:
    first, after = year_bounds(year)
    cur.execute(
        f"DELETE FROM {SCHEMA}.bar_blocks WHERE series_id = %s AND month_ns >= %s"
        " AND month_ns < %s",
        (series_id, first, after),
    )
    cur.execute(
        f"DELETE FROM {SCHEMA}.block_years WHERE series_id = %s AND year = %s", (series_id, year)
    )


def _runs(years: list[int], whole: set[int]) -> list[tuple[bool, list[int]]]:
    """``years`` (consecutive) cut into runs of the same wholeness, in order."""
    runs: list[tuple[bool, list[int]]] = []
    for year in years:
        flag = year in whole
        if runs and runs[-1][0] == flag:
            runs[-1][1].append(year)
        else:
            runs.append((flag, [year]))
    return runs


def read_series(
    cur: Any, series_id: int, columns: tuple[str, ...], lo: int | None, hi: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """``(ns timestamps, values (len(columns), n))`` of the bars with ``lo <= t <= hi``:
    whole years from their blocks, any other part of the range from ``bars``."""
    cur.execute(  # per stored year: its bar count, and the rows its blocks hold if whole
        f"SELECT m.year, (m.meta->>'bars')::bigint, y.year IS NOT NULL, {block_rows_sql('m')}"
        f" FROM {SCHEMA}.metadata m LEFT JOIN"
        f" {SCHEMA}.block_years y ON y.series_id = m.series_id AND y.year = m.year"
        " WHERE m.series_id = %s ORDER BY m.year",
        (series_id,),
    )
    stored = cur.fetchall()
    whole = set()
    for year, bars, marked, held in stored:
        if marked and bars == held:
            whole.add(int(year))
        elif marked:  # never through the store; read the rows and say so
            log.warning(
                "PostgreSQL store: the read blocks of series %s, %s hold %s bars, its metadata"
                " says %s: reading its rows (tradedata cache verify rebuilds them)",
                series_id, year, held, bars,
            )  # fmt: skip
    low = stored[0][0] if stored else None
    high = stored[-1][0] if stored else None
    first = 0 if low is None else int(low) if lo is None else max(int(low), _year(lo))
    last = 0 if high is None else int(high) if hi is None else min(int(high), _year(hi))
    if not whole or low is None or first > last:
        return _rows(cur, series_id, columns, lo, hi)
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    if lo is None or first > _year(lo):  # bars before the metadata's years
        parts.append(_rows(cur, series_id, columns, lo, year_bounds(first)[0] - 1))
    for is_whole, run in _runs(list(range(first, last + 1)), whole):
        if is_whole:
            try:
                parts.append(_blocks(cur, series_id, run, columns))
                continue
            except Exception as exc:  # zlib/isal/struct/codec errors: damage, not a crash
                log.warning(
                    "PostgreSQL store: a read block of series %s in %s..%s does not decode"
                    " (%s: %s): reading its rows (tradedata cache verify rebuilds it)",
                    series_id, run[0], run[-1], type(exc).__name__, exc,
                )  # fmt: skip
        start, _ = year_bounds(run[0])
        _, after = year_bounds(run[-1])
        parts.append(_rows(cur, series_id, columns, start, after - 1))
    if hi is None or last < _year(hi):  # bars after the metadata's years
        parts.append(_rows(cur, series_id, columns, year_bounds(last)[1], hi))
    ts = np.concatenate([p[0] for p in parts])
    values = np.concatenate([p[1] for p in parts], axis=1)
    keep = slice(
        0 if lo is None else int(np.searchsorted(ts, lo, side="left")),
        ts.size if hi is None else int(np.searchsorted(ts, hi, side="right")),
    )
    return ts[keep], values[:, keep]


def _rows(
    cur: Any, series_id: int, columns: tuple[str, ...], lo: int | None, hi: int | None
) -> tuple[np.ndarray, np.ndarray]:
    if lo is not None and hi is not None and lo > hi:
        return np.zeros(0, np.int64), np.zeros((len(columns), 0))
    ts, values, _ = read_rows(cur, series_id, columns, lo, hi)
    return ts, values


def _year(ns: int) -> int:
    return int(np.datetime64(int(ns), "ns").astype("datetime64[Y]").astype(int)) + 1970


def check_year(cur: Any, series_id: int, year: int, columns: tuple[str, ...]) -> str | None:
    """Compare the year's blocks with its rows; on any difference rebuild them from the rows
    and say what differed (None when they agree or the year has no blocks)."""
    cur.execute(
        f"SELECT 1 FROM {SCHEMA}.block_years WHERE series_id = %s AND year = %s",
        (series_id, year),
    )
    if cur.fetchone() is None:
        return None
    first, after = year_bounds(year)
    ts, values, ids = read_rows(cur, series_id, columns, first, after - 1, providers=True)
    assert ids is not None
    try:
        got_ts, got = _blocks(cur, series_id, [year], (*columns, PROVIDER))
        same = np.array_equal(got_ts, ts) and np.array_equal(
            got, np.vstack((values, ids[None, :])), equal_nan=True
        )
    except Exception as exc:  # a block that does not decode (zlib/isal/struct/codec errors)
        same, got_ts = False, np.zeros(0, np.int64)
        reason = f"a block does not decode ({exc})"
    else:
        reason = f"the blocks hold {got_ts.size} bars, the table {ts.size}"
        if got_ts.size == ts.size:
            reason = "the blocks' values or providers differ from the table's"
    if same:
        return None
    _forget_year(cur, series_id, year)
    save_year(cur, series_id, year, (ts, values, columns, ids), ts)
    return reason
