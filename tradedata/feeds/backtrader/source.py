"""Where :class:`~tradedata.feeds.backtrader.TradeDataFeed` gets its bars, and how they are stamped.

Two sources: a frame passed as ``dataname`` (any frame :func:`tradedata.model.normalize_frame`
accepts), or the :class:`~tradedata.manager.DataManager` (cache first, fetch what is missing,
validate). Either way the result is a :class:`Bars`: the frame, one float64 array per
backtrader line and the backtrader stamps (see :mod:`tradedata.feeds.backtrader.time`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

import tradedata.feeds.backtrader.time as bt_time
from tradedata.errors import InsufficientQualityError, InvalidTimeframeError, TradeDataError
from tradedata.model import OHLCV_COLUMNS, OPEN_INTEREST, Timeframe, normalize_frame, to_utc

__all__ = [
    "Bars",
    "StampRule",
    "build_bars",
    "check_quality",
    "fetch_range",
    "frame_quality",
    "load_from_manager",
    "session_last_day",
]

# backtrader.TimeFrame constants (Ticks .. Years), without importing backtrader here.
_TICKS, _MICROSECONDS, _SECONDS, _MINUTES, _DAYS, _WEEKS, _MONTHS, _YEARS = range(1, 9)
_INTRADAY_US = {_TICKS: 0, _MICROSECONDS: 1, _SECONDS: 1_000_000, _MINUTES: 60_000_000}
_LONG_KINDS = {_DAYS: ("d", 1), _WEEKS: ("w", 1), _MONTHS: ("M", 1), _YEARS: ("M", 12)}
_DAY_NS = 86_400_000_000_000
_OPENINTEREST_NAMES = ("openinterest", "open_interest", "oi")
_SCHEMA_ALIASES = {"o", "h", "l", "c", "v", "vol", "adjclose", "adjusted_close"}


@dataclass(frozen=True)
class StampRule:
    """How bar open times become backtrader stamps for one feed."""

    bar_us: int | None  # intraday bar length in microseconds; None for daily and longer
    kind: str = "d"  # daily and longer: "d", "w" or "M"
    amount: int = 1
    sessionend_us: int = 0
    tzinput: Any = None
    tz: Any = None
    last_session: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None

    @classmethod
    def for_feed(
        cls,
        timeframe: int,
        compression: int,
        sessionend: _dt.time,
        *,
        tzinput: Any = None,
        tz: Any = None,
        symbol: str | None = None,
    ) -> StampRule:
        """Build the rule for a backtrader ``timeframe``/``compression`` pair.

        ``symbol`` picks the trading calendar whose last session ends a weekly/monthly bar.
        """
        if timeframe in _INTRADAY_US:
            return cls(bar_us=_INTRADAY_US[timeframe] * compression, tzinput=tzinput, tz=tz)
        if timeframe not in _LONG_KINDS:
            raise InvalidTimeframeError(f"backtrader timeframe {timeframe!r} cannot stamp bars")
        kind, unit = _LONG_KINDS[timeframe]
        last = session_last_day(symbol) if symbol else None
        return cls(
            bar_us=None,
            kind=kind,
            amount=unit * compression,
            sessionend_us=bt_time.time_us(sessionend),
            tzinput=tzinput,
            tz=tz,
            last_session=last,
        )

    def stamps(self, index: pd.DatetimeIndex) -> np.ndarray:
        """backtrader datetime floats for bars opening at ``index`` (naive = wall time).

        Daily and longer bars are dated in the index's own timezone (UTC for tradedata frames),
        so a Tokyo session labelled at local midnight keeps its date.
        """
        wall = bt_time.index_us(index)
        naive = index.tz is None
        if self.bar_us is not None:
            wall = wall + self.bar_us
            if naive and self.tzinput is not None:
                wall = bt_time.localize_us(bt_time.roundtrip_us(wall), self.tzinput)
            return bt_time.datenums(wall)
        if not naive and str(index.tz) != "UTC":  # a date is the date where the index lives
            wall = bt_time.index_us(index.tz_localize(None))
        days = bt_time.daily_end_days(
            wall // bt_time.US_PER_DAY, self.kind, self.amount, self.last_session
        )
        midnight = days * bt_time.US_PER_DAY
        wall = midnight + self.sessionend_us
        if self.tzinput is not None:  # as BacktraderCSVData: session end read in tzinput
            return bt_time.datenums(bt_time.localize_us(bt_time.roundtrip_us(wall), self.tzinput))
        if self.tz is not None:  # as GenericCSVData: session end read in the output tz
            ends = bt_time.datenums(bt_time.localize_us(wall, self.tz))
            starts = bt_time.datenums(midnight)
            return np.where(ends > starts, ends, starts)
        return bt_time.datenums(wall)


@dataclass
class Bars:
    """A feed's bars: the frame, backtrader stamps and one float64 array per line."""

    frame: pd.DataFrame
    stamps: np.ndarray
    columns: dict[str, np.ndarray]
    _sorted: bool = field(default=True, repr=False)

    def __post_init__(self) -> None:
        self._sorted = bool(len(self.stamps) < 2 or (np.diff(self.stamps) >= 0).all())

    def __len__(self) -> int:
        return len(self.stamps)

    def window(self, fromdate: float, todate: float) -> slice | np.ndarray:
        """Positions of the bars backtrader's ``fromdate``/``todate`` checks let through.

        As ``DataBase.load``: bars before ``fromdate`` are skipped and the first bar after
        ``todate`` ends the feed.
        """
        stamps = self.stamps
        if self._sorted:
            lo = int(np.searchsorted(stamps, fromdate, side="left"))
            hi = int(np.searchsorted(stamps, todate, side="right"))
            return slice(lo, max(lo, hi))
        over = np.flatnonzero(stamps > todate)
        stop = int(over[0]) if len(over) else len(stamps)
        return np.flatnonzero(stamps[:stop] >= fromdate)

    def line_values(self, alias: str) -> np.ndarray:
        """The values for backtrader line ``alias`` (NaN when the frame has no such column)."""
        values = self.columns.get(alias)
        if values is None:
            values = np.full(len(self.stamps), np.nan)
            self.columns[alias] = values
        return values


def _is_conforming(frame: pd.DataFrame) -> bool:
    index = frame.index
    return (
        isinstance(index, pd.DatetimeIndex)
        and str(index.tz) == "UTC"
        and index.is_monotonic_increasing
        and all(c in frame.columns and frame[c].dtype == np.float64 for c in OHLCV_COLUMNS)
    )


def _extra_columns(frame: pd.DataFrame, taken: set[str]) -> dict[str, np.ndarray]:
    extras: dict[str, np.ndarray] = {}
    for col in frame.columns:
        key = str(col).strip().lower().replace(" ", "_")
        if key in taken or key in extras or key in _SCHEMA_ALIASES:
            continue
        values = pd.to_numeric(frame[col], errors="coerce")
        if values.notna().any() or frame[col].isna().all():
            extras[key] = values.to_numpy(dtype=np.float64)
    for name in _OPENINTEREST_NAMES[1:]:
        if name in extras and "openinterest" not in extras:
            extras["openinterest"] = extras.pop(name)
    return extras


def build_bars(frame: pd.DataFrame, rule: StampRule) -> Bars:
    """Turn a frame (tradedata schema or close to it) into :class:`Bars` stamped by ``rule``.

    A naive index is wall time in ``rule.tzinput`` when given, else UTC. Extra numeric
    columns (``openinterest``, ``adj_close`` ...) feed backtrader lines of the same name; the
    schema's ``open_interest`` feeds ``openinterest`` (NaN for bars stored without it), which
    is 0.0 when the frame has none at all, as in backtrader's CSV files.
    """
    raw = frame
    if not isinstance(raw.index, pd.DatetimeIndex):
        raw = normalize_frame(raw)  # raises DataValidationError for a non-time index
    if not raw.index.is_monotonic_increasing:
        raw = raw.sort_index(kind="stable")
    stamps = rule.stamps(raw.index)
    if raw.index.tz is None and rule.tzinput is not None:
        utc = bt_time.localize_us(bt_time.index_us(raw.index), rule.tzinput)
        raw = raw.set_axis(pd.DatetimeIndex(utc.astype("datetime64[us]"), tz="UTC"))
    norm = raw if _is_conforming(raw) else normalize_frame(raw)
    columns = {c: np.ascontiguousarray(norm[c].to_numpy(dtype=np.float64)) for c in norm.columns}
    columns.update(_extra_columns(raw, set(columns)))
    if OPEN_INTEREST in columns:  # the stored open interest feeds backtrader's line
        columns.setdefault("openinterest", columns[OPEN_INTEREST])
    columns.setdefault("openinterest", np.zeros(len(norm)))
    if norm is not frame:
        norm.attrs.update(frame.attrs)
    return Bars(frame=norm, stamps=stamps, columns=columns)


def session_last_day(symbol: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """For :func:`bt_time.daily_end_days`: the last session day in each ``[start, end)``.

    Days are epoch days; the calendar is the symbol's (:mod:`tradedata.calendars`: every day
    for crypto, weekdays for forex, the exchange's sessions for equities). A period without a
    known session gives a value before its start.
    """

    def last_session(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        from tradedata.calendars import resolve_calendar

        none = np.full(len(starts), np.iinfo(np.int64).min, dtype=np.int64)
        try:
            calendar = resolve_calendar(None, symbol)
            first, last = int(starts.min()) * _DAY_NS, (int(ends.max()) - 1) * _DAY_NS
            sessions = np.asarray(calendar.session_days(first, last), dtype=np.int64) // _DAY_NS
        except (TradeDataError, ValueError):
            return none
        positions = np.searchsorted(sessions, ends, side="left") - 1
        found = positions >= 0
        none[found] = sessions[positions[found]]
        return none

    return last_session


def fetch_range(
    fromdate: _dt.datetime | None,
    todate: _dt.datetime | None,
    tz: Any,
    timeframe: Timeframe,
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """Bar-open range to ask the manager for, wide enough for the feed's own date filter.

    backtrader reads ``fromdate``/``todate`` in the output timezone ``tz`` and compares them
    with bar *end* stamps, so the range is widened by one bar plus two days; the feed trims
    the excess exactly as backtrader would.
    """
    margin = pd.Timedelta(days=32 if timeframe.is_calendar else 0) + timeframe.delta
    margin += pd.Timedelta(days=2)

    def utc(value: _dt.datetime | None) -> pd.Timestamp | None:
        if value is None:
            return None
        if tz is not None and value.tzinfo is None:
            value = tz.localize(value)
        return to_utc(value)

    start, end = utc(fromdate), utc(todate)
    return (
        None if start is None else start - margin,
        None if end is None else end + pd.Timedelta(days=1),
    )


def load_from_manager(
    symbol: str,
    timeframe: Timeframe,
    *,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    provider: str | None = None,
    refresh: bool = False,
    cache_dir: Any = None,
    manager: Any = None,
    adjust: str = "splits",
    exchange: str | None = None,
    open_interest: bool = False,
) -> pd.DataFrame:
    """Get bars through a DataManager: ``manager``, else ``DataManager(cache_dir)`` (closed
    again afterwards), else the process-wide one from ``get_data_manager()``. ``adjust`` is
    passed on (equities: ``"splits"``, ``"all"`` or ``"raw"``).

    ``symbol`` may be venue-prefixed (``"BYBIT:BTC/USDT"``) and ``exchange`` names the source
    (:mod:`tradedata.identity`); the manager reads and fills that source's series only.
    ``open_interest`` asks it for the venue's open interest too (contracts only)."""
    request: dict[str, Any] = {
        "start": start, "end": end, "provider": provider, "refresh": refresh, "adjust": adjust,
    }  # fmt: skip
    if exchange is not None:
        request["exchange"] = exchange
    if open_interest:
        request["open_interest"] = True
    if manager is not None:
        return manager.get_ohlcv(symbol, timeframe.name, **request)
    from tradedata.manager import DataManager, get_data_manager

    if cache_dir is None:
        return get_data_manager().get_ohlcv(symbol, timeframe.name, **request)
    with DataManager(cache_dir=cache_dir) as own:
        return own.get_ohlcv(symbol, timeframe.name, **request)


def frame_quality(frame: pd.DataFrame, timeframe: str | None) -> Any:
    """The :class:`~tradedata.validation.QualityReport` of a frame handed to the feed.

    ``frame.attrs["quality"]`` when the frame carries one (the manager's frames do), else
    :func:`tradedata.validation.validate` (calendar from ``attrs["symbol"]``, 24/7 without).
    """
    report = frame.attrs.get("quality")
    if report is not None:
        return report
    from tradedata.validation import validate

    return validate(frame, timeframe)


def check_quality(quality: Any, minimum: float | None, label: str) -> None:
    """Raise :class:`InsufficientQualityError` when ``quality.score`` is below ``minimum``."""
    if minimum is None:
        return
    score = getattr(quality, "score", None)
    if score is None:
        raise InsufficientQualityError(
            f"{label}: min_quality={minimum} was asked but the data has no quality report"
        )
    if score < minimum:
        raise InsufficientQualityError(
            f"{label}: data quality score {score:.3g} is below min_quality={minimum}",
            score=float(score),
        )
