"""Trading calendars for zipline bundles: crypto (24/7) and forex (24/5) that work in both modes.

exchange-calendars' own ``"24/7"`` calendar opens a session at 00:00 UTC and closes it at 00:00
the next day. Zipline is right-labelled, so that closing minute belongs to the session, and in
daily mode zipline turns the session label (midnight) into a session a second time
(``DataPortal.get_spot_value`` calls ``minute_to_session`` on it): midnight is the *previous*
session's close, so ``data.current`` returns yesterday's close and orders are priced a day late.

The calendars here open at 23:59 of the previous day and close at 23:59 (UTC). Zipline's
trading minutes of session ``D`` are then ``D 00:00 .. D 23:59``: midnight of ``D`` belongs to
``D``, so daily mode reads the right bar, and minute mode has 1440 minutes a day. A minute bar
is labelled by its end (the kline opening at 12:00 is zipline's 12:01), so session ``D``'s
minutes hold the klines opening from ``D-1 23:59`` to ``D 23:58``.

The calendars are registered with exchange-calendars (which zipline's ``get_calendar`` uses)
when this module is imported and again before every ingest; registration is idempotent.
"""

from __future__ import annotations

from datetime import time
from typing import Any

import exchange_calendars as xcals
import pandas as pd
from exchange_calendars import ExchangeCalendar
from exchange_calendars.calendar_utils import global_calendar_dispatcher

from tradedata.errors import InputError
from tradedata.model import to_utc

__all__ = [
    "CRYPTO_CALENDAR",
    "FOREX_CALENDAR",
    "Crypto247Calendar",
    "Forex245Calendar",
    "minutes_per_day",
    "register_calendars",
    "session_range",
    "zipline_calendar_name",
]

#: The zipline calendar name of crypto bundles (every day, 1440 minutes).
CRYPTO_CALENDAR = "TRADEDATA-24/7"
#: The zipline calendar name of forex bundles (Monday to Friday UTC, 1440 minutes).
FOREX_CALENDAR = "TRADEDATA-24/5"

_US_MINUTES = 390


class Crypto247Calendar(ExchangeCalendar):
    """Every day, sessions from 23:59 the day before to 23:59 UTC (see the module docstring)."""

    name = CRYPTO_CALENDAR
    tz = xcals.calendar_helpers.UTC
    weekmask = "1111111"
    open_times = ((None, time(23, 59)),)
    open_offset = -1
    close_times = ((None, time(23, 59)),)


class Forex245Calendar(Crypto247Calendar):
    """Monday to Friday, sessions from 23:59 the day before to 23:59 UTC."""

    name = FOREX_CALENDAR
    weekmask = "1111100"


_OURS: dict[str, type[ExchangeCalendar]] = {
    CRYPTO_CALENDAR: Crypto247Calendar,
    FOREX_CALENDAR: Forex245Calendar,
}
#: tradedata calendar names (``symbol_info(...).calendar``) that map to ours.
_ALIASES = {"24/7": CRYPTO_CALENDAR, "24x7": CRYPTO_CALENDAR, "24/5": FOREX_CALENDAR}
_ALIASES["24x5"] = FOREX_CALENDAR


def register_calendars() -> None:
    """Register the crypto and forex calendars with exchange-calendars (idempotent)."""
    for name, cls in _OURS.items():
        if not global_calendar_dispatcher.has_calendar(name):
            xcals.register_calendar_type(name, cls)


def zipline_calendar_name(calendar: str) -> str:
    """The zipline calendar for a tradedata calendar name (``"24/7"``, ``"XNYS"``, ``"LSE"``...).

    ``"24/7"`` and ``"24/5"`` become :data:`CRYPTO_CALENDAR` and :data:`FOREX_CALENDAR`;
    exchange names and aliases are resolved by exchange-calendars. Raises :class:`InputError`
    for an unknown name.
    """
    key = calendar.strip()
    if key in _OURS:
        return key
    alias = _ALIASES.get(key.lower())
    if alias is not None:
        return alias
    register_calendars()
    try:
        canonical = xcals.resolve_alias(key.upper())
        if not global_calendar_dispatcher.has_calendar(canonical):
            raise xcals.errors.InvalidCalendarName(calendar_name=key)
    except xcals.errors.InvalidCalendarName as exc:
        raise InputError(
            f"unknown calendar {calendar!r} (use '24/7', '24/5' or e.g. 'XNYS')"
        ) from exc
    return str(canonical)


def get_zipline_calendar(name: str) -> Any:
    """The calendar zipline uses for ``name`` (right-labelled, cached by exchange-calendars)."""
    from zipline.utils.calendar_utils import get_calendar

    register_calendars()
    return get_calendar(name)


def minutes_per_day(name: str) -> int:
    """Minutes in a regular session of zipline calendar ``name`` (1440 for ours, 390 for XNYS)."""
    if name in _OURS:
        return 1440
    if name == "XNYS":
        return _US_MINUTES
    cal = get_zipline_calendar(name)
    lengths = (cal.closes - cal.opens).dt.total_seconds() // 60
    return int(lengths.mode().iloc[0])


def _naive_day(value: Any, what: str) -> pd.Timestamp:
    ts = to_utc(value, name=what)
    return ts.normalize().tz_localize(None)


def session_range(name: str, start: Any, end: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first session on or after ``start`` and the last on or before ``end`` (naive dates).

    Raises :class:`InputError` when no session of ``name`` falls in the range.
    """
    first, last = _naive_day(start, "start"), _naive_day(end, "end")
    if first > last:
        raise InputError(f"start {first:%Y-%m-%d} is after end {last:%Y-%m-%d}")
    if name in _OURS:
        days = pd.date_range(first, last, freq="D")
        if name == FOREX_CALENDAR:
            days = days[days.weekday < 5]
    else:
        cal = get_zipline_calendar(name)
        lo, hi = max(first, cal.first_session), min(last, cal.last_session)
        days = cal.sessions_in_range(lo, hi) if lo <= hi else pd.DatetimeIndex([])
    if len(days) == 0:
        raise InputError(f"no {name} session between {first:%Y-%m-%d} and {last:%Y-%m-%d}")
    return pd.Timestamp(days[0]), pd.Timestamp(days[-1])


register_calendars()
