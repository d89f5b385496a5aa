"""Joining history and a live stream into one series: no missing bar, no repeated bar.

:class:`Seam` is pure bookkeeping, with no threads or I/O. Bars come from three places: the
backfill (:meth:`Seam.start`), the live stream (:meth:`Seam.live`) and REST fills of holes
(:meth:`Seam.filled`). The seam releases bars strictly in open-time order, each exactly once:

* live bars that arrive before the backfill is applied, or while a fill is running, wait;
* a live bar that repeats or precedes the last released bar is dropped;
* a live bar that leaves a hole after the last released bar waits, and :meth:`Seam.wanted`
  names the hole to fetch over REST; the fill's bars are released, then the waiting bars
  (bars the exchange itself does not have are not waited for);
* after a reconnection, :meth:`Seam.catch_up` asks for everything that closed meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pandas as pd

from tradedata.feeds.live.model import LiveBar
from tradedata.model import Timeframe

__all__ = ["FillRequest", "Seam", "step_functions"]

#: A REST fill: bars opening in ``[start, end]`` (epoch ms); ``end`` None means "up to the
#: newest closed bar the exchange serves".
FillRequest = tuple[int, int | None]


def step_functions(timeframe: Timeframe) -> tuple[Callable[[int], int], Callable[[int], int]]:
    """``(next_open, previous_open)`` on epoch ms for bars of ``timeframe``."""
    if timeframe.unit != "M":
        step = timeframe.milliseconds
        return (lambda ms: ms + step), (lambda ms: ms - step)

    def forward(ms: int) -> int:
        ts = pd.Timestamp(ms, unit="ms", tz="UTC")
        return int(timeframe.next_open(ts).value // 1_000_000)

    def backward(ms: int) -> int:
        ts = pd.Timestamp(ms, unit="ms", tz="UTC") - pd.Timedelta(milliseconds=1)
        return int(timeframe.floor(ts).value // 1_000_000)

    return forward, backward


class Seam:
    """Orders the closed bars of one series (see the module docstring)."""

    def __init__(self, timeframe: Timeframe) -> None:
        self.next_open, self.prev_open = step_functions(timeframe)
        self.last: int | None = None  # open ms of the last released bar
        self.ready = False  # the backfill has been applied
        self.filling: FillRequest | None = None  # a REST fill in flight
        self._pending: dict[int, LiveBar] = {}
        self._catch_up = False

    @property
    def pending(self) -> int:
        """Live bars waiting for the backfill or a fill."""
        return len(self._pending)

    @property
    def idle(self) -> bool:
        """True when nothing waits and nothing is being fetched."""
        return self.ready and self.filling is None and not self._pending and not self._catch_up

    def start(self, history: Iterable[LiveBar]) -> list[LiveBar]:
        """Apply the backfill; returns the bars to release (history, then waiting live bars)."""
        out = self._take(history)
        self.ready = True
        return out + self._drain()

    def live(self, bar: LiveBar) -> list[LiveBar]:
        """A closed bar from the stream; returns the bars that can be released now."""
        if self.last is not None and bar.open_ms <= self.last:
            return []  # already released (from history, a fill or an earlier message)
        self._pending[bar.open_ms] = bar
        if not self.ready or self.filling is not None:
            return []
        self._catch_up = False  # the hole before this bar, if any, is what was missed
        return self._drain()

    def catch_up(self) -> None:
        """Ask for every bar closed since the last released one (after a reconnection).

        Not needed when live bars are already waiting: the hole before them is the fill.
        """
        if self.last is not None and not self._pending:
            self._catch_up = True

    def wanted(self) -> FillRequest | None:
        """The REST fill to start now (and mark as in flight), or None."""
        if not self.ready or self.filling is not None or self.last is None:
            return None
        after = self.next_open(self.last)
        if self._pending:
            first = min(self._pending)
            if first > after:
                self.filling = (after, self.prev_open(first))
            return self.filling
        if self._catch_up:
            self.filling = (after, None)
        return self.filling

    def filled(self, bars: Iterable[LiveBar]) -> list[LiveBar]:
        """Apply the bars of the fill in flight; returns the bars to release.

        A hole is closed by its fill even where the exchange has no bars (it had no trades,
        or the fill was given up and reported): the waiting live bars follow.
        """
        request = self.filling
        self.filling = None
        out = self._take(bars)
        if request is not None and request[1] is None:
            self._catch_up = False
        elif request is not None and self._pending:
            first = min(self._pending)
            if self.last is None or first > self.next_open(self.last):
                self.last = self.prev_open(first)
        return out + self._drain()

    def _take(self, bars: Iterable[LiveBar]) -> list[LiveBar]:
        out = []
        for bar in sorted(bars, key=lambda b: b.open_ms):
            if self.last is None or bar.open_ms > self.last:
                out.append(bar)
                self.last = bar.open_ms
        return out

    def _drain(self) -> list[LiveBar]:
        out: list[LiveBar] = []
        if self.filling is not None:
            return out
        while self._pending:
            first = min(self._pending)
            if self.last is not None and first <= self.last:
                del self._pending[first]
            elif self.last is None or first == self.next_open(self.last):
                out.append(self._pending.pop(first))
                self.last = first
            else:
                break
        return out
