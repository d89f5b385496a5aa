"""Column arrays of candles, their exact aggregation to coarser timeframes, and the open candle.

:class:`Bars` holds what an exchange kline carries (prices, base and quote volume, trade count,
taker-buy volumes). Aggregation keeps the first open, the max high, the min low, the last close and
the sums; synthetic volumes are multiples of 2**-8, so their sums are exact in any order and every
timeframe agrees with the 1m bars bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
import pandas as pd

import tradedata.sim.timeframes as tfs
from tradedata.errors import DataValidationError
from tradedata.model import frame_from_arrays, normalize_frame

OHLCV = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class Bars:
    """Candles as parallel numpy columns, oldest first, unique open times."""

    open_time: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    quote_volume: np.ndarray
    trades: np.ndarray
    taker_base: np.ndarray
    taker_quote: np.ndarray

    def __len__(self) -> int:
        return int(self.open_time.shape[0])

    @classmethod
    def empty(cls) -> Bars:
        """A Bars with no rows."""
        f = np.empty(0, dtype="float64")
        i = np.empty(0, dtype="int64")
        return cls(i, f, f, f, f, f, f, i, f, f)

    def take(self, index: np.ndarray | slice) -> Bars:
        """Rows selected by a slice, boolean mask or integer index."""
        return Bars(*(getattr(self, f.name)[index] for f in fields(self)))

    def to_frame(self) -> pd.DataFrame:
        """The tradedata OHLCV frame: UTC ``timestamp`` index of bar opens, float64 columns."""
        return frame_from_arrays(self.open_time, *(getattr(self, name) for name in OHLCV))


def concat(parts: list[Bars]) -> Bars:
    """Rows of several Bars one after another."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return Bars.empty()
    if len(parts) == 1:
        return parts[0]
    cols = {f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Bars)}
    return Bars(**cols)


def aggregate(bars: Bars, timeframe: str) -> Bars:
    """Group ``bars`` (of a finer timeframe) into ``timeframe`` buckets; empty buckets vanish."""
    if not len(bars):
        return bars
    buckets = tfs.floor_open(bars.open_time, timeframe)
    starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
    ends = np.r_[starts[1:], len(bars)] - 1
    return Bars(
        open_time=buckets[starts],
        open=bars.open[starts],
        high=np.maximum.reduceat(bars.high, starts),
        low=np.minimum.reduceat(bars.low, starts),
        close=bars.close[ends],
        volume=np.add.reduceat(bars.volume, starts),
        quote_volume=np.add.reduceat(bars.quote_volume, starts),
        trades=np.add.reduceat(bars.trades, starts),
        taker_base=np.add.reduceat(bars.taker_base, starts),
        taker_quote=np.add.reduceat(bars.taker_quote, starts),
    )


def partial(bar: Bars, fraction: float, decimals: int | None) -> Bars:
    """A one-row ``bar`` as seen after ``fraction`` (0..1) of its time has elapsed.

    The close moves linearly from the open towards the final close, the wicks grow towards the
    final high/low and volumes grow with time; at ``fraction >= 1`` the final bar is returned
    unchanged. Prices are rounded to ``decimals`` (the tick) when given.
    """
    if fraction >= 1.0:
        return bar
    f = max(0.0, fraction)
    o, h, lo, c = bar.open, bar.high, bar.low, bar.close
    close = o + f * (c - o)
    high = np.maximum(o, close) + f * (h - np.maximum(o, c))
    low = np.minimum(o, close) - f * (np.minimum(o, c) - lo)
    if decimals is not None:
        close = np.round(close, decimals)
        high = np.minimum(h, np.maximum(np.round(high, decimals), np.maximum(o, close)))
        low = np.maximum(lo, np.minimum(np.round(low, decimals), np.minimum(o, close)))
    volume = np.floor(bar.volume * f * 256.0) / 256.0
    share = volume / np.where(bar.volume > 0, bar.volume, 1.0)
    return replace(
        bar,
        high=high,
        low=low,
        close=close,
        volume=volume,
        quote_volume=np.floor(bar.quote_volume * share * 256.0) / 256.0,
        trades=np.floor(bar.trades * share).astype("int64"),
        taker_base=np.floor(bar.taker_base * share * 256.0) / 256.0,
        taker_quote=np.floor(bar.taker_quote * share * 256.0) / 256.0,
    )


def from_frame(frame: pd.DataFrame) -> Bars:
    """Bars from an OHLCV frame (DatetimeIndex of bar opens); extra kline fields estimated.

    Raises :class:`DataValidationError` for duplicate timestamps or non-finite values.
    """
    frame = normalize_frame(frame)
    ms = (pd.DatetimeIndex(frame.index).as_unit("ns").asi8 // 1_000_000).astype("int64")
    if len(ms) and np.any(ms[1:] == ms[:-1]):
        raise DataValidationError("frame index has duplicate timestamps")
    col = {k: frame[k].to_numpy(dtype="float64") for k in OHLCV}
    if len(ms) and not np.all(np.isfinite(np.column_stack([col[k] for k in OHLCV]))):
        raise DataValidationError("frame has NaN or infinite OHLCV values")
    typical = (col["open"] + col["high"] + col["low"] + col["close"]) / 4.0
    quote = col["volume"] * typical
    return Bars(
        open_time=ms,
        open=col["open"],
        high=col["high"],
        low=col["low"],
        close=col["close"],
        volume=col["volume"],
        quote_volume=quote,
        trades=(col["volume"] > 0).astype("int64"),
        taker_base=col["volume"] / 2.0,
        taker_quote=quote / 2.0,
    )


def format_fixed(values: np.ndarray, decimals: int = 8) -> list[str]:
    """Binance-style fixed decimals; ``repr`` where that would not parse back to the value."""
    out = []
    for v in values.tolist():
        s = f"{v:.{decimals}f}"
        out.append(s if float(s) == v else repr(v))
    return out


def fixed_exact(values: np.ndarray, decimals: int = 8) -> bool:
    """True when :func:`format_fixed` prints every value as plain fixed decimals.

    That is when each value is the double nearest to a multiple of ``10**-decimals``: below
    ``2**26`` a double is precise enough for its fixed-decimal print to be that multiple, which
    parses back exactly. One vectorised test, so callers can format whole columns at once.
    """
    scale = 10.0**decimals
    with np.errstate(invalid="ignore", over="ignore"):
        ok = (np.abs(values) < 2.0**26) & (np.rint(values * scale) / scale == values)
    return bool(ok.all())


def format_plain(values: np.ndarray) -> list[str]:
    """Bybit-style decimals without trailing zeros, parsing back exactly to the value."""
    out = []
    for v in values.tolist():
        s = f"{v:.8f}".rstrip("0").rstrip(".")
        out.append(s if float(s) == v else repr(v))
    return out
