"""Partitions in memory: decoding selected months, merging new rows, building metadata."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

import tradedata.cache.codec as codec
from tradedata import metrics
from tradedata.cache.codec import MemberInfo
from tradedata.cache.layout import iso, month_edges
from tradedata.model import OHLCV_COLUMNS, OPTIONAL_COLUMNS

__all__ = ["Rows", "build_metadata", "decode", "encode", "merge_rows", "select_members"]

FORMAT = "tradedata-partition-1"


class Damaged(Exception):
    """Internal: a partition failed a check (the message says which)."""


@dataclass
class Rows:
    """Rows of one partition: int64 ns timestamps, a (ncols, n) matrix, per-row provider codes."""

    timestamps: np.ndarray
    values: np.ndarray
    columns: tuple[str, ...]
    sources: list[str] = field(default_factory=list)  # provider names, indexed by codes
    codes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    origin: tuple[bytes, list[MemberInfo]] | None = None  # stored blob these rows came from

    @property
    def size(self) -> int:
        """Number of rows."""
        return int(self.timestamps.size)

    def frame(self) -> pd.DataFrame:
        """The rows as a schema frame (no copy of the values)."""
        index = pd.DatetimeIndex(self.timestamps.view("M8[ns]"), name="timestamp")
        return pd.DataFrame(
            self.values.T, index=index.tz_localize("UTC"), columns=list(self.columns), copy=False
        )


def column_order(names: Sequence[str]) -> tuple[str, ...]:
    """Schema column order: OHLCV, then ``adj_close`` and ``open_interest`` when present.

    A partition stores only the columns its rows have (the codec names each column), so one
    written before a column existed still reads: the column is NaN for its rows.
    """
    return (*OHLCV_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in names))


# -- reading --------------------------------------------------------------------------------


def planned_rows(meta: dict[str, Any], lo: int | None, hi: int | None) -> int:
    """Rows :func:`decode` will return for ``[lo, hi]`` (whole months)."""
    members = [MemberInfo.from_list(m) for m in meta["members"]]
    return sum(m.rows for m in select_members(members, lo, hi))


def select_members(members: list[MemberInfo], lo: int | None, hi: int | None) -> list[MemberInfo]:
    """Members whose time span overlaps ``[lo, hi]`` (None = unbounded)."""
    return [m for m in members if (lo is None or m.last >= lo) and (hi is None or m.first <= hi)]


def _read_members(
    handle: BinaryIO | bytes, chosen: list[MemberInfo], meta: dict[str, Any]
) -> list[bytes | memoryview]:
    members: list[MemberInfo] = [MemberInfo.from_list(m) for m in meta["members"]]
    if isinstance(handle, bytes):
        blob: bytes | None = handle
    elif len(chosen) == len(members):
        blob = handle.read()
    else:
        blob = None
    if blob is not None:
        if len(blob) != meta["bytes"] or codec.checksum(blob) != meta["checksum"]:
            raise Damaged("checksum mismatch")
        view = memoryview(blob)
        return [view[m.offset : m.offset + m.length] for m in chosen]
    assert not isinstance(handle, bytes)
    out: list[bytes | memoryview] = []
    for m in chosen:
        handle.seek(m.offset)
        data = handle.read(m.length)
        if not codec.member_crc_ok(data, m):
            raise Damaged(f"checksum mismatch in month {m.month}")
        out.append(data)
    return out


def decode(
    handle: BinaryIO | bytes,
    meta: dict[str, Any],
    lo: int | None,
    hi: int | None,
    out: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Decode the months of a partition overlapping ``[lo, hi]``; raises :class:`Damaged`.

    ``out`` are arrays to decode into (rows, and (columns, rows)) when their shapes fit.
    """
    columns = tuple(meta["columns"])
    members = [MemberInfo.from_list(m) for m in meta["members"]]
    chosen = select_members(members, lo, hi)
    n = sum(m.rows for m in chosen)
    if out is not None and out[0].shape == (n,) and out[1].shape == (len(columns), n):
        ts, values = out
    else:
        ts = np.empty(n, dtype=np.int64)
        values = np.empty((len(columns), n), dtype=np.float64)
    try:
        raw = _read_members(handle, chosen, meta)
        metrics.record_cache_read(sum(len(data) for data in raw))
        pos = 0
        for m, data in zip(chosen, raw, strict=True):
            payload = codec.inflate(data)
            names = codec.decode_block(
                payload, ts[pos : pos + m.rows], values[:, pos : pos + m.rows]
            )
            if names != columns:
                raise Damaged("column names do not match the metadata")
            pos += m.rows
    except Damaged:
        raise
    except Exception as exc:  # zlib/isal errors, struct errors, short reads: all mean damage
        raise Damaged(f"unreadable data ({type(exc).__name__}: {exc})") from exc
    return ts, values, columns


def sources_of(meta: dict[str, Any], n: int) -> tuple[list[str], np.ndarray]:
    """Per-row provider codes rebuilt from the metadata's ``source_runs``."""
    runs = meta.get("source_runs") or [[meta.get("data_source", "unknown"), n]]
    names: list[str] = []
    codes = []
    counts = []
    for name, count in runs:
        if name not in names:
            names.append(name)
        codes.append(names.index(name))
        counts.append(int(count))
    out = np.repeat(np.array(codes, dtype=np.int32), counts)
    if out.size != n:
        raise Damaged("source runs do not match the number of bars")
    return names, out


# -- merging --------------------------------------------------------------------------------


def _widen(rows: Rows, columns: tuple[str, ...]) -> np.ndarray:
    if rows.columns == columns:
        return rows.values
    out = np.full((len(columns), rows.size), np.nan)
    for i, name in enumerate(columns):
        if name in rows.columns:
            out[i] = rows.values[rows.columns.index(name)]
    return out


def merge_rows(old: Rows | None, new: Rows) -> Rows:
    """``old`` with ``new`` laid over it: rows at a timestamp present in ``new`` are replaced.

    Both are sorted and unique; the result is too. Appending after the last stored row (the
    usual case) is a plain concatenation.
    """
    if old is None or old.size == 0:
        return new
    columns = column_order(old.columns + new.columns)
    sources = list(old.sources)
    remap = np.array([_index(sources, s) for s in new.sources], dtype=np.int32)
    new_codes = remap[new.codes] if new.size else new.codes
    old_vals, new_vals = _widen(old, columns), _widen(new, columns)
    if not new.size or new.timestamps[0] > old.timestamps[-1]:
        ts = np.concatenate((old.timestamps, new.timestamps))
        values = np.concatenate((old_vals, new_vals), axis=1)
        codes = np.concatenate((old.codes, new_codes))
    else:
        pos = np.searchsorted(old.timestamps, new.timestamps)
        hit = pos < old.size
        hit[hit] = old.timestamps[pos[hit]] == new.timestamps[hit]
        keep = np.ones(old.size, dtype=bool)
        keep[pos[hit]] = False
        kept = old.timestamps[keep]
        is_new = np.zeros(kept.size + new.size, dtype=bool)
        is_new[np.searchsorted(kept, new.timestamps) + np.arange(new.size)] = True
        ts = _interleave(is_new, kept, new.timestamps)
        values = _interleave(is_new, old_vals[:, keep], new_vals)
        codes = _interleave(is_new, old.codes[keep], new_codes)
    used = np.flatnonzero(np.bincount(codes, minlength=len(sources)))
    recode = np.zeros(len(sources), dtype=np.int32)
    recode[used] = np.arange(used.size, dtype=np.int32)
    return Rows(ts, values, columns, [sources[i] for i in used], recode[codes])


def _interleave(is_new: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Rows of ``old`` and ``new`` placed where ``is_new`` is False/True (last axis)."""
    out = np.empty((*old.shape[:-1], is_new.size), dtype=old.dtype)
    out[..., is_new] = new
    out[..., ~is_new] = old
    return out


def _index(names: list[str], name: str) -> int:
    if name not in names:
        names.append(name)
    return names.index(name)


def runs_of(rows: Rows) -> list[list[Any]]:
    """Run-length encoding of the per-row providers: ``[[provider, count], ...]``."""
    if rows.size == 0:
        return []
    change = np.flatnonzero(np.diff(rows.codes)) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [rows.size]))
    return [
        [rows.sources[int(rows.codes[s])], int(e - s)] for s, e in zip(starts, ends, strict=True)
    ]


# -- writing --------------------------------------------------------------------------------


def encode(
    rows: Rows, year: int, reuse: dict[int, memoryview] | None = None
) -> tuple[bytes, list[MemberInfo]]:
    """The gzip blob and month table of a partition (``reuse``: unchanged months' members)."""
    cols = {name: rows.values[i] for i, name in enumerate(rows.columns)}
    return codec.encode_partition(rows.timestamps, cols, month_edges(year), reuse)


def unchanged_members(
    old: Rows | None, new: Rows, merged: Rows, year: int
) -> dict[int, memoryview]:
    """Members of ``old``'s stored blob for the months ``new`` does not touch."""
    if old is None or old.origin is None or old.columns != merged.columns:
        return {}
    blob, members = old.origin
    months = np.searchsorted(month_edges(year), new.timestamps, side="right")
    touched = set(months.tolist())
    view = memoryview(blob)
    return {
        m.month: view[m.offset : m.offset + m.length] for m in members if m.month not in touched
    }


def build_metadata(
    *,
    symbol: str,
    timeframe: str,
    year: int,
    rows: Rows,
    blob: bytes,
    members: list[MemberInfo],
    gen: str,
    previous: dict[str, Any] | None,
    quality: dict[str, Any],
    provider_info: dict[str, Any],
) -> dict[str, Any]:
    """The metadata record of a freshly encoded partition."""
    runs = runs_of(rows)
    counts: dict[str, int] = {}
    for name, count in runs:
        counts[name] = counts.get(name, 0) + count
    now = iso(time.time_ns())
    return {
        "format": FORMAT,
        "symbol": symbol,
        "timeframe": timeframe,
        "year": year,
        "data_source": next(iter(counts)) if len(counts) == 1 else "mixed",
        "providers": [{"provider": k, "bars": v} for k, v in counts.items()],
        "source_runs": runs,
        "created_at": (previous or {}).get("created_at", now),
        "updated_at": now,
        "data_quality": quality,
        "provider_info": {k: v for k, v in provider_info.items() if k in counts},
        "bars": rows.size,
        "first": iso(int(rows.timestamps[0])),
        "last": iso(int(rows.timestamps[-1])),
        "columns": list(rows.columns),
        "bytes": len(blob),
        "checksum": codec.checksum(blob),
        "generation": gen,
        "members": [m.to_list() for m in members],
    }


def default_quality(rows: Rows, duplicates: int) -> dict[str, Any]:
    """Quality record used when the caller gives no quality function."""
    return {"score": None, "validation_errors": [], "gaps": None, "duplicates": duplicates}


QualityFn = Callable[[pd.DataFrame], dict]
