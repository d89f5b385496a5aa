"""Turning a frame into sorted arrays both validation and repair work on."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from tradedata.calendars import TradingCalendar
from tradedata.errors import DataValidationError, InvalidTimeframeError
from tradedata.model import (
    ADJ_CLOSE,
    OHLCV_COLUMNS,
    OPEN_INTEREST,
    OPTIONAL_COLUMNS,
    STANDARD_TIMEFRAMES,
    Timeframe,
    normalize_frame,
    parse_timeframe,
)

__all__ = ["Prepared", "infer_timeframe", "prepare", "resolve_timeframe"]


def infer_timeframe(index: pd.DatetimeIndex) -> Timeframe:
    """Guess the timeframe of bars at ``index``: the standard one nearest the commonest step.

    Raises :class:`InvalidTimeframeError` with fewer than two distinct timestamps.
    """
    values = np.unique(np.asarray(pd.DatetimeIndex(index).asi8, dtype="int64"))
    steps = np.diff(values)
    if len(steps) == 0:
        raise InvalidTimeframeError("cannot infer the timeframe from fewer than two bars")
    distinct, counts = np.unique(steps, return_counts=True)
    seconds = distinct[np.argmax(counts)] / 1e9
    candidates = [parse_timeframe(t) for t in STANDARD_TIMEFRAMES]
    return min(candidates, key=lambda tf: abs(np.log(seconds / tf.seconds)))


def resolve_timeframe(frame: pd.DataFrame, timeframe: Any) -> Timeframe:
    """``timeframe``, else ``frame.attrs["timeframe"]``, else inferred from the index."""
    if timeframe is not None:
        return parse_timeframe(timeframe)
    if frame.attrs.get("timeframe"):
        return parse_timeframe(frame.attrs["timeframe"])
    try:
        index = pd.DatetimeIndex(frame.index)
    except (TypeError, ValueError) as exc:
        raise InvalidTimeframeError("no timeframe given and the index is not time-like") from exc
    return infer_timeframe(index)


@dataclass
class Prepared:
    """A frame as arrays sorted by bar key (see :mod:`tradedata.calendars`)."""

    positions: np.ndarray  # each row's position in the input frame
    times: np.ndarray  # bar timestamps, epoch ns
    keys: np.ndarray  # bar keys, epoch ns, non-decreasing
    prices: tuple[np.ndarray, ...]  # open, high, low, close
    volume: np.ndarray
    adj_close: np.ndarray | None
    volume_known: bool  # False when volume is NaN throughout (no volume data)
    volume_traded: bool  # False when volume is 0 throughout (an index, say)
    unsorted: int = 0  # steps back in time in the input index
    bad_times: int = 0  # rows whose timestamp is missing (NaT), dropped
    notes: list[str] = field(default_factory=list)
    open_interest: np.ndarray | None = None  # kept as it is: never checked, never invented

    @property
    def columns(self) -> list[np.ndarray]:
        """All value arrays (rows are compared on these for exact duplicates)."""
        extra = [c for c in (self.adj_close, self.open_interest) if c is not None]
        return [*self.prices, self.volume, *extra]

    def take(self, rows: np.ndarray) -> Prepared:
        """The rows selected by a boolean mask or positions."""
        return replace(
            self,
            positions=self.positions[rows],
            times=self.times[rows],
            keys=self.keys[rows],
            prices=tuple(column[rows] for column in self.prices),
            volume=self.volume[rows],
            adj_close=None if self.adj_close is None else self.adj_close[rows],
            open_interest=None if self.open_interest is None else self.open_interest[rows],
        )

    def to_frame(self) -> pd.DataFrame:
        """A new frame in the OHLCV schema holding these rows."""
        index = pd.DatetimeIndex(pd.to_datetime(self.times, unit="ns", utc=True), name="timestamp")
        names = ("open", "high", "low", "close")
        data = {name: column.copy() for name, column in zip(names, self.prices, strict=True)}
        data["volume"] = self.volume.copy()
        if self.adj_close is not None:
            data[ADJ_CLOSE] = self.adj_close.copy()
        if self.open_interest is not None:
            data[OPEN_INTEREST] = self.open_interest.copy()
        return pd.DataFrame(data, index=index)


def _utc_index(frame: pd.DataFrame) -> pd.DatetimeIndex:
    index = frame.index
    if isinstance(index, pd.DatetimeIndex):
        return index
    try:
        return pd.DatetimeIndex(pd.to_datetime(index))
    except (ValueError, TypeError) as exc:
        raise DataValidationError("frame index is not made of timestamps") from exc


def _in_schema(frame: pd.DataFrame) -> bool:
    """True when columns can be read as they are (no renaming, no conversion)."""
    index = frame.index
    return (
        isinstance(index, pd.DatetimeIndex)
        and str(index.tz) == "UTC"
        and index.unit == "ns"
        and frame.columns.is_unique
        and all(c in frame.columns and frame[c].dtype == "float64" for c in OHLCV_COLUMNS)
        and all(c not in frame.columns or frame[c].dtype == "float64" for c in OPTIONAL_COLUMNS)
    )


def _columns(frame: pd.DataFrame, positions: np.ndarray, everything: bool) -> pd.DataFrame:
    """The OHLCV columns of the rows at ``positions``, in schema (normalised if needed)."""
    if _in_schema(frame):
        if everything:
            return frame  # read column by column: no copy
        cols = [*OHLCV_COLUMNS] + [c for c in OPTIONAL_COLUMNS if c in frame.columns]
        return frame[cols].iloc[positions]
    # Strip attrs: pandas deep-copies them on every operation and they are not needed here.
    source = frame if everything else frame.iloc[positions]
    bare = pd.DataFrame(source, copy=False)
    bare.attrs = {}
    return normalize_frame(bare)


def prepare(frame: pd.DataFrame, timeframe: Timeframe, calendar: TradingCalendar) -> Prepared:
    """Read ``frame`` into arrays sorted by bar key (stable: the last duplicate stays last).

    Rows with a missing timestamp are dropped (and counted). Raises
    :class:`tradedata.errors.DataValidationError` when the frame lacks OHLCV columns or its
    index is not time-like. The frame is not modified or copied more than needed.
    """
    index = _utc_index(frame)
    missing = np.asarray(index.isna()) if index.hasnans else None
    in_order = index.is_monotonic_increasing
    positions = np.arange(len(index)) if missing is None else np.flatnonzero(~missing)
    unsorted = 0
    if not in_order and len(positions) > 1:
        stamps = index.asi8[positions]
        unsorted = int((np.diff(stamps) < 0).sum())
        if unsorted:
            positions = positions[np.argsort(stamps, kind="stable")]
    norm = _columns(frame, positions, everything=missing is None and not unsorted)
    times = np.asarray(norm.index.asi8, dtype="int64")
    prices = tuple(norm[c].to_numpy(dtype="float64") for c in ("open", "high", "low", "close"))
    volume = norm["volume"].to_numpy(dtype="float64")
    adj = norm[ADJ_CLOSE].to_numpy(dtype="float64") if ADJ_CLOSE in norm.columns else None
    oi = norm[OPEN_INTEREST].to_numpy(dtype="float64") if OPEN_INTEREST in norm.columns else None
    keys = calendar.bar_keys(times, timeframe)
    if keys is not times and len(keys) > 1 and (np.diff(keys) < 0).any():
        order = np.argsort(keys, kind="stable")
        times, keys, positions = times[order], keys[order], positions[order]
        prices, volume = tuple(column[order] for column in prices), volume[order]
        adj = None if adj is None else adj[order]
        oi = None if oi is None else oi[order]
    notes = []
    volume_known = bool(len(volume) == 0 or not np.isnan(volume).all())
    volume_traded = bool(volume_known and (len(volume) == 0 or np.any(volume != 0)))
    if not volume_known:
        notes.append("volume is missing throughout: volume not checked")
    elif not volume_traded:
        notes.append("volume is 0 throughout (no volume data): zero-volume check skipped")
    return Prepared(
        positions=positions,
        times=times,
        keys=keys,
        prices=prices,
        volume=volume,
        adj_close=adj,
        open_interest=oi,
        volume_known=volume_known,
        volume_traded=volume_traded,
        unsorted=unsorted,
        bad_times=0 if missing is None else int(missing.sum()),
        notes=notes,
    )
