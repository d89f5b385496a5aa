"""The cache of ``exchange_calendars`` calendars behind :mod:`tradedata.calendars`.

``exchange_calendars`` is slow to import and ``get_calendar`` is slow to call, so a calendar is
built once per name, a few years wider than asked, and rebuilt only to widen its date range. An
exchange whose recorded history starts later than asked (``holidays are only recorded back to
1991``) is built from the first year it accepts and marked so that it is not retried.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__: list[str] = []

DAY_NS = 86_400 * 1_000_000_000


@dataclass
class _Cached:
    """A cached calendar and whether its history can be widened further back / forward."""

    calendar: Any
    floor: bool = False  # True: the exchange's recorded history starts here, don't retry
    ceiling: bool = False

    def covers(self, start: int | None, end: int | None) -> bool:
        first = int(self.calendar.sessions_nanos[0])
        last = int(self.calendar.sessions_nanos[-1])
        return (start is None or start >= first or self.floor) and (
            end is None or end <= last + DAY_NS or self.ceiling
        )


_SLACK_YEARS = 5  # build calendars a few years wider than asked: rebuilding is slow
_MAX_ATTEMPTS = 80
_LOCK = threading.Lock()
_EXCHANGE_CACHE: dict[str, _Cached] = {}


def _exchange_calendar(name: str, start: int | None, end: int | None) -> Any:
    """A cached ``ExchangeCalendar`` for ``name`` covering ``[start, end]`` when it can."""
    with _LOCK:
        cached = _EXCHANGE_CACHE.get(name)
        if cached is None or not cached.covers(start, end):
            cached = _build_exchange_calendar(name, cached, start, end)
            _EXCHANGE_CACHE[name] = cached
        return cached.calendar


def _widened(old: _Cached | None, start: int | None, end: int | None) -> tuple[Any, Any]:
    """The (start, end) to build: the old range plus what is asked, with slack (None: default)."""
    want_start = (
        None if start is None else pd.Timestamp(year=_year(start) - _SLACK_YEARS, month=1, day=1)
    )
    want_end = None if end is None else pd.Timestamp(year=_year(end) + 1, month=12, day=31)
    if old is not None:
        first, last = old.calendar.first_session, old.calendar.last_session
        want_start = first if want_start is None or old.floor else min(want_start, first)
        want_end = last if want_end is None or old.ceiling else max(want_end, last)
    return want_start, want_end


def _year(value: int) -> int:
    return pd.Timestamp(value).year


def _build_exchange_calendar(
    name: str, old: _Cached | None, start: int | None, end: int | None
) -> _Cached:
    """Build a calendar covering the old range and ``[start, end]`` as far as history allows."""
    import exchange_calendars as xcals  # slow import: only when an exchange calendar is used

    want_start, want_end = _widened(old, start, end)
    attempt_start, floor = want_start, False
    for _ in range(_MAX_ATTEMPTS):
        try:
            return _Cached(xcals.get_calendar(name, start=attempt_start, end=want_end), floor)
        except ValueError:  # "holidays are only recorded back to 1991", out of bounds, ...
            if attempt_start is None:
                break
            floor = True
            attempt_start = pd.Timestamp(year=attempt_start.year + 1, month=1, day=1)
            if want_end is not None and attempt_start > want_end:
                break
    try:  # the end is out of range too: the default calendar, marked as not widenable
        return _Cached(xcals.get_calendar(name, start=attempt_start), True, True)
    except ValueError:
        return _Cached(xcals.get_calendar(name), True, True)
