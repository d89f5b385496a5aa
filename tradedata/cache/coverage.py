"""Coverage: which time ranges of a series were fetched, from which provider, when.

Coverage tells "the market had no trades here" (covered, no bars) from "we never fetched this"
(not covered). Spans are inclusive ``[start, end]`` instants (int ns internally), sorted and
disjoint. Bar open times are taken on the timeframe's epoch-aligned grid (as exchanges align
them): two spans with no bar open strictly between them *touch*; same-provider spans that
overlap or touch are merged (keeping the latest ``fetched_at``); a newer span from another
provider replaces the older one where they overlap, so the last fetch wins as it does for bars.
Removing a range uncovers every bar open inside it (leftover spans are cut at bar opens).

The span algebra is plain functions on int ns; :class:`Coverage` keeps the spans of every
series in the store and is what :class:`~tradedata.cache.Cache`'s coverage methods use.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from tradedata.cache.backend import Backend
from tradedata.cache.layout import (
    CacheCorruptionWarning,
    check_name,
    split_store_name,
    year_bounds,
)
from tradedata.errors import InvalidDateRangeError
from tradedata.model import Timeframe, parse_range, parse_timeframe, to_utc

__all__ = [
    "Coverage",
    "CoverageSpan",
    "Grid",
    "Span",
    "add_span",
    "missing",
    "provider_at",
    "remove_span",
]

log = logging.getLogger("tradedata.cache")

#: (start_ns, end_ns, provider, fetched_at_ns), inclusive bounds.
Span = tuple[int, int, str, int]
#: Stands for a bar open past ``pd.Timestamp.max`` (only ever compared, never stored).
_BEYOND = 2**63


@dataclass(frozen=True)
class CoverageSpan:
    """A fetched time range (inclusive bounds, UTC) and the provider it came from."""

    start: pd.Timestamp
    end: pd.Timestamp
    provider: str
    fetched_at: pd.Timestamp


class Grid:
    """Bar-open arithmetic on int ns for one timeframe (epoch-aligned)."""

    def __init__(self, timeframe: Timeframe) -> None:
        self.timeframe = timeframe
        fixed = timeframe.unit not in ("w", "M")
        self._step = timeframe.seconds * 1_000_000_000 if fixed else 0

    def floor(self, ns: int) -> int:
        """The last bar open at or before ``ns``."""
        if self._step:
            return ns // self._step * self._step
        return int(self.timeframe.floor(pd.Timestamp(ns, tz="UTC")).value)

    def next_open(self, ns: int) -> int:
        """The first bar open strictly after ``ns``."""
        if self._step:
            return ns // self._step * self._step + self._step
        try:
            return int(self.timeframe.next_open(pd.Timestamp(ns, tz="UTC")).value)
        except (OverflowError, pd.errors.OutOfBoundsDatetime):
            return _BEYOND  # the next week/month opens after the last representable instant

    def ceil(self, ns: int) -> int:
        """The first bar open at or after ``ns``."""
        low = self.floor(ns)
        return low if low == ns else self.next_open(ns)

    def touching(self, end: int, start: int) -> bool:
        """True when no bar open lies strictly between ``end`` and a later ``start``."""
        return start <= end + 1 or self.next_open(end) >= start


def _cut(spans: Iterable[Span], start: int, end: int) -> list[Span]:
    """Spans with the instants ``[start, end]`` taken out, exactly."""
    out: list[Span] = []
    for s, e, p, f in spans:
        if e < start or s > end:
            out.append((s, e, p, f))
            continue
        if s < start:
            out.append((s, start - 1, p, f))
        if e > end:
            out.append((end + 1, e, p, f))
    return out


def _merge(spans: list[Span], grid: Grid) -> list[Span]:
    spans.sort()
    out: list[Span] = []
    for span in spans:
        if out:
            s0, e0, p0, f0 = out[-1]
            if span[2] == p0 and grid.touching(e0, span[0]):
                out[-1] = (s0, max(e0, span[1]), p0, max(f0, span[3]))
                continue
        out.append(span)
    return out


def add_span(
    spans: list[Span], start: int, end: int, provider: str, fetched_at: int, grid: Grid
) -> list[Span]:
    """Mark ``[start, end]`` fetched from ``provider``; returns the new span list."""
    if start > end:
        return list(spans)
    kept = _cut(spans, start, end)
    kept.append((start, end, provider, fetched_at))
    return _merge(kept, grid)


def remove_span(spans: list[Span], start: int, end: int, grid: Grid) -> list[Span]:
    """Uncover every bar open in ``[start, end]``; leftovers end/start on bar opens."""
    if start > end:
        return list(spans)
    left_end = grid.floor(start - 1)  # last bar open before start
    right_start = grid.next_open(end)  # first bar open after end
    out: list[Span] = []
    for s, e, p, f in spans:
        if e < start or s > end:
            out.append((s, e, p, f))
            continue
        if s <= left_end:
            out.append((s, min(e, left_end), p, f))
        if e >= right_start:
            out.append((max(s, right_start), e, p, f))
    return _merge(out, grid)  # a cut holding no bar open leaves touching pieces: rejoin them


def missing(spans: list[Span], start: int, end: int, grid: Grid) -> list[tuple[int, int]]:
    """Uncovered parts of ``[start, end]`` as inclusive ``(first, last)`` bar opens.

    A hole with no bar open in it is not reported; each range starts and ends on a bar open.
    """
    holes: list[tuple[int, int]] = []
    cursor = start
    for s, e, _, _ in spans:
        if e < cursor:
            continue
        if s > end:
            break
        if s > cursor:
            holes.append((cursor, s - 1))
        cursor = e + 1
        if cursor > end:
            break
    if cursor <= end:
        holes.append((cursor, end))
    out: list[tuple[int, int]] = []
    for lo, hi in holes:
        first, last = grid.ceil(lo), grid.floor(hi)
        if first <= last:
            out.append((first, last))
    return out


def provider_at(spans: list[Span], ns: int) -> str | None:
    """The provider whose span contains ``ns``, or None when it was never fetched."""
    for s, e, p, _ in spans:
        if s <= ns <= e:
            return p
        if s > ns:
            break
    return None


def clip(spans: list[Span], start: int, end: int) -> list[Span]:
    """The parts of ``spans`` inside ``[start, end]``."""
    return [(max(s, start), min(e, end), p, f) for s, e, p, f in spans if e >= start and s <= end]


def to_public(spans: list[Span]) -> list[CoverageSpan]:
    """Internal spans as :class:`CoverageSpan` records."""
    return [
        CoverageSpan(
            pd.Timestamp(s, tz="UTC"), pd.Timestamp(e, tz="UTC"), p, pd.Timestamp(f, tz="UTC")
        )
        for s, e, p, f in spans
    ]


def from_json(items: list) -> list[Span]:
    """Spans from their stored JSON form ``[[start, end, provider, fetched_at], ...]``."""
    return [(int(s), int(e), str(p), int(f)) for s, e, p, f in items]


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


class Coverage:
    """The stored coverage records of a cache: one span list per series (``c|`` keys).

    :class:`~tradedata.cache.Cache` owns one and exposes its methods (``coverage``,
    ``add_coverage``, ``remove_coverage``, ``missing_ranges``, ``provider_at``,
    ``covered_series``).
    """

    def __init__(self, db: Backend) -> None:
        self._db = db

    def spans(self, symbol: str, tf: str) -> list[Span]:
        """The stored spans of a series; an unreadable record is reset (with a warning)."""
        key = self._db.coverage_key(symbol, tf)
        try:
            items = self._db.get_json(key)
            return from_json(items or [])
        except (ValueError, TypeError) as exc:
            message = f"coverage record of {symbol} {tf} is unreadable ({exc}); it was reset"
            log.warning(message)
            warnings.warn(message, CacheCorruptionWarning, stacklevel=4)
            if self._db.read_only is None:  # a cache we may only read keeps it as it is
                self._db.delete(key)
            return []

    def _save(self, symbol: str, tf: str, spans: list[Span]) -> None:
        key = self._db.coverage_key(symbol, tf)
        if spans:
            self._db.set_json(key, [list(s) for s in spans])
        else:
            self._db.delete(key)

    def listing(self, symbol: str, timeframe: str) -> list[CoverageSpan]:
        """The fetched spans of a series, sorted and disjoint (inclusive bounds, UTC)."""
        return to_public(self.spans(symbol, parse_timeframe(timeframe).name))

    def add(
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
            spans = self.spans(symbol, tf.name)
            self._save(symbol, tf.name, add_span(spans, lo, hi, provider, when, Grid(tf)))

    def remove(self, symbol: str, timeframe: str, start: Any, end: Any) -> None:
        """Forget that ``[start, end]`` was fetched, so it is fetched again."""
        tf = parse_timeframe(timeframe)
        lo, hi = _range(start, end)
        with self._db.transact():
            spans = self.spans(symbol, tf.name)
            self._save(symbol, tf.name, remove_span(spans, lo, hi, Grid(tf)))

    def uncover_year(self, symbol: str, tf: str, year: int) -> None:
        """Inside a transaction: remove the coverage of one year (its partition is gone)."""
        first, after = year_bounds(year)
        self.remove(symbol, tf, pd.Timestamp(first, tz="UTC"), pd.Timestamp(after - 1, tz="UTC"))

    def missing_ranges(
        self, symbol: str, timeframe: str, start: Any, end: Any
    ) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
        """The parts of ``[start, end]`` never fetched, as ``(first, last)`` bar open times."""
        tf = parse_timeframe(timeframe)
        lo, hi = _range(start, end)
        holes = missing(self.spans(symbol, tf.name), lo, hi, Grid(tf))
        return [(pd.Timestamp(a, tz="UTC"), pd.Timestamp(b, tz="UTC")) for a, b in holes]

    def provider_at(self, symbol: str, timeframe: str, ts: Any) -> str | None:
        """The provider that supplied the bar at ``ts`` (None if that time was never fetched)."""
        tf = parse_timeframe(timeframe).name
        return provider_at(self.spans(symbol, tf), int(to_utc(ts).value))

    def covered_series(self) -> list[tuple[str, str, str]]:
        """``(source, symbol, timeframe)`` of every series with a coverage record, sorted."""
        found = []
        for key in self._db.keys("c|"):
            _, name, tf = key.split("|", 2)
            found.append((*split_store_name(name), tf))
        return sorted(found)
