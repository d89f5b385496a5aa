"""What the chart draws: display downsampling and windows (view logic, nothing is stored).

A year of 1-minute bars is half a million candles; a browser draws a few thousand smoothly. The
overview therefore shows the series resampled to the finest standard timeframe that keeps it
under ``max_candles``, and a zoomed window is redrawn from the full-resolution bars (again
resampled only if the window itself holds too many).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tradedata.errors import InvalidTimeframeError
from tradedata.model import OHLCV_COLUMNS, STANDARD_TIMEFRAMES, Timeframe, parse_timeframe

__all__ = [
    "DEFAULT_MAX_CANDLES",
    "DISPLAY_TIMEFRAMES",
    "Drawn",
    "bar_timeframe",
    "display_timeframe",
    "for_display",
    "parse_axis_time",
    "resample",
    "window",
]

#: Most candles drawn at once (a year of 1m bars becomes ~2,200 4h candles).
DEFAULT_MAX_CANDLES = 2500
#: Timeframes the chart may resample to, finest first.
DISPLAY_TIMEFRAMES: tuple[Timeframe, ...] = tuple(
    parse_timeframe(t) for t in STANDARD_TIMEFRAMES if t != "1s"
)
_AGG = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}


@dataclass(frozen=True)
class Drawn:
    """The bars one redraw puts on screen and the timeframe they were resampled to (or None)."""

    frame: pd.DataFrame
    timeframe: Timeframe | None

    @property
    def downsampled(self) -> bool:
        """True when the bars are coarser than the series' own."""
        return self.timeframe is not None


def bar_timeframe(frame: pd.DataFrame) -> Timeframe | None:
    """The series' timeframe: ``attrs["timeframe"]``, else inferred from the index (or None)."""
    name = frame.attrs.get("timeframe")
    if name:
        try:
            return parse_timeframe(str(name))
        except InvalidTimeframeError:
            pass
    if len(frame.index) < 2:
        return None
    from tradedata.validation import infer_timeframe

    try:
        return infer_timeframe(pd.DatetimeIndex(frame.index))
    except InvalidTimeframeError:
        return None


def display_timeframe(
    rows: int, span: pd.Timedelta, base: Timeframe | None, max_candles: int
) -> Timeframe | None:
    """The timeframe to draw ``rows`` bars spanning ``span`` in: None means as they are."""
    if rows <= max_candles:
        return None
    floor = base.seconds if base is not None else 0
    for tf in DISPLAY_TIMEFRAMES:
        if tf.seconds <= floor:
            continue
        if span.total_seconds() / tf.seconds <= max_candles:
            return tf
    return DISPLAY_TIMEFRAMES[-1]


def resample(frame: pd.DataFrame, timeframe: Timeframe) -> pd.DataFrame:
    """OHLCV bars aggregated to ``timeframe`` (bar-open labels; empty bins dropped)."""
    if frame.empty:
        return frame.loc[:, list(OHLCV_COLUMNS)]
    if timeframe.unit in ("w", "M"):
        grouped = frame.loc[:, list(OHLCV_COLUMNS)].resample(
            timeframe.pandas_freq(), closed="left", label="left"
        )
        return grouped.agg(_AGG).dropna(subset=["open"])
    return _resample_fixed(frame, timeframe.seconds * 1_000_000_000)


def _resample_fixed(frame: pd.DataFrame, step_ns: int) -> pd.DataFrame:
    """Epoch-aligned fixed-length bins with numpy (a year of 1m bars in milliseconds)."""
    ts = frame.index.asi8
    bins = ts // step_ns
    starts = np.flatnonzero(np.concatenate(([True], bins[1:] != bins[:-1])))
    ends = np.concatenate((starts[1:], [len(ts)])) - 1
    cols = {c: frame[c].to_numpy(dtype="float64") for c in OHLCV_COLUMNS}
    out = {
        "open": cols["open"][starts],
        "high": np.fmax.reduceat(cols["high"], starts),
        "low": np.fmin.reduceat(cols["low"], starts),
        "close": cols["close"][ends],
        "volume": np.add.reduceat(np.nan_to_num(cols["volume"]), starts),
    }
    index = pd.DatetimeIndex(pd.to_datetime(bins[starts] * step_ns, utc=True), name="timestamp")
    return pd.DataFrame(out, index=index)


def window(frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Rows with ``start <= t <= end`` (binary search on the sorted index)."""
    index = frame.index
    lo = index.searchsorted(start, side="left")
    hi = index.searchsorted(end, side="right")
    return frame.iloc[lo:hi]


def for_display(
    frame: pd.DataFrame,
    max_candles: int = DEFAULT_MAX_CANDLES,
    base: Timeframe | None = None,
) -> Drawn:
    """The bars to draw for ``frame``: itself when small enough, else resampled coarser."""
    if len(frame) <= max_candles:
        return Drawn(frame, None)
    span = frame.index[-1] - frame.index[0]
    tf = display_timeframe(len(frame), span, base, max_candles)
    if tf is None:
        return Drawn(frame, None)
    return Drawn(resample(frame, tf), tf)


def parse_axis_time(value: Any) -> pd.Timestamp:
    """A plotly date-axis value (ISO string, or epoch number in ns or ms) as a UTC Timestamp."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        number = float(value)
        unit = "ns" if abs(number) > 1e16 else "ms"
        ts = pd.Timestamp(int(number), unit=unit)
    else:
        ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
