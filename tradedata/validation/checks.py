"""Vectorised checks over numpy arrays: one function per idea, no per-bar Python loops.

Every function takes plain arrays (epoch-ns ``int64`` times, ``float64`` prices) so that
:func:`tradedata.validation.validate` and :func:`tradedata.validation.repair` share them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

__all__ = [
    "ValueFlags",
    "duplicate_flags",
    "gap_runs",
    "long_run_mask",
    "ohlc_violation_mask",
    "outlier_mask",
    "runs",
    "sorted_isin",
    "stale_mask",
    "value_flags",
]

_MAD_SCALE = 1.4826  # MAD * 1.4826 estimates the standard deviation of a normal sample
_MEANAD_SCALE = 1.2533  # mean absolute deviation * 1.2533 does the same (used when MAD is 0)
_MIN_GROUP = 10  # returns needed to score overnight (gap) returns on their own
_TOLERANCE = 1e-9  # relative slack for OHLC comparisons (prices printed with rounding)


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start positions and lengths of the runs of ``True`` in a boolean array."""
    padded = np.concatenate(([False], np.asarray(mask, dtype=bool), [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    starts, ends = edges[::2], edges[1::2]
    return starts, ends - starts


def long_run_mask(mask: np.ndarray, min_length: int) -> np.ndarray:
    """``mask`` restricted to the runs of ``True`` at least ``min_length`` long."""
    mask = np.asarray(mask, dtype=bool)
    starts, lengths = runs(mask)
    keep = lengths >= max(int(min_length), 1)
    if keep.all():
        return mask.copy()
    delta = np.zeros(len(mask) + 1, dtype="int64")
    delta[starts[keep]] += 1  # run starts and ends are distinct positions
    delta[starts[keep] + lengths[keep]] -= 1
    return np.cumsum(delta[:-1]) > 0


def duplicate_flags(
    keys: np.ndarray, columns: Sequence[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """For sorted ``keys``: rows repeating the previous row's key, and those also equal in value.

    ``columns`` are the value arrays compared (NaN equals NaN here). Returns ``(duplicate,
    exact)`` boolean arrays over rows; the first row of a group is not flagged.
    """
    n = len(keys)
    duplicate = np.zeros(n, dtype=bool)
    exact = np.zeros(n, dtype=bool)
    if n < 2:
        return duplicate, exact
    duplicate[1:] = keys[1:] == keys[:-1]
    rows = np.flatnonzero(duplicate)
    if len(rows):
        same = np.ones(len(rows), dtype=bool)
        for column in columns:
            cur, prev = column[rows], column[rows - 1]
            same &= (cur == prev) | (np.isnan(cur) & np.isnan(prev))
        exact[rows] = same
    return duplicate, exact


class ValueFlags(NamedTuple):
    """Per-row flags for values that cannot be part of a bar."""

    nan: np.ndarray
    inf: np.ndarray
    negative: np.ndarray
    zero_price: np.ndarray

    @property
    def invalid(self) -> np.ndarray:
        """Rows with any invalid value."""
        return self.nan | self.inf | self.negative | self.zero_price


def value_flags(
    prices: Sequence[np.ndarray], volume: np.ndarray | None, adj_close: np.ndarray | None = None
) -> ValueFlags:
    """Flag NaN, infinite, negative values and zero prices (``prices``: open, high, low, close).

    ``volume`` is ``None`` when the series has no volume data (it is then not checked);
    ``adj_close`` may be NaN (unknown) but not infinite or negative.
    """
    n = len(prices[0])
    nan, inf = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    negative, zero_price = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    for column in prices:
        nan |= np.isnan(column)
        inf |= np.isinf(column)
        negative |= column < 0
        zero_price |= column == 0
    if volume is not None:
        nan |= np.isnan(volume)
        inf |= np.isinf(volume)
        negative |= volume < 0
    if adj_close is not None:
        inf |= np.isinf(adj_close)
        negative |= adj_close < 0
    return ValueFlags(nan, inf, negative, zero_price)


def ohlc_violation_mask(
    open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray
) -> np.ndarray:
    """Rows where high < max(open, close), low > min(open, close) or high < low.

    Comparisons allow a relative slack of 1e-9 for rounding (meant for positive prices;
    rows with negative or NaN prices are invalid values, not violations, and are not flagged).
    """
    with np.errstate(invalid="ignore"):
        high_up = high * (1 + _TOLERANCE)
        low_down = low * (1 - _TOLERANCE)
        bad = high_up < open_
        bad |= high_up < close
        bad |= low_down > open_
        bad |= low_down > close
        bad |= high_up < low_down
        return bad & (low > 0)


def _robust_z(returns: np.ndarray) -> np.ndarray:
    """``|r - median| / (1.4826 * MAD)``; mean absolute deviation when MAD is 0; 0 if flat."""
    deviation = np.abs(returns - np.median(returns))
    scale = _MAD_SCALE * np.median(deviation)
    if scale == 0:
        scale = _MEANAD_SCALE * np.mean(deviation)
    return deviation / scale if scale > 0 else np.zeros(len(returns))


def outlier_mask(
    close: np.ndarray, threshold: float, min_return: float, breaks: np.ndarray | None = None
) -> np.ndarray:
    """Bars whose log close-to-close return has a robust z-score above ``threshold``.

    The z-score is ``(r - median) / (1.4826 * MAD)``; when more than half the returns are
    equal (MAD is 0, common for quiet minute bars) the mean absolute deviation is used instead.
    A return must also exceed ``min_return`` in absolute log terms, so that tiny ticks in an
    almost constant series are not outliers. ``breaks`` marks returns spanning a gap (the
    night between sessions); with at least 10 of each kind, they are scored among themselves,
    so overnight moves are not compared with 5-minute ones. A spike (an outlier followed by an
    outlier back in the other direction) flags only the spike bar. ``close`` must be finite
    and positive.
    """
    n = len(close)
    flags = np.zeros(n, dtype=bool)
    if n < 3 or not np.isfinite(threshold):
        return flags
    returns = np.diff(np.log(close))
    if breaks is not None and _MIN_GROUP <= breaks.sum() <= len(returns) - _MIN_GROUP:
        z = np.empty(len(returns))
        z[breaks] = _robust_z(returns[breaks])
        z[~breaks] = _robust_z(returns[~breaks])
    else:
        z = _robust_z(returns)
    out = (z > threshold) & (np.abs(returns) > min_return)
    reverting = out[1:] & out[:-1] & (np.sign(returns[1:]) != np.sign(returns[:-1]))
    out[1:] &= ~reverting
    flags[1:] = out
    return flags


def stale_mask(
    open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray, min_run: int
) -> np.ndarray:
    """Bars in runs of at least ``min_run`` flat bars (o=h=l=c) repeating the previous close."""
    n = len(close)
    if n < 2:
        return np.zeros(n, dtype=bool)
    flat = (open_ == high) & (high == low) & (low == close)
    repeat = np.zeros(n, dtype=bool)
    repeat[1:] = flat[1:] & (close[1:] == close[:-1])
    return long_run_mask(repeat, min_run)


def gap_runs(expected: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Runs of ``expected`` keys missing from ``present`` (both sorted, unique).

    Returns ``(starts, lengths)`` as positions into ``expected``.
    """
    if len(expected) == 0:
        return np.empty(0, dtype="int64"), np.empty(0, dtype="int64")
    if len(present) == len(expected) and np.array_equal(present, expected):
        return np.empty(0, dtype="int64"), np.empty(0, dtype="int64")
    return runs(~sorted_isin(expected, present))


def sorted_isin(values: np.ndarray, sorted_pool: np.ndarray) -> np.ndarray:
    """``np.isin`` for a sorted, unique ``sorted_pool`` (binary search, no hashing)."""
    if len(sorted_pool) == 0:
        return np.zeros(len(values), dtype=bool)
    pos = np.searchsorted(sorted_pool, values)
    pos[pos == len(sorted_pool)] = len(sorted_pool) - 1
    return sorted_pool[pos] == values
