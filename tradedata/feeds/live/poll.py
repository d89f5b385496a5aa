"""Live bars by REST polling, for exchanges without a websocket dialect (or when asked to).

A :class:`RestPoller` runs one daemon thread per store. Polls are aligned to candle closes by
the exchange's clock (``poll_delay`` seconds after the next close of any series, at most
``poll_interval`` seconds apart). Each poll asks every idle series for the bars closed since its
last one; they are fetched through the DataManager (and so cached) and delivered as live bars.
A poll that fails is a broken connection: series hear ``broken``, polls are retried with
exponential backoff, ``reconnected`` follows the first success, and ``disconnected`` ends the
series after ``max_retries`` failed tries in a row.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import pandas as pd

from tradedata.errors import TradeDataError
from tradedata.feeds.live.model import Connection, LiveSettings, StoreNotice, backoff_delay
from tradedata.feeds.live.series import LiveSeries

__all__ = ["RestPoller"]


class RestPoller:
    """Polls the closed bars of every added series (see the module docstring)."""

    def __init__(
        self,
        exchange: str,
        settings: LiveSettings,
        now: Callable[[], pd.Timestamp],
        notice: Callable[[StoreNotice], None],
    ) -> None:
        self.exchange = exchange
        self.settings = settings
        self.polls = 0
        self._now = now
        self._notice = notice
        self._series: tuple[LiveSeries, ...] = ()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._rng = random.Random()
        self._failures = 0
        self._thread = threading.Thread(
            target=self._run, name=f"tradedata-poll-{exchange}", daemon=True
        )
        self._thread.start()

    def add(self, series: LiveSeries) -> None:
        """Poll ``series`` from now on."""
        with self._lock:
            self._series = (*self._series, series)
        series.on_event(Connection.BROKEN if self._failures else Connection.CONNECTED)

    def remove(self, series: LiveSeries) -> None:
        """Stop polling ``series``."""
        with self._lock:
            self._series = tuple(s for s in self._series if s is not series)

    def close(self, timeout: float = 5.0) -> None:
        """End the polling thread."""
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            error = self._poll_all()
            wait = self._aligned_wait() if error is None else self._failed(error)
            if wait is None:
                return
            self._stop.wait(wait)

    def _poll_all(self) -> TradeDataError | None:
        """One poll of every series; returns the last error (None: all went well)."""
        self.polls += 1
        error = None
        for series in self._series:
            request = series.poll_request()
            if request is None or self._stop.is_set():
                continue
            failed = series.run_fill(request, retries=0)
            error = failed or error
        if error is None and self._failures:
            self._failures = 0
            self._broadcast(Connection.RECONNECTED)
            self._notice(StoreNotice(self.exchange, "reconnected", "polling"))
        return error

    def _failed(self, error: TradeDataError) -> float | None:
        """Count a failed poll; returns the wait before the next, None after giving up."""
        self._failures += 1
        if self._failures == 1:
            self._broadcast(Connection.BROKEN, str(error))
            self._notice(StoreNotice(self.exchange, "broken", f"polling: {error}"))
        s = self.settings
        if self._failures > s.max_retries:
            self._broadcast(Connection.DISCONNECTED, str(error))
            self._notice(
                StoreNotice(self.exchange, "disconnected", f"gave up polling after: {error}")
            )
            return None
        delay = backoff_delay(
            self._failures, s.reconnect_delay, s.reconnect_max_delay, self._rng.random()
        )
        detail = f"polling try {self._failures}/{s.max_retries} in {delay:.2f} s"
        self._notice(StoreNotice(self.exchange, "reconnecting", detail))
        return delay

    def _aligned_wait(self) -> float:
        """Seconds until just after the next candle close of any series (capped)."""
        s = self.settings
        series = self._series
        if not series:
            return s.poll_interval
        try:
            now = self._now()
        except TradeDataError:
            return s.poll_interval
        closes = [x.timeframe.next_open(now) for x in series]
        until = (min(closes) - now).total_seconds() + s.poll_delay
        return max(0.0, min(s.poll_interval, until))

    def _broadcast(self, event: str, detail: str = "") -> None:
        for series in self._series:
            series.on_event(event, detail)
