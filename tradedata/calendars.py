"""Trading calendars: which bar opens to expect for a timeframe between two times.

Three kinds of calendar answer the same questions (:class:`TradingCalendar`):

* ``"24/7"`` (:class:`AlwaysOpenCalendar`): crypto. Every epoch-aligned bar is expected.
* ``"24/5"`` (:class:`WeekdayCalendar`): forex. Bars opening from Monday 00:00 to Friday
  21:00 UTC are expected (daily: Monday to Friday); the weekend is not a gap. The FX week
  really runs from Sunday to Friday 17:00 New York time (21:00 or 22:00 UTC), and providers
  differ on where they cut it, so bars in the shoulders (Friday from 21:00 UTC, Sunday from
  21:00 UTC; a Sunday daily bar) are accepted (:meth:`TradingCalendar.allowed`) but not
  expected: neither a gap when absent nor off-calendar when present.
* an exchange-calendars name such as ``"XNYS"`` (:class:`ExchangeTradingCalendar`): the
  exchange's sessions, so nights, weekends, holidays and early closes are not gaps.

How bars are matched (the *key* of a bar):

* intraday timeframes (``s``/``m``/``h``): the bar open itself. On an exchange the expected opens
  are ``open + k * step`` inside each session ``[open, close)`` (a lunch break splits a session in
  two); ``align="epoch"`` expects the clock-aligned grid instead (``09:00`` rather than ``09:30``).
* ``1d``: one bar per session, labelled by the session date at 00:00 UTC as providers and
  backtrader files do. A bar stamped at another time of day is matched by its date (in the
  exchange's timezone, so a Tokyo bar stamped at local midnight, 15:00 UTC the day before, still
  matches).
* multi-day, ``1w``, ``1M``: every period (floored as :meth:`Timeframe.floor` does: Monday,
  first of the month) holding at least one session.

``exchange_calendars`` is imported lazily: it is slow to import, and ``get_calendar`` is slow to
call, so calendars are cached per name and rebuilt only to widen their date range
(:mod:`tradedata.calendar_cache`).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from typing import Any, Literal

import numpy as np
import pandas as pd

from tradedata.calendar_cache import DAY_NS, _exchange_calendar
from tradedata.errors import InputError, InvalidSymbolError
from tradedata.model import Timeframe, parse_timeframe, to_utc

__all__ = [
    "ALWAYS_OPEN",
    "WEEKDAYS",
    "AlwaysOpenCalendar",
    "ExchangeTradingCalendar",
    "TradingCalendar",
    "WeekdayCalendar",
    "floor_keys",
    "resolve_calendar",
]

_NAT = np.iinfo("int64").min
Align = Literal["session", "epoch"]


def floor_keys(values: np.ndarray, timeframe: Timeframe) -> np.ndarray:
    """Floor epoch-nanosecond ``values`` to their bar open, as :meth:`Timeframe.floor` does."""
    values = np.asarray(values, dtype="int64")
    if timeframe.unit == "w":
        days = values // DAY_NS
        return (days - (days + 3) % 7) * DAY_NS  # 1970-01-01 was a Thursday: Monday floor
    if timeframe.unit == "M":
        months = values.astype("datetime64[ns]").astype("datetime64[M]").astype("int64")
        absolute = months + 1970 * 12
        floored = absolute // timeframe.amount * timeframe.amount - 1970 * 12
        return floored.astype("datetime64[M]").astype("datetime64[ns]").astype("int64")
    step = timeframe.seconds * 1_000_000_000
    return values // step * step


def _is_intraday(timeframe: Timeframe) -> bool:
    return timeframe.unit in ("s", "m", "h")


def _grid(start: int, end: int, step: int) -> np.ndarray:
    """Epoch-aligned multiples of ``step`` in ``[start, end]``."""
    first = -(-start // step) * step
    if first > end:
        return np.empty(0, dtype="int64")
    count = (end - first) // step + 1  # integer count: np.arange(first, end + 1) rounds in float
    return first + np.arange(count, dtype="int64") * step


class TradingCalendar(ABC):
    """Base class: expected bar opens and bar keys for a calendar (see the module docstring)."""

    name: str = ""

    # -- what subclasses provide ------------------------------------------------------------
    @abstractmethod
    def session_days(self, start: int, end: int) -> np.ndarray:
        """Session dates (epoch ns at 00:00 UTC) from day ``start`` to day ``end`` inclusive."""

    @abstractmethod
    def intraday_opens(self, step: int, start: int, end: int, align: Align) -> np.ndarray:
        """Expected intraday bar opens (epoch ns) in ``[start, end]`` for a ``step`` in ns."""

    def session_dates_of(self, values: np.ndarray) -> np.ndarray:
        """The session date (ns at 00:00 UTC) each timestamp belongs to (UTC date by default)."""
        return values // DAY_NS * DAY_NS

    def coverage(self, start: int, end: int) -> tuple[int, int]:
        """The part of ``[start, end]`` this calendar can answer for (everything by default)."""
        return start, end

    def allowed(self, keys: np.ndarray, timeframe: Any) -> np.ndarray:
        """Keys that are not expected but are not off-calendar either (none by default)."""
        return np.zeros(len(keys), dtype=bool)

    # -- shared logic -----------------------------------------------------------------------
    def bar_keys(self, index: pd.DatetimeIndex | np.ndarray, timeframe: Any) -> np.ndarray:
        """Map bar timestamps to the keys expected bars are compared by (epoch ns)."""
        tf = parse_timeframe(timeframe)
        values = np.asarray(getattr(index, "asi8", index), dtype="int64")
        if _is_intraday(tf):
            return values
        dates = self.session_dates_of(values)
        if tf.unit == "d" and tf.amount == 1:
            return dates
        return floor_keys(dates, tf)

    def expected_keys(self, timeframe: Any, start: int, end: int, align: Align) -> np.ndarray:
        """Sorted expected keys (epoch ns) with ``start <= key <= end`` (keys, not raw times)."""
        tf = parse_timeframe(timeframe)
        if end < start:
            return np.empty(0, dtype="int64")
        if _is_intraday(tf):
            return self.intraday_opens(tf.seconds * 1_000_000_000, start, end, align)
        horizon = 31 * DAY_NS * (tf.amount if tf.unit == "M" else 1) + tf.seconds * 1_000_000_000
        days = self.session_days(start // DAY_NS * DAY_NS, end + horizon)
        keys = days if tf.unit == "d" and tf.amount == 1 else floor_keys(days, tf)
        if len(keys) > 1:
            keys = keys[np.concatenate(([True], np.diff(keys) != 0))]
        return keys[(keys >= start) & (keys <= end)]

    def bar_opens(
        self, timeframe: str | Timeframe, start: Any, end: Any, *, align: Align = "session"
    ) -> pd.DatetimeIndex:
        """Expected bar opens (as keys, see the module docstring) between ``start`` and ``end``.

        ``start`` and ``end`` are inclusive and mapped to keys first, so for ``1d`` any time
        of a day includes that day's session.
        """
        tf = parse_timeframe(timeframe)
        lo, hi = self.bar_keys(np.array([to_utc(start).value, to_utc(end).value]), tf)
        keys = self.expected_keys(tf, int(lo), int(hi), align)
        return pd.DatetimeIndex(pd.to_datetime(keys, unit="ns", utc=True), name="timestamp")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class AlwaysOpenCalendar(TradingCalendar):
    """``"24/7"``: always open (crypto)."""

    name = "24/7"

    def session_days(self, start: int, end: int) -> np.ndarray:
        """Every day."""
        return _grid(start, end, DAY_NS)

    def intraday_opens(self, step: int, start: int, end: int, align: Align) -> np.ndarray:
        """Every epoch-aligned open."""
        return _grid(start, end, step)


class WeekdayCalendar(TradingCalendar):
    """``"24/5"``: forex, open around the clock from Monday 00:00 to Friday 21:00 UTC.

    Friday evening and Sunday evening bars are allowed (see the module docstring).
    """

    name = "24/5"
    close_ns = 21 * 3_600 * 1_000_000_000  # Friday close and Sunday reopening, UTC

    def session_days(self, start: int, end: int) -> np.ndarray:
        """Monday to Friday."""
        days = _grid(start, end, DAY_NS)
        return days[_weekday(days) < 5]

    def intraday_opens(self, step: int, start: int, end: int, align: Align) -> np.ndarray:
        """Epoch-aligned opens from Monday 00:00 to Friday 21:00 UTC."""
        opens = _grid(start, end, step)
        weekday = _weekday(opens)
        return opens[(weekday < 4) | ((weekday == 4) & (opens % DAY_NS < self.close_ns))]

    def allowed(self, keys: np.ndarray, timeframe: Any) -> np.ndarray:
        """Friday and Sunday evenings from 21:00 UTC; Sunday daily bars."""
        weekday = _weekday(keys)
        if not _is_intraday(parse_timeframe(timeframe)):
            return weekday == 6
        return ((weekday == 4) | (weekday == 6)) & (keys % DAY_NS >= self.close_ns)


def _weekday(values: np.ndarray) -> np.ndarray:
    """Monday = 0 ... Sunday = 6 for epoch-ns values (1970-01-01 was a Thursday)."""
    return (values // DAY_NS + 3) % 7


class ExchangeTradingCalendar(TradingCalendar):
    """An exchange's sessions, from an ``exchange_calendars.ExchangeCalendar``.

    Built from a name (the calendar is fetched through a cache and widened on demand) or from
    a calendar object (used as is: its date range is its coverage).
    """

    def __init__(self, name: str, calendar: Any = None) -> None:
        self.name = name
        self._fixed = calendar
        self._tz = str(calendar.tz) if calendar is not None else None

    def _calendar(self, start: int | None = None, end: int | None = None) -> Any:
        if self._fixed is not None:
            return self._fixed
        return _exchange_calendar(self.name, start, end)

    @property
    def tz(self) -> str:
        """The exchange's timezone name."""
        if self._tz is None:
            self._tz = str(self._calendar().tz)
        return self._tz

    def coverage(self, start: int, end: int) -> tuple[int, int]:
        """Clip ``[start, end]`` to the sessions the calendar knows (widening it if it can)."""
        cal = self._calendar(start, end)
        first = int(cal.opens_nanos[0]) // DAY_NS * DAY_NS
        last = int(cal.closes_nanos[-1])
        return max(start, first), min(end, last)

    def session_days(self, start: int, end: int) -> np.ndarray:
        """The exchange's sessions."""
        cal = self._calendar(start, end)
        days = np.asarray(cal.sessions_nanos, dtype="int64")
        return days[(days >= start) & (days <= end)]

    def session_dates_of(self, values: np.ndarray) -> np.ndarray:
        """UTC date for bars stamped at 00:00 UTC, else the date in the exchange's timezone."""
        utc_dates = values // DAY_NS * DAY_NS
        other = values != utc_dates
        if not other.any():
            return utc_dates
        local = pd.DatetimeIndex(pd.to_datetime(values[other], unit="ns", utc=True))
        local_dates = local.tz_convert(self.tz).normalize().tz_localize(None).asi8
        out = utc_dates.copy()
        out[other] = local_dates
        return out

    def intraday_opens(self, step: int, start: int, end: int, align: Align) -> np.ndarray:
        """Opens inside each session ``[open, close)``, lunch breaks excluded."""
        cal = self._calendar(start, end)
        opens = np.asarray(cal.opens_nanos, dtype="int64")
        closes = np.asarray(cal.closes_nanos, dtype="int64")
        lo = np.searchsorted(closes, start, side="right")
        hi = np.searchsorted(opens, end, side="right")
        opens, closes = opens[lo:hi], closes[lo:hi]
        b_start = np.asarray(cal.break_starts_nanos, dtype="int64")[lo:hi]
        b_end = np.asarray(cal.break_ends_nanos, dtype="int64")[lo:hi]
        has_break = (b_start != _NAT) & (b_end != _NAT)
        if has_break.any():  # split sessions with a break into [open, b_start) + [b_end, close)
            opens = np.concatenate((opens, b_end[has_break]))
            closes = np.concatenate((np.where(has_break, b_start, closes), closes[has_break]))
        times = _interval_grid(opens, closes, step, align)
        times.sort()
        return times[(times >= start) & (times <= end)]


def _interval_grid(opens: np.ndarray, closes: np.ndarray, step: int, align: Align) -> np.ndarray:
    """All bar opens ``anchor + k*step`` covering each ``[open, close)``, vectorised."""
    anchors = opens // step * step if align == "epoch" else opens
    counts = np.maximum(-(-(closes - anchors) // step), 0)
    total = int(counts.sum())
    if total == 0:
        return np.empty(0, dtype="int64")
    offsets = np.arange(total, dtype="int64") - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(anchors, counts) + offsets * step


_ADAPTERS_LOCK = threading.Lock()
_ADAPTERS: dict[str, ExchangeTradingCalendar] = {}


def _exchange_adapter(name: str) -> ExchangeTradingCalendar:
    with _ADAPTERS_LOCK:
        adapter = _ADAPTERS.get(name)
    if adapter is not None:
        return adapter
    import exchange_calendars as xcals

    if name not in xcals.get_calendar_names(include_aliases=True):
        raise InputError(f"unknown calendar {name!r} (use '24/7', '24/5' or e.g. 'XNYS')")
    with _ADAPTERS_LOCK:
        return _ADAPTERS.setdefault(name, ExchangeTradingCalendar(xcals.resolve_alias(name)))


ALWAYS_OPEN = AlwaysOpenCalendar()
WEEKDAYS = WeekdayCalendar()
_NAMED = {"24/7": ALWAYS_OPEN, "24x7": ALWAYS_OPEN, "24/5": WEEKDAYS, "24x5": WEEKDAYS}


def resolve_calendar(calendar: Any = None, symbol: str | None = None) -> TradingCalendar:
    """Turn ``calendar`` into a :class:`TradingCalendar`.

    ``calendar`` may be a :class:`TradingCalendar`, ``"24/7"``, ``"24/5"``, an exchange-calendars
    name or alias (``"XNYS"``, ``"NYSE"``), or an ``ExchangeCalendar`` object. ``None`` uses the
    calendar of ``symbol`` (:func:`tradedata.symbols.symbol_info`), and ``"24/7"`` when the
    symbol is missing or unparseable. Raises :class:`InputError` for an unknown name.
    """
    if isinstance(calendar, TradingCalendar):
        return calendar
    if calendar is None:
        if not symbol:
            return ALWAYS_OPEN
        from tradedata.symbols import symbol_info

        try:
            calendar = symbol_info(symbol).calendar
        except InvalidSymbolError:
            return ALWAYS_OPEN
    if isinstance(calendar, str):
        key = calendar.strip()
        named = _NAMED.get(key.lower())
        if named is not None:
            return named
        if not key:
            raise InputError("calendar name is empty")
        return _exchange_adapter(key.upper())
    if hasattr(calendar, "opens_nanos") and hasattr(calendar, "sessions_nanos"):
        return ExchangeTradingCalendar(str(getattr(calendar, "name", "exchange")), calendar)
    raise InputError(f"calendar must be a name or a calendar object, got {type(calendar).__name__}")
