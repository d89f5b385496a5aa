"""Coverage methods of :class:`~tradedata.cache.Cache` (the span algebra is in coverage.py)."""

from __future__ import annotations

import logging
import time
import warnings
from typing import Any

import pandas as pd

from tradedata.cache import coverage as cov
from tradedata.cache.backend import Backend
from tradedata.cache.coverage import CoverageSpan, Grid, Span
from tradedata.cache.layout import CacheCorruptionWarning, check_name, year_bounds
from tradedata.errors import InvalidDateRangeError
from tradedata.model import parse_range, parse_timeframe, to_utc

__all__ = ["CoverageMixin"]

log = logging.getLogger("tradedata.cache")


#: No bar is stored before 1678: a range reaching further back is clipped there, so the bar
#: opens around it (a week's Monday, a month's first day) stay inside int64 nanoseconds.
_FIRST_NS = year_bounds(1678)[0]


def _range(start: Any, end: Any) -> tuple[int, int]:
    """``(lo, hi)`` ns, ``lo`` no earlier than 1678 (``lo > hi`` when nothing is left)."""
    if start is None or end is None:
        raise InvalidDateRangeError("a coverage range needs both start and end")
    s, e = parse_range(start, end)
    assert s is not None and e is not None
    return max(int(s.value), _FIRST_NS), int(e.value)


class CoverageMixin:
    """Which ranges of a series were fetched, from which provider and when."""

    _db: Backend

    def _spans(self, symbol: str, tf: str) -> list[Span]:
        key = self._db.coverage_key(symbol, tf)
        try:
            items = self._db.get_json(key)
            return cov.from_json(items or [])
        except (ValueError, TypeError) as exc:
            message = f"coverage record of {symbol} {tf} is unreadable ({exc}); it was reset"
            log.warning(message)
            warnings.warn(message, CacheCorruptionWarning, stacklevel=3)
            if self._db.read_only is None:  # a cache we may only read keeps it as it is
                self._db.delete(key)
            return []

    def _save_spans(self, symbol: str, tf: str, spans: list[Span]) -> None:
        key = self._db.coverage_key(symbol, tf)
        if spans:
            self._db.set_json(key, [list(s) for s in spans])
        else:
            self._db.delete(key)

    def coverage(self, symbol: str, timeframe: str) -> list[CoverageSpan]:
        """The fetched spans of a series, sorted and disjoint (inclusive bounds, UTC)."""
        return cov.to_public(self._spans(symbol, parse_timeframe(timeframe).name))

    def add_coverage(
        self,
        symbol: str,
        timeframe: str,
        start: Any,
        end: Any,
        provider: str,
        fetched_at: Any = None,
    ) -> None:
        """Record that ``[start, end]`` was fetched from ``provider`` (even if it had no bars)."""
        check_name(symbol, "symbol")
        check_name(provider, "provider")
        tf = parse_timeframe(timeframe)
        lo, hi = _range(start, end)
        when = time.time_ns() if fetched_at is None else int(to_utc(fetched_at).value)
        with self._db.transact():
            spans = self._spans(symbol, tf.name)
            self._save_spans(symbol, tf.name, cov.add_span(spans, lo, hi, provider, when, Grid(tf)))

    def remove_coverage(self, symbol: str, timeframe: str, start: Any, end: Any) -> None:
        """Forget that ``[start, end]`` was fetched, so it is fetched again."""
        tf = parse_timeframe(timeframe)
        lo, hi = _range(start, end)
        with self._db.transact():
            spans = self._spans(symbol, tf.name)
            self._save_spans(symbol, tf.name, cov.remove_span(spans, lo, hi, Grid(tf)))

    def _uncover_year(self, symbol: str, tf: str, year: int) -> None:
        """Inside a transaction: remove the coverage of one year (its partition is gone)."""
        first, after = year_bounds(year)
        self.remove_coverage(
            symbol, tf, pd.Timestamp(first, tz="UTC"), pd.Timestamp(after - 1, tz="UTC")
        )

    def missing_ranges(
        self, symbol: str, timeframe: str, start: Any, end: Any
    ) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
        """The parts of ``[start, end]`` never fetched, as ``(first, last)`` bar open times.

        Bar opens are on the timeframe's epoch-aligned grid; a fetched range that had no bars
        counts as fetched. Empty when everything is covered.
        """
        tf = parse_timeframe(timeframe)
        lo, hi = _range(start, end)
        holes = cov.missing(self._spans(symbol, tf.name), lo, hi, Grid(tf))
        return [(pd.Timestamp(a, tz="UTC"), pd.Timestamp(b, tz="UTC")) for a, b in holes]

    def provider_at(self, symbol: str, timeframe: str, ts: Any) -> str | None:
        """The provider that supplied the bar at ``ts`` (None if that time was never fetched)."""
        tf = parse_timeframe(timeframe).name
        return cov.provider_at(self._spans(symbol, tf), int(to_utc(ts).value))
