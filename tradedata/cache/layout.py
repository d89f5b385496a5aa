"""Names and shapes shared by the cache modules: records, keys, JSON, time helpers."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tradedata.errors import InputError
from tradedata.identity import default_source, normalize_source

__all__ = [
    "CacheCorruptionWarning",
    "CacheLimitWarning",
    "Damage",
    "SeriesInfo",
    "display_name",
    "dumps",
    "file_safe",
    "iso",
    "month_edges",
    "parse_ns",
    "split_store_name",
    "store_name",
    "year_bounds",
]


class CacheCorruptionWarning(UserWarning):
    """A stored partition was damaged; it was quarantined and will be fetched again."""


class CacheLimitWarning(UserWarning):
    """``CACHE_MAX_SIZE_GB`` is too small for what the current request needs.

    The partitions the request needs are kept (the limit is exceeded until a later write
    can evict them); raise the limit to keep such requests cached.
    """


@dataclass(frozen=True)
class SeriesInfo:
    """Summary of one cached series (a symbol at a timeframe)."""

    symbol: str
    timeframe: str
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    bars: int
    bytes: int
    score: float | None  # bars-weighted mean of the partitions' quality scores, when known
    providers: tuple[str, ...]
    years: tuple[int, ...]
    source: str = ""  # the series' source (venue or equity volume scope), see tradedata.identity


@dataclass(frozen=True)
class Damage:
    """A partition found damaged and moved to the quarantine folder."""

    symbol: str
    timeframe: str
    year: int
    reason: str
    path: Path | None  # the quarantined data file (None when there was no data left to keep)
    detected_at: pd.Timestamp


_SEP = "|"
_AT = "@"


def store_name(symbol: str, source: str | None) -> str:
    """The name a series is stored under: ``SYMBOL`` for the default source, else
    ``SYMBOL@source`` (so a cache written before sources existed holds default-source series).
    """
    check_name(symbol, "symbol")
    if _AT in symbol:
        raise InputError(f"symbol must not contain '@', got {symbol!r}")
    src = normalize_source(source) if source else default_source(symbol)
    return symbol if src == default_source(symbol) else f"{symbol}{_AT}{src}"


def identity_fields(name: str) -> dict[str, Any]:
    """The metadata naming the symbol and source of the series stored as ``name``."""
    source, symbol = split_store_name(name)
    return {"symbol": symbol, "source": source}


def display_name(name: str) -> str:
    """A stored name as users spell it: ``BTC/USDT``, or ``BYBIT:BTC/USDT`` for a series of
    another source than the symbol's default."""
    source, symbol = split_store_name(name)
    return symbol if name == symbol else f"{source.upper()}:{symbol}"


def split_store_name(name: str) -> tuple[str, str]:
    """``"BTC/USDT@bybit"`` -> ``("bybit", "BTC/USDT")``; a plain name is the default source."""
    symbol, at, source = name.partition(_AT)
    return (source if at else default_source(symbol)), symbol


_UNSAFE = re.compile(r'[/\\:*?"<>|\s]')


def check_name(value: str, what: str) -> str:
    """Reject names the key layout cannot hold (empty, or containing ``|``)."""
    if not isinstance(value, str) or not value or _SEP in value:
        raise InputError(f"{what} must be a non-empty string without '|', got {value!r}")
    return value


def file_safe(name: str) -> str:
    """``BTC/USDT:USDT`` -> ``BTC_USDT_USDT``: a name usable as a file or folder on any OS."""
    safe = _UNSAFE.sub("_", name).strip(".")
    return safe or "_"


def timeframe_dir(timeframe: str) -> str:
    """Folder name for a timeframe; months become ``1mo`` so ``1m``/``1M`` differ on any OS."""
    return timeframe[:-1] + "mo" if timeframe.endswith("M") else timeframe


def year_bounds(year: int) -> tuple[int, int]:
    """``(first ns of year, first ns of next year)`` in UTC."""
    return (
        pd.Timestamp(year=year, month=1, day=1, tz="UTC").value,
        pd.Timestamp(year=year + 1, month=1, day=1, tz="UTC").value,
    )


def month_edges(year: int) -> np.ndarray:
    """The 13 ns instants starting each month of ``year`` and the next year (UTC)."""
    starts = [pd.Timestamp(year=year, month=m, day=1, tz="UTC").value for m in range(1, 13)]
    starts.append(pd.Timestamp(year=year + 1, month=1, day=1, tz="UTC").value)
    return np.array(starts, dtype=np.int64)


def years_of(ts: np.ndarray) -> np.ndarray:
    """UTC calendar year of each int64 ns timestamp."""
    return ts.view("M8[ns]").astype("M8[Y]").astype(np.int64) + 1970


def iso(ns: int | None) -> str | None:
    """ISO 8601 UTC text for an ns instant."""
    return None if ns is None else pd.Timestamp(int(ns), tz="UTC").isoformat()


def parse_ns(text: Any) -> int:
    """ns instant from ISO text or an int (raises ValueError/TypeError when malformed)."""
    if isinstance(text, bool):
        raise TypeError("a boolean is not a time")
    if isinstance(text, (int, np.integer)):
        return int(text)
    ts = pd.Timestamp(text)
    if ts is pd.NaT:
        raise ValueError(f"not a time: {text!r}")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.value)


def _default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, pd.Timestamp):
        return None if obj is pd.NaT else obj.isoformat()
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    if isinstance(obj, pd.Timedelta):
        return obj.isoformat()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _clean(obj: Any) -> Any:
    """Replace NaN/inf floats (not valid JSON) with None, recursively."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def dumps(value: Any) -> str:
    """Strict JSON text (numpy scalars, timestamps and sets converted; NaN becomes null)."""
    return json.dumps(_clean(json.loads(json.dumps(value, default=_default))), allow_nan=False)
