"""Bar times for backtrader: from tradedata's bar-open convention to backtrader's stamps.

tradedata frames index each bar by its *open* time (UTC). backtrader stamps a bar at its
*end*, and its CSV feeds write that stamp as a float from ``backtrader.date2num``:

* intraday bars (``Ticks``/``Seconds``/``Minutes``): the bar's close time, i.e. open time plus
  the bar length (backtrader's 5-minute sample file starts at 09:05 for the 09:00-09:05 bar);
* daily and longer bars: the bar's last day at ``sessionend`` (23:59:59.999990 by default).
  For ``1d`` that is the bar's own date. A weekly, monthly or ``Nd`` bar ends on the last
  session of the period holding its timestamp, from the symbol's trading calendar (so
  backtrader's weekly sample files, stamped on Fridays and on Thursday 2006-04-13 before Good
  Friday, come out the same from their Monday open times); without a calendar a 24/7 market
  is assumed and the period's last calendar day is used.

Everything here is vectorised over int64 microseconds and reproduces backtrader's float
arithmetic bit for bit (see :func:`datenums`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from backtrader.utils import date2num, num2date

__all__ = [
    "US_PER_DAY",
    "daily_end_days",
    "datenums",
    "index_us",
    "localize_us",
    "roundtrip_us",
    "time_us",
]

US_PER_DAY = 86_400_000_000
_EPOCH_ORDINAL = _dt.date(1970, 1, 1).toordinal()
# Ordinals in [2**19, 2**20 - 1) share one binade, where date2num's result has a fixed ulp
# (2**-33): fsum(ordinal, fractions) == ordinal + (fsum(2**19, fractions) - 2**19) exactly.
_BASE_ORDINAL = 2**19
_MAX_ORDINAL = 2**20 - 2
_BASE_DATETIME = _dt.datetime.fromordinal(_BASE_ORDINAL)
_FRACTIONS: dict[int, float] = {}
_ROUNDTRIPS: dict[int, int] = {}


def time_us(value: _dt.time) -> int:
    """Microseconds since midnight of a ``datetime.time``."""
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond


def _fraction(tod: int) -> float:
    """date2num's day fraction for ``tod`` microseconds after midnight (may be 1.0)."""
    value = _FRACTIONS.get(tod)
    if value is None:
        value = date2num(_BASE_DATETIME + _dt.timedelta(microseconds=tod)) - _BASE_ORDINAL
        _FRACTIONS[tod] = value
    return value


def _roundtrip(tod: int) -> int:
    """Microseconds after midnight that num2date(date2num(t)) gives back (may pass 24h)."""
    value = _ROUNDTRIPS.get(tod)
    if value is None:
        back = num2date(_BASE_ORDINAL + _fraction(tod))
        value = (back - _BASE_DATETIME) // _dt.timedelta(microseconds=1)
        _ROUNDTRIPS[tod] = value
    return value


def _per_time_of_day(tod: np.ndarray, func: Callable[[int], Any], dtype: str) -> np.ndarray:
    """Apply ``func`` to each time of day, calling it once per distinct value."""
    if len(tod) == 0:
        return np.empty(0, dtype=dtype)
    first = int(tod[0])
    if (tod == first).all():
        return np.full(len(tod), func(first), dtype=dtype)
    for grain in (60_000_000, 1_000_000):  # whole minutes, whole seconds: small tables
        if not (tod % grain).any():
            codes = tod // grain
            present = np.zeros(US_PER_DAY // grain, dtype=bool)
            present[codes] = True
            table = np.zeros(len(present), dtype=dtype)
            for code in np.flatnonzero(present).tolist():
                table[code] = func(code * grain)
            return table[codes]
    codes, uniques = pd.factorize(tod)
    table = np.array([func(int(t)) for t in uniques], dtype=dtype)
    return table[codes]


def datenums(us: np.ndarray) -> np.ndarray:
    """``backtrader.date2num`` of naive UTC times given as int64 microseconds since the epoch.

    Bit-identical to calling ``date2num`` on each ``datetime``: the day fraction depends only
    on the time of day, so it is computed once per distinct time of day and added to the day
    ordinal, which is exact within one binade. Dates outside years ~1436-2870 fall back to a
    per-element call.
    """
    us = np.asarray(us, dtype=np.int64)
    days = us // US_PER_DAY
    tod = us - days * US_PER_DAY
    ordinals = days + _EPOCH_ORDINAL
    if len(us) and (ordinals.min() < _BASE_ORDINAL or ordinals.max() > _MAX_ORDINAL):
        epoch = _dt.datetime(1970, 1, 1)
        values = [date2num(epoch + _dt.timedelta(microseconds=int(u))) for u in us]
        return np.array(values, dtype=np.float64)
    return ordinals.astype(np.float64) + _per_time_of_day(tod, _fraction, "float64")


def roundtrip_us(us: np.ndarray) -> np.ndarray:
    """The times ``num2date(date2num(t))`` gives back (backtrader's lossy float round trip)."""
    us = np.asarray(us, dtype=np.int64)
    days = us // US_PER_DAY
    tod = us - days * US_PER_DAY
    return days * US_PER_DAY + _per_time_of_day(tod, _roundtrip, "int64")


def localize_us(us: np.ndarray, tz: Any) -> np.ndarray:
    """Read naive wall times (int64 us) in ``tz`` and return the UTC instants (int64 us).

    Follows pytz's ``localize(dt)`` default (``is_dst=False``): an ambiguous time is taken as
    standard time and a time inside a DST gap keeps the standard offset.
    """
    index = pd.DatetimeIndex(np.asarray(us, dtype="datetime64[us]"))
    local = index.tz_localize(
        tz, ambiguous=np.zeros(len(index), dtype=bool), nonexistent=pd.Timedelta(hours=1)
    )
    return np.asarray(local.tz_convert("UTC").tz_localize(None).as_unit("us").asi8)


def index_us(index: pd.DatetimeIndex) -> np.ndarray:
    """Wall-clock microseconds of an index (UTC for aware indexes), flooring sub-microseconds."""
    values = index.asi8  # epoch values: UTC for an aware index, wall time for a naive one
    unit = index.unit
    if unit == "ns":
        return values // 1000
    if unit == "us":
        return values.copy()
    return values * {"ms": 1000, "s": 1_000_000}[unit]


def _first_days(months: np.ndarray) -> np.ndarray:
    """Epoch day of the 1st of each month (months since 1970-01)."""
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _periods(days: np.ndarray, kind: str, amount: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and exclusive end (epoch days) of the period holding each day.

    Periods are epoch-aligned runs of ``amount`` days, weeks (from Monday 1970-01-05) or
    months (as :meth:`tradedata.model.Timeframe.floor` aligns them).
    """
    if kind == "M":
        months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        first = months - (months + 1970 * 12) % amount
        return _first_days(first), _first_days(first + amount)
    length = amount * (7 if kind == "w" else 1)
    offset = 4 if kind == "w" else 0  # 1970-01-05 was a Monday
    starts = days - (days - offset) % length
    return starts, starts + length


def daily_end_days(
    days: np.ndarray,
    kind: str,
    amount: int,
    last_session: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """The day (epoch days) each daily-or-longer bar is stamped on: its period's last session.

    ``kind`` is ``"d"``, ``"w"`` or ``"M"`` and ``amount`` the bars' length in those units. A
    bar belongs to the period holding its timestamp, so open times (Monday, the 1st) and end
    labels (backtrader's Friday-stamped weekly files) land on the same day, and a bar is never
    stamped before its own timestamp. ``last_session(starts, ends)`` returns, per period, the
    last trading day in ``[start, end)`` (or a value ``< start`` when there is none); without
    it, or without a session, the period's last calendar day is used.
    """
    days = np.asarray(days, dtype=np.int64)
    if len(days) == 0 or (kind == "d" and amount == 1):
        return days
    starts, ends = _periods(days, kind, amount)
    result = ends - 1
    if last_session is not None:
        sessions = last_session(starts, ends)
        result = np.where(sessions >= starts, sessions, result)
    return np.maximum(result, days)
