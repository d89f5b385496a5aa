"""One live series (symbol, timeframe) between its sources and its backtrader feed.

A :class:`LiveSeries` receives closed bars from the websocket hub (on the hub's event-loop
thread) or from the REST poller, and connection events from either; it runs REST backfills and
fills on the store's :class:`Workers`, and puts bars and status items, in order, on the feed's
thread-safe queue. The ordering rules live in :class:`~tradedata.feeds.live.seam.Seam`; this
module is the locking and scheduling around it.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tradedata.errors import TradeDataError
from tradedata.feeds.live.model import (
    ARRIVALS,
    Connection,
    DataStatus,
    LiveBar,
    LiveSettings,
    StatusItem,
    StoreNotice,
    backoff_delay,
)
from tradedata.feeds.live.rest import LiveCacheWriter, RestSource
from tradedata.feeds.live.seam import FillRequest, Seam
from tradedata.model import Timeframe

__all__ = ["Backfill", "LiveSeries", "Workers"]

log = logging.getLogger("tradedata.live")

#: Longest wait between two attempts to fetch missed bars.
FILL_MAX_DELAY = 2.0


class Workers:
    """A few daemon threads running submitted jobs (REST backfills, fills, cache writes)."""

    def __init__(self, count: int, name: str) -> None:
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._run, name=f"{name}-{i}", daemon=True)
            for i in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job()`` on a worker thread."""
        self._jobs.put(job)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                job()
            except Exception:  # a failing job must not kill the worker
                log.exception("live worker job failed")

    def stop(self, timeout: float = 5.0) -> None:
        """Let queued jobs finish, then end the threads (waiting up to ``timeout`` in all; a
        thread still stuck in a network call is a daemon and ends with it)."""
        for _ in self._threads:
            self._jobs.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))


@dataclass(frozen=True)
class Backfill:
    """What to fetch before going live: ``bars`` closed bars, or from ``start_ms`` on."""

    enabled: bool = True
    bars: int = 500
    start_ms: int | None = None


class LiveSeries:
    """The live bars of one (symbol, timeframe) for one feed."""

    def __init__(
        self,
        *,
        exchange: str,
        source: RestSource,
        out: queue.Queue[Any],
        workers: Workers,
        settings: LiveSettings,
        notice: Callable[[StoreNotice], None],
        cache: LiveCacheWriter | None = None,
        polled: bool = False,
        historical: bool = False,
    ) -> None:
        self.exchange = exchange
        self.source = source
        self.symbol = source.symbol
        self.timeframe: Timeframe = source.timeframe
        self.out = out
        self.seam = Seam(self.timeframe)
        self.polled = polled
        self.historical = historical
        self.connected = False
        self.closed = False
        self._workers = workers
        self._settings = settings
        self._notice = notice
        self._cache = cache
        self._lock = threading.RLock()
        self._rng = random.Random()
        self._stop = threading.Event()
        self._live_posted = False

    def __repr__(self) -> str:
        return f"<LiveSeries {self.exchange} {self.symbol} {self.timeframe}>"

    # -- lifecycle ---------------------------------------------------------------------------
    def begin(self, backfill: Backfill) -> None:
        """Fetch the backfill on a worker (or go live at once without one)."""
        if not backfill.enabled:
            if self.polled:
                self._workers.submit(self._start_polled_without_history)
            else:
                with self._lock:
                    self._release(self.seam.start([]))
                    self._after_change()
            return
        self._workers.submit(lambda: self._backfill(backfill))

    def close(self) -> None:
        """Stop delivering (pending REST work is abandoned)."""
        self.closed = True
        self._stop.set()

    # -- sink interface (hub / poller threads) ------------------------------------------------
    def on_bar(self, bar: LiveBar) -> None:
        """A closed bar from the stream."""
        if self.closed:
            return
        with self._lock:
            self._release(self.seam.live(bar))
            self._after_change()

    def on_event(self, event: str, detail: str = "") -> None:
        """A connection event (see :class:`~tradedata.feeds.live.model.Connection`)."""
        if self.closed:
            return
        with self._lock:
            if event == Connection.BROKEN:
                self.connected = False
                self._live_posted = False
                self._put(StatusItem(DataStatus.CONNBROKEN))
            elif event in (Connection.CONNECTED, Connection.RECONNECTED):
                self.connected = True
                if event == Connection.RECONNECTED:
                    self.seam.catch_up()
                self._after_change()
            elif event == Connection.DISCONNECTED:
                self._put(StatusItem(DataStatus.DISCONNECTED, final=True))
                self.closed = True
            elif event == Connection.REFUSED:
                self._put(StatusItem(DataStatus.NOTSUBSCRIBED, final=True))
                self.closed = True

    # -- polling ------------------------------------------------------------------------------
    def poll_request(self) -> FillRequest | None:
        """For the poller: the fetch that brings this series up to date, or None if busy."""
        with self._lock:
            if self.closed or not self.seam.ready:
                return None
            self.seam.catch_up()
            return self.seam.wanted()

    def run_fill(self, request: FillRequest, *, retries: int) -> TradeDataError | None:
        """Fetch ``request`` over REST (retrying), release the bars; returns the last error."""
        bars: list[LiveBar] = []
        complete, error = False, None
        attempt = 0
        while not self.closed:
            try:
                bars, complete = self.source.closed_bars(*request)
                error = None
            except TradeDataError as exc:
                error = exc
            if complete or attempt >= retries:
                break
            attempt += 1
            self._sleep(attempt)
        live = self.polled and self.seam.ready
        with self._lock:
            if self.closed:
                return error
            gave_up = not complete and request[1] is not None
            if gave_up:
                self._gap(request, error)
            taken = [b._replace(live=live) for b in bars]
            self._release(self.seam.filled(taken))
            self._after_change()
        return error

    # -- internals ----------------------------------------------------------------------------
    def _sleep(self, attempt: int) -> None:
        s = self._settings
        delay = backoff_delay(attempt, s.fill_delay, FILL_MAX_DELAY, self._rng.random())
        self._stop.wait(delay)

    def _start_polled_without_history(self) -> None:
        try:
            after = self.source.last_closed_ms()
        except TradeDataError as exc:
            self._notice(StoreNotice(self.exchange, "error", f"{self.symbol}: {exc}"))
            after = None
        with self._lock:
            self._release(self.seam.start([]))
            if after is not None:
                self.seam.last = after  # bars up to now are history nobody asked for
            self._after_change()

    def _backfill(self, backfill: Backfill) -> None:
        bars: list[LiveBar] = []
        start = backfill.start_ms
        attempt = 0
        while not self.closed:
            error: TradeDataError | None = None
            try:
                if start is None:
                    start = self.source.last_closed_ms()
                    for _ in range(max(0, backfill.bars - 1)):
                        start = self.seam.prev_open(start)
                bars, complete = self.source.closed_bars(start, None)
            except TradeDataError as exc:
                complete, error = False, exc
            if complete:
                break
            attempt += 1
            if attempt > self._settings.fill_retries:
                why = str(error) if error is not None else "the backfill stayed incomplete"
                self._notice(StoreNotice(self.exchange, "error", f"{self.symbol}: {why}"))
                break
            self._sleep(attempt)
        with self._lock:
            if self.closed:
                return
            self._release(self.seam.start([b._replace(live=False) for b in bars]))
            if self.historical:
                self._put(StatusItem(DataStatus.DISCONNECTED, final=True))
                self.closed = True
                return
            self._after_change()

    def _gap(self, request: FillRequest, error: TradeDataError | None) -> None:
        start, end = request
        detail = f"{self.symbol} {self.timeframe}: bars {start}..{end} could not be fetched"
        if error is not None:
            detail += f": {error}"
        self._notice(StoreNotice(self.exchange, "gap", detail))

    def _put(self, item: Any) -> None:
        self.out.put(item)
        ARRIVALS.notify()

    def _release(self, bars: list[LiveBar]) -> None:
        """Queue released bars for the feed (inside the lock: keeps their order)."""
        for bar in bars:
            self._put(bar)
            if self._cache is not None and bar.received is not None:
                self._cache.add(self.symbol, self.timeframe, bar)

    def _after_change(self) -> None:
        """Start the next fill if one is wanted; report LIVE once caught up."""
        request = self.seam.wanted()
        if request is not None:
            self._live_posted = False
            retries = self._settings.fill_retries

            def fill() -> None:
                self.run_fill(request, retries=retries)

            self._workers.submit(fill)
        elif self.seam.idle and self.connected and not self._live_posted:
            self._live_posted = True
            self._put(StatusItem(DataStatus.LIVE))
