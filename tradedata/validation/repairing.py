"""``repair``: make a series usable as bars without inventing data (unless asked)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tradedata.calendars import ALWAYS_OPEN, TradingCalendar, resolve_calendar
from tradedata.model import ADJ_CLOSE, Timeframe, parse_timeframe
from tradedata.validation.checks import ohlc_violation_mask, sorted_isin, value_flags
from tradedata.validation.prepare import Prepared, prepare, resolve_timeframe
from tradedata.validation.validator import expected_keys

__all__ = ["FILLED", "repair"]

#: Name of the boolean column :func:`repair` adds with ``fill_gaps=True``.
FILLED = "filled"
_BY_TIMESTAMP = Timeframe(1, "s")  # intraday keys are the timestamps themselves


def repair(
    frame: pd.DataFrame,
    timeframe: str | Timeframe | None = None,
    *,
    fill_gaps: bool = False,
    calendar: Any = None,
) -> pd.DataFrame:
    """Return a cleaned copy of ``frame``; the input is not modified and ``attrs`` are kept.

    1. Sort by time (stable) and normalise to the OHLCV schema (extra columns are dropped,
       except ``filled``).
    2. Drop rows that cannot be bars: NaN/inf/negative/zero prices, NaN/inf/negative volume
       (unless volume is missing throughout), inf/negative ``adj_close``, OHLC violations
       (high < low, high < max(open, close), low > min(open, close)), missing timestamps.
    3. Drop duplicates, keeping the last row of each timestamp among the rows left (so exact
       copies collapse and, for conflicting rows, the last valid one wins). With a timeframe of
       ``1d`` or longer, rows are matched by session/period as :func:`validate` does.
    4. Only with ``fill_gaps=True``: add a row for every bar the calendar expects between the
       first and last bar, with open = high = low = close = the previous close, volume 0
       (NaN when the series has no volume), ``adj_close`` carried forward, and a boolean
       column ``filled`` that is True on those rows only. Filled rows are stamped at the
       expected open (00:00 UTC of the session for daily bars). Needs a timeframe (argument,
       ``frame.attrs["timeframe"]`` or inferred from the index).

    Outliers, stale and zero-volume runs are reported by :func:`validate` but never changed:
    only a human can tell a bad print from a real move.
    """
    symbol = frame.attrs.get("symbol")
    tf = _timeframe(frame, timeframe, fill_gaps)
    cal = (
        ALWAYS_OPEN
        if tf is None
        else resolve_calendar(calendar, symbol if isinstance(symbol, str) else None)
    )
    prep = prepare(frame, tf or _BY_TIMESTAMP, cal)
    volume = prep.volume if prep.volume_known else None
    bad = value_flags(prep.prices, volume, prep.adj_close).invalid
    bad |= ohlc_violation_mask(*prep.prices)
    kept = prep.take(~bad)
    last = np.ones(len(kept.keys), dtype=bool)
    last[:-1] = kept.keys[1:] != kept.keys[:-1]
    kept = kept.take(last)
    flags = _input_flags(frame, kept)
    out = kept.to_frame()
    if fill_gaps and tf is not None and len(out):
        out = _fill(out, kept, flags, cal, tf)
    elif fill_gaps or flags is not None:
        out[FILLED] = np.zeros(len(out), dtype=bool) if flags is None else flags
    out.attrs = dict(frame.attrs)
    return out


def _timeframe(frame: pd.DataFrame, timeframe: Any, needed: bool) -> Timeframe | None:
    if timeframe is not None:
        return parse_timeframe(timeframe)
    if needed or frame.attrs.get("timeframe"):
        return resolve_timeframe(frame, None)
    return None


def _input_flags(frame: pd.DataFrame, kept: Prepared) -> np.ndarray | None:
    """The ``filled`` column of the input for the kept rows (a repaired frame stays flagged)."""
    if FILLED not in frame.columns:
        return None
    column = frame[FILLED].to_numpy()
    flags = np.asarray(pd.Series(column).fillna(False).astype(bool).to_numpy())
    return flags[kept.positions]


def _fill(
    out: pd.DataFrame,
    kept: Prepared,
    flags: np.ndarray | None,
    cal: TradingCalendar,
    tf: Timeframe,
) -> pd.DataFrame:
    lo, hi = cal.coverage(int(kept.keys[0]), int(kept.keys[-1]))
    expected = expected_keys(cal, tf, lo, hi, kept.keys, "auto")
    missing = expected[~sorted_isin(expected, kept.keys)]
    old_flags = np.zeros(len(out), dtype=bool) if flags is None else flags
    if len(missing) == 0:
        out[FILLED] = old_flags
        return out
    order = np.argsort(np.concatenate((kept.keys, missing)), kind="stable")
    is_new = np.concatenate((np.zeros(len(out), dtype=bool), np.ones(len(missing), dtype=bool)))
    is_new = is_new[order]
    stamps = np.concatenate((kept.times, missing))[order]
    index = pd.DatetimeIndex(pd.to_datetime(stamps, unit="ns", utc=True), name="timestamp")
    pad = np.full(len(missing), np.nan)
    data: dict[str, np.ndarray] = {}
    for col in out.columns:
        data[col] = np.concatenate((out[col].to_numpy(dtype="float64"), pad))[order]
    carried = pd.Series(data["close"]).ffill().to_numpy()
    for col in ("open", "high", "low", "close"):
        data[col][is_new] = carried[is_new]
    if kept.volume_known:
        data["volume"][is_new] = 0.0
    if ADJ_CLOSE in data:
        adj = pd.Series(data[ADJ_CLOSE]).ffill().to_numpy()
        data[ADJ_CLOSE][is_new] = adj[is_new]
    filled = pd.DataFrame(data, index=index)
    filled[FILLED] = np.concatenate((old_flags, np.ones(len(missing), dtype=bool)))[order]
    return filled
