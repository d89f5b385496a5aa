"""Timeframes, the OHLCV frame schema and time parsing.

A tradedata frame has a tz-aware UTC ``DatetimeIndex`` named ``timestamp`` holding each bar's
*open* time, sorted and unique, and float64 columns ``open high low close volume`` (plus
``adj_close`` for equities when known). Symbols live in :mod:`tradedata.symbols`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from tradedata.errors import DataValidationError, InvalidDateRangeError, InvalidTimeframeError

__all__ = [
    "ADJ_CLOSE",
    "OHLCV_COLUMNS",
    "OPEN_INTEREST",
    "OPTIONAL_COLUMNS",
    "STANDARD_TIMEFRAMES",
    "Timeframe",
    "empty_frame",
    "frame_from_arrays",
    "frame_from_rows",
    "normalize_frame",
    "parse_range",
    "parse_timeframe",
    "to_utc",
]

OHLCV_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
ADJ_CLOSE = "adj_close"
OPEN_INTEREST = "open_interest"
#: Columns a frame may carry besides OHLCV, in this order.
OPTIONAL_COLUMNS: tuple[str, ...] = (ADJ_CLOSE, OPEN_INTEREST)
STANDARD_TIMEFRAMES: tuple[str, ...] = (
    "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h",
    "1d", "3d", "1w", "1M",
)  # fmt: skip

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 2592000}
# backtrader.TimeFrame constants, without importing backtrader.
_BT_SECONDS, _BT_MINUTES, _BT_DAYS, _BT_WEEKS, _BT_MONTHS = 3, 4, 5, 6, 7
_ALIASES = {
    "min": "m", "mins": "m", "minute": "m", "minutes": "m", "t": "m",
    "h": "h", "hour": "h", "hours": "h", "H": "h",
    "d": "d", "day": "d", "days": "d", "D": "d",
    "w": "w", "week": "w", "weeks": "w", "W": "w",
    "M": "M", "mo": "M", "month": "M", "months": "M",
    "s": "s", "sec": "s", "S": "s",
}  # fmt: skip
_EPOCH_MONDAY = pd.Timestamp("1970-01-05", tz="UTC")
_TF_HELP = "unknown timeframe {value!r} (use e.g. 1m, 5m, 1h, 1d, 1w, 1M)"
_TF_RE = re.compile(r"^\s*(\d*)\s*([A-Za-z]+)\s*$")
#: Longest timeframe accepted: a year of seconds (366 days), or 12 months.
_MAX_TF_SECONDS = 366 * 86400
_MAX_TF_MONTHS = 12
#: Instants a tradedata frame can hold (int64 nanoseconds), as ``to_utc`` accepts them.
_FIRST_INSTANT = pd.Timestamp.min.tz_localize("UTC")
_LAST_INSTANT = pd.Timestamp.max.tz_localize("UTC")


@dataclass(frozen=True)
class Timeframe:
    """A bar duration such as ``5m``, ``1h``, ``1d``, ``1w`` or ``1M`` (month)."""

    amount: int
    unit: str  # one of s m h d w M

    @property
    def name(self) -> str:
        """The ccxt spelling, e.g. ``"5m"``."""
        return f"{self.amount}{self.unit}"

    def __str__(self) -> str:
        return self.name

    @property
    def is_calendar(self) -> bool:
        """True for month-based timeframes whose length varies."""
        return self.unit == "M"

    @property
    def seconds(self) -> int:
        """Length in seconds (a month counts as 30 days)."""
        return self.amount * _UNIT_SECONDS[self.unit]

    @property
    def delta(self) -> pd.Timedelta:
        """Fixed length as a Timedelta (a month counts as 30 days; use :meth:`offset` to step)."""
        return pd.Timedelta(seconds=self.seconds)

    @property
    def milliseconds(self) -> int:
        """Length in milliseconds (a month counts as 30 days)."""
        return self.seconds * 1000

    def offset(self) -> pd.DateOffset:
        """The pandas offset that steps from one bar open to the next."""
        if self.unit == "M":
            return pd.offsets.MonthBegin(self.amount)
        if self.unit == "w":
            return pd.offsets.Week(self.amount, weekday=0)
        return pd.tseries.frequencies.to_offset(pd.Timedelta(seconds=self.seconds))

    def pandas_freq(self) -> str:
        """A pandas frequency string for ``resample``/``date_range`` with bar-open labels."""
        return {
            "s": f"{self.amount}s",
            "m": f"{self.amount}min",
            "h": f"{self.amount}h",
            "d": f"{self.amount}D",
            "w": f"{self.amount}W-MON",
            "M": f"{self.amount}MS",
        }[self.unit]

    def to_backtrader(self) -> tuple[int, int]:
        """The ``(bt.TimeFrame, compression)`` pair backtrader uses for this timeframe."""
        unit = {
            "s": (_BT_SECONDS, 1),
            "m": (_BT_MINUTES, 1),
            "h": (_BT_MINUTES, 60),
            "d": (_BT_DAYS, 1),
            "w": (_BT_WEEKS, 1),
            "M": (_BT_MONTHS, 1),
        }[self.unit]
        return unit[0], unit[1] * self.amount

    @classmethod
    def from_backtrader(cls, timeframe: int, compression: int = 1) -> Timeframe:
        """Build from backtrader's ``(bt.TimeFrame.X, compression)``."""
        if compression < 1:
            raise InvalidTimeframeError(f"compression must be >= 1, got {compression}")
        unit = {
            _BT_SECONDS: "s",
            _BT_MINUTES: "m",
            _BT_DAYS: "d",
            _BT_WEEKS: "w",
            _BT_MONTHS: "M",
        }.get(timeframe)
        if unit is None:
            raise InvalidTimeframeError(f"unsupported backtrader timeframe {timeframe!r}")
        return _canonical(compression, unit)

    def floor(self, ts: pd.Timestamp) -> pd.Timestamp:
        """The open time of the bar containing ``ts`` (UTC, epoch-aligned like exchanges)."""
        ts = to_utc(ts)
        if self.unit == "M":
            months = (ts.year - 1970) * 12 + ts.month - 1  # epoch-aligned, like the rest
            months = months // self.amount * self.amount
            return pd.Timestamp(year=1970 + months // 12, month=months % 12 + 1, day=1, tz="UTC")
        if self.unit == "w":
            monday = ts.normalize() - pd.Timedelta(days=ts.weekday())
            weeks = (monday - _EPOCH_MONDAY).days // 7
            return monday - pd.Timedelta(weeks=weeks % self.amount)
        step = self.seconds * 1_000_000_000
        return pd.Timestamp(ts.value // step * step, tz="UTC")

    def next_open(self, ts: pd.Timestamp) -> pd.Timestamp:
        """The open time of the bar after the one containing ``ts``."""
        start = self.floor(ts)
        if self.unit == "M":
            return start + pd.offsets.MonthBegin(self.amount)
        return start + self.delta

    def bar_opens(self, start: Any, end: Any) -> pd.DatetimeIndex:
        """All bar open times ``t`` with ``start <= t <= end`` on a 24/7 clock."""
        first = self.floor(start)
        if first < to_utc(start):
            first = self.next_open(first)
        return pd.date_range(first, to_utc(end), freq=self.offset(), name="timestamp")


def _canonical(amount: int, unit: str) -> Timeframe:
    if amount <= 0:
        raise InvalidTimeframeError(f"timeframe amount must be positive, got {amount}")
    too_long = (
        amount > _MAX_TF_MONTHS if unit == "M" else amount > _MAX_TF_SECONDS // _UNIT_SECONDS[unit]
    )
    if too_long:
        shown = f"{amount}{unit}" if amount < 10**12 else f"{str(amount)[:12]}...{unit}"
        raise InvalidTimeframeError(
            f"timeframe {shown} is longer than a year (the longest is 366d, 52w or 12M)"
        )
    if unit == "s" and amount % 60 == 0:
        amount, unit = amount // 60, "m"
    if unit == "m" and amount % 60 == 0:
        amount, unit = amount // 60, "h"
    if unit == "h" and amount % 24 == 0:
        amount, unit = amount // 24, "d"
    if unit == "d" and amount % 7 == 0:
        amount, unit = amount // 7, "w"
    return Timeframe(amount, unit)


def parse_timeframe(value: str | Timeframe) -> Timeframe:
    """Parse ``"5m"``, ``"1h"``, ``"1d"``, ``"1w"``, ``"1M"`` (and ``"60min"``, ``"1D"`` ...).

    ``m`` is minutes and ``M`` months, as in ccxt. Raises :class:`InvalidTimeframeError`.
    """
    if isinstance(value, Timeframe):
        return value
    if not isinstance(value, str):
        raise InvalidTimeframeError(f"timeframe must be a string like '5m', got {value!r}")
    match = _TF_RE.match(value)
    if not match:
        raise InvalidTimeframeError(
            f"unknown timeframe {value!r} (use e.g. 1m, 5m, 1h, 1d, 1w, 1M)"
        )
    amount_text, unit_text = match.groups()
    if len(amount_text) > 12:  # far longer than a year in any unit; no huge int parsing
        raise InvalidTimeframeError(f"timeframe {value[:16]!r}... is longer than a year")
    unit = (
        unit_text
        if unit_text in ("m", "M")
        else _ALIASES.get(unit_text, _ALIASES.get(unit_text.lower()))
    )
    if unit is None:
        raise InvalidTimeframeError(
            f"unknown timeframe {value!r} (use e.g. 1m, 5m, 1h, 1d, 1w, 1M)"
        )
    return _canonical(int(amount_text or 1), unit)


def to_utc(value: Any, *, name: str = "time") -> pd.Timestamp:
    """Convert a string, date, datetime, Timestamp or epoch-ms int to a UTC Timestamp.

    Naive values are taken as UTC. Raises :class:`InvalidDateRangeError` when unparseable or
    outside what nanosecond timestamps hold (1677-09-21 .. 2262-04-11).
    """
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    try:
        if isinstance(value, pd.Timestamp):
            ts = value
        elif isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            ts = pd.Timestamp(int(value), unit="ms")
        elif isinstance(value, (str, datetime, date, np.datetime64)):
            ts = pd.Timestamp(value)
        else:
            raise InvalidDateRangeError(f"cannot parse {name} {shown} as a date")
        if ts is pd.NaT or pd.isna(ts):
            raise InvalidDateRangeError(f"cannot parse {name} {shown} as a date")
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        return ts.as_unit("ns")  # raises when the instant does not fit in int64 nanoseconds
    except InvalidDateRangeError:
        raise
    except (OverflowError, pd.errors.OutOfBoundsDatetime) as exc:
        raise InvalidDateRangeError(
            f"{name} {shown} is outside the dates tradedata can hold "
            f"({_FIRST_INSTANT:%Y-%m-%d} .. {_LAST_INSTANT:%Y-%m-%d})"
        ) from exc
    except (ValueError, TypeError) as exc:
        raise InvalidDateRangeError(f"cannot parse {name} {shown} as a date") from exc


def parse_range(
    start: Any = None, end: Any = None
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """Parse an optional ``start``/``end`` pair; raises if ``start`` is after ``end``."""
    s = None if start is None else to_utc(start, name="start")
    e = None if end is None else to_utc(end, name="end")
    if s is not None and e is not None and s > e:
        raise InvalidDateRangeError(f"start {s.isoformat()} is after end {e.isoformat()}")
    return s, e


def empty_frame(adj_close: bool = False) -> pd.DataFrame:
    """An empty frame with the OHLCV schema."""
    cols = [*OHLCV_COLUMNS, ADJ_CLOSE] if adj_close else list(OHLCV_COLUMNS)
    index = pd.DatetimeIndex([], tz="UTC", name="timestamp")
    return pd.DataFrame({c: np.array([], dtype="float64") for c in cols}, index=index)


def frame_from_arrays(
    timestamps_ms: Sequence[int] | np.ndarray,
    open: Iterable[float],
    high: Iterable[float],
    low: Iterable[float],
    close: Iterable[float],
    volume: Iterable[float],
    adj_close: Iterable[float] | None = None,
) -> pd.DataFrame:
    """Build a frame from epoch-millisecond open times and column arrays (no sorting)."""
    ts = np.asarray(timestamps_ms, dtype="int64")
    index = pd.DatetimeIndex(pd.to_datetime(ts, unit="ms", utc=True), name="timestamp")
    data = {
        "open": np.asarray(open, dtype="float64"),
        "high": np.asarray(high, dtype="float64"),
        "low": np.asarray(low, dtype="float64"),
        "close": np.asarray(close, dtype="float64"),
        "volume": np.asarray(volume, dtype="float64"),
    }
    if adj_close is not None:
        data[ADJ_CLOSE] = np.asarray(adj_close, dtype="float64")
    return pd.DataFrame(data, index=index)


def frame_from_rows(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """Build a frame from ccxt-style rows ``[ms, open, high, low, close, volume]``.

    Raises :class:`DataValidationError` if a row is not six numbers (``None`` volume is NaN).
    """
    if len(rows) == 0:
        return empty_frame()
    try:
        arr = np.array([list(r[:6]) for r in rows], dtype="float64")
    except (TypeError, ValueError) as exc:
        raise DataValidationError(f"OHLCV rows are not numeric: {exc}") from exc
    if arr.ndim != 2 or arr.shape[1] != 6:
        raise DataValidationError("OHLCV rows must have 6 fields: [ms, o, h, l, c, v]")
    return frame_from_arrays(arr[:, 0].astype("int64"), *arr[:, 1:].T)


_COLUMN_ALIASES = {
    "o": "open", "h": "high", "l": "low", "c": "close", "v": "volume", "vol": "volume",
    "adj close": ADJ_CLOSE, "adjclose": ADJ_CLOSE, "adj_close": ADJ_CLOSE,
    "adjusted_close": ADJ_CLOSE, "adjusted close": ADJ_CLOSE,
    "openinterest": OPEN_INTEREST, "open interest": OPEN_INTEREST, "oi": OPEN_INTEREST,
}  # fmt: skip


def normalize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` in the OHLCV schema: UTC index named ``timestamp``, float64 columns.

    Column names are matched case-insensitively (``Adj Close`` becomes ``adj_close``,
    ``OpenInterest`` becomes ``open_interest``); other columns are dropped; rows are sorted by
    time (stable). Duplicates are kept: finding them is validation's job. A naive index is
    taken as UTC. Raises :class:`DataValidationError` when a required column is missing or not
    numeric, or the index is not time-like.
    """
    renamed = {}
    for col in frame.columns:
        key = str(col).strip().lower()
        renamed[col] = _COLUMN_ALIASES.get(key, key)
    out = frame.rename(columns=renamed)
    missing = [c for c in OHLCV_COLUMNS if c not in out.columns]
    if missing:
        raise DataValidationError(f"frame lacks column(s) {', '.join(missing)}")
    cols = list(OHLCV_COLUMNS) + [c for c in OPTIONAL_COLUMNS if c in out.columns]
    out = out.loc[:, ~out.columns.duplicated()][cols]
    index = out.index
    if not isinstance(index, pd.DatetimeIndex):
        try:
            index = pd.DatetimeIndex(pd.to_datetime(index))
        except (ValueError, TypeError) as exc:
            raise DataValidationError("frame index is not made of timestamps") from exc
    if index.hasnans:
        raise DataValidationError(
            f"frame index has {int(index.isna().sum())} missing timestamp(s) (NaT)"
        )
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    if index.unit != "ns":
        try:
            index = index.as_unit("ns")
        except (OverflowError, pd.errors.OutOfBoundsDatetime) as exc:
            raise DataValidationError("frame index holds dates beyond 1677..2262") from exc
    try:
        data = {c: pd.to_numeric(out[c], errors="raise").to_numpy(dtype="float64") for c in cols}
    except (ValueError, TypeError) as exc:
        raise DataValidationError(f"frame has non-numeric prices or volumes: {exc}") from exc
    result = pd.DataFrame(data, index=pd.DatetimeIndex(index, name="timestamp"))
    if not result.index.is_monotonic_increasing:
        result = result.sort_index(kind="stable")
    result.attrs.update(frame.attrs)
    return result
