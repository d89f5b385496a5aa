"""Bar arithmetic in epoch milliseconds, as the simulated exchanges align their candles.

Fixed-length timeframes align on the Unix epoch (so ``3d`` bars open on days divisible by three
since 1970-01-01, as Binance's do), ``1w`` bars open on Monday 00:00 UTC and ``1M`` bars on the
first of the month. Every function accepts scalars or int64 numpy arrays.
"""

from __future__ import annotations

from typing import overload

import numpy as np

from tradedata.errors import InvalidTimeframeError

MINUTE_MS = 60_000
DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
_MONDAY_OFFSET_MS = 4 * DAY_MS  # 1970-01-01 was a Thursday; 1970-01-05 a Monday

TIMEFRAME_MS: dict[str, int] = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "2h": 120 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "6h": 360 * MINUTE_MS,
    "8h": 480 * MINUTE_MS,
    "12h": 720 * MINUTE_MS,
    "1d": DAY_MS,
    "3d": 3 * DAY_MS,
    "1w": WEEK_MS,
}
MONTH = "1M"
TIMEFRAMES: tuple[str, ...] = (*TIMEFRAME_MS, MONTH)


def check_timeframe(timeframe: str) -> str:
    """Return ``timeframe`` if the simulator knows it, else raise InvalidTimeframeError."""
    if timeframe not in TIMEFRAMES:
        raise InvalidTimeframeError(
            f"unknown timeframe {timeframe!r}; expected one of {TIMEFRAMES}"
        )
    return timeframe


def nominal_ms(timeframe: str) -> int:
    """Length of one bar in ms (a 31-day month for ``1M``), for ordering timeframes."""
    return TIMEFRAME_MS.get(timeframe, 31 * DAY_MS)


@overload
def floor_open(ts: int, timeframe: str) -> int: ...
@overload
def floor_open(ts: np.ndarray, timeframe: str) -> np.ndarray: ...
def floor_open(ts: int | np.ndarray, timeframe: str) -> int | np.ndarray:
    """Open time of the bar of ``timeframe`` that contains ``ts``."""
    if timeframe == MONTH:
        arr = np.asarray(ts, dtype="int64")
        months = arr.astype("datetime64[ms]").astype("datetime64[M]")
        out = months.astype("datetime64[ms]").astype("int64")
        return int(out) if np.ndim(ts) == 0 else out
    step = TIMEFRAME_MS[timeframe]
    offset = _MONDAY_OFFSET_MS if timeframe == "1w" else 0
    if isinstance(ts, np.ndarray):
        return ts - (ts - offset) % step
    return int(ts) - (int(ts) - offset) % step


def ceil_open(ts: int, timeframe: str) -> int:
    """First bar open time at or after ``ts``."""
    start = floor_open(ts, timeframe)
    return start if start == ts else shift(start, 1, timeframe)


def shift(open_ms: int, n: int, timeframe: str) -> int:
    """The open time ``n`` bars after (or before, if negative) the bar opening at ``open_ms``."""
    if timeframe == MONTH:
        month = np.datetime64(int(open_ms), "ms").astype("datetime64[M]") + n
        return int(month.astype("datetime64[ms]").astype("int64"))
    return int(open_ms) + n * TIMEFRAME_MS[timeframe]


def opens(first_open: int, count: int, timeframe: str) -> np.ndarray:
    """``count`` consecutive bar open times starting at ``first_open`` (int64 array)."""
    if count <= 0:
        return np.empty(0, dtype="int64")
    if timeframe == MONTH:
        month = np.datetime64(int(first_open), "ms").astype("datetime64[M]")
        months = month + np.arange(count)
        return months.astype("datetime64[ms]").astype("int64")
    return first_open + np.arange(count, dtype="int64") * TIMEFRAME_MS[timeframe]


def bars_between(first_open: int, last_open: int, timeframe: str) -> int:
    """Number of bars from ``first_open`` to ``last_open`` inclusive (0 if last < first)."""
    if last_open < first_open:
        return 0
    if timeframe == MONTH:
        a = np.datetime64(int(first_open), "ms").astype("datetime64[M]")
        b = np.datetime64(int(last_open), "ms").astype("datetime64[M]")
        return int((b - a).astype("int64")) + 1
    return (last_open - first_open) // TIMEFRAME_MS[timeframe] + 1


def close_times(open_ms: np.ndarray, timeframe: str) -> np.ndarray:
    """Exchange-style close times: the next bar's open minus one millisecond."""
    if timeframe == MONTH:
        months = open_ms.astype("datetime64[ms]").astype("datetime64[M]") + 1
        return months.astype("datetime64[ms]").astype("int64") - 1
    return open_ms + TIMEFRAME_MS[timeframe] - 1


def divides(base: str, timeframe: str) -> bool:
    """True if bars of ``timeframe`` are unions of whole bars of ``base``."""
    if base == timeframe:
        return True
    if base == MONTH or timeframe == base:
        return False
    base_ms = TIMEFRAME_MS[base]
    if timeframe == MONTH:
        return DAY_MS % base_ms == 0
    step = TIMEFRAME_MS[timeframe]
    if step <= base_ms or step % base_ms:
        return False
    return timeframe != "1w" or DAY_MS % base_ms == 0
