"""The exchange's clock, read now and then and carried forward locally in between.

A still-open candle must be judged on the exchange's clock, not ours: the machine's clock may be
off, and the simulator may run faster or slower than real time. :class:`ServerClock` asks the
exchange for its time at most every ``ttl`` seconds and in between extrapolates from the last
answer. The extrapolation never runs ahead of the exchange: the sample is anchored at the moment
the answer *arrived* (the server read its clock earlier), and time is carried forward at the rate
seen between the last two samples (none before there are two), never above real time, so an
exchange whose clock is frozen or slow is never assumed to have closed a candle it has not. Being
behind costs nothing worse than leaving a just-closed bar for the next fetch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pandas as pd

__all__ = ["ServerClock"]


class ServerClock:
    """Server time from ``fetch_ms`` (epoch ms), cached for ``ttl`` wall seconds."""

    def __init__(
        self,
        fetch_ms: Callable[[], int],
        ttl: float = 10.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch_ms
        self.ttl = ttl
        self._mono = monotonic
        self._lock = threading.Lock()
        self._sample: tuple[float, int] | None = None  # (local monotonic, server ms)
        self._rate = 0.0  # server ms per local ms: unknown (0) until two samples, at most 1

    def _refresh(self) -> tuple[float, int]:
        server = int(self._fetch())
        local = self._mono()
        previous = self._sample
        if previous is not None and local - previous[0] >= 0.5:
            observed = (server - previous[1]) / ((local - previous[0]) * 1000.0)
            self._rate = min(1.0, max(0.0, observed))
        self._sample = (local, server)
        return self._sample

    def now_ms(self) -> int:
        """The exchange's time in epoch ms (never ahead of it, given the samples)."""
        with self._lock:
            sample = self._sample
            if sample is None or self._mono() - sample[0] >= self.ttl:
                sample = self._refresh()
            local, server = sample
            elapsed_ms = max(0.0, (self._mono() - local) * 1000.0)
            return server + int(elapsed_ms * self._rate)

    def now(self) -> pd.Timestamp:
        """The exchange's time as a UTC Timestamp."""
        return pd.Timestamp(self.now_ms(), unit="ms", tz="UTC")

    def invalidate(self) -> None:
        """Forget the cached sample, so the next reading asks the exchange."""
        with self._lock:
            self._sample = None
