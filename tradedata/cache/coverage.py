"""Coverage: which time ranges of a series were fetched, from which provider, when.

Coverage tells "the market had no trades here" (covered, no bars) from "we never fetched this"
(not covered). Spans are inclusive ``[start, end]`` instants (int ns internally), sorted and
disjoint. Bar open times are taken on the timeframe's epoch-aligned grid (as exchanges align
them): two spans with no bar open strictly between them *touch*; same-provider spans that
overlap or touch are merged (keeping the latest ``fetched_at``); a newer span from another
provider replaces the older one where they overlap, so the last fetch wins as it does for bars.
Removing a range uncovers every bar open inside it (leftover spans are cut at bar opens).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from tradedata.model import Timeframe

__all__ = ["CoverageSpan", "Grid", "Span", "add_span", "missing", "provider_at", "remove_span"]

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
