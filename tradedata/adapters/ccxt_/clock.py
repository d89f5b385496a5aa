"""The exchange's clock, read now and then and carried forward locally, held to our own clock.

A still-open candle must be judged on the exchange's clock, not ours alone: the machine's clock
may be off, and the simulator may run faster or slower than real time. But the exchange's clock
may be wrong too (a ``/time`` answer minutes ahead would make the still-open candle look closed).
So a bar counts as closed only when *both* clocks say its period ended: :class:`ServerClock`
reports the earlier of the exchange's time and the local time plus a bounded skew
(``max_skew`` seconds, measured on every reading; a larger lead is logged as a warning and not
believed).

The exchange is asked for its time at most every ``ttl`` seconds; in between its time is
extrapolated from the last answer. The extrapolation never runs ahead of the exchange: the
sample is anchored at the moment the answer *arrived* (the server read its clock earlier), and
time is carried forward at the rate seen between the last two samples (none before there are
two), never above real time, so an exchange whose clock is frozen or slow is never assumed to
have closed a candle it has not. Being behind costs nothing worse than leaving a just-closed bar
for the next fetch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import pandas as pd

__all__ = ["DEFAULT_MAX_SKEW", "ServerClock"]

log = logging.getLogger("tradedata")

#: Seconds the exchange's clock may lead ours and still be believed (NTP-synced machines and
#: exchanges agree to well under a second; a few seconds absorb a slow local clock).
DEFAULT_MAX_SKEW = 5.0


class ServerClock:
    """Server time from ``fetch_ms`` (epoch ms), cached for ``ttl`` wall seconds.

    ``max_skew`` (seconds, None: unbounded) is how far the exchange's clock may lead the local
    clock ``wall`` (epoch seconds) before :meth:`now_ms` falls back to local time + ``max_skew``.
    :attr:`skew` and :attr:`round_trip` are the last measurement (seconds; skew > 0: the
    exchange is ahead), None before the first reading.
    """

    def __init__(
        self,
        fetch_ms: Callable[[], int],
        ttl: float = 10.0,
        *,
        max_skew: float | None = DEFAULT_MAX_SKEW,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        name: str = "exchange",
    ) -> None:
        self._fetch = fetch_ms
        self.ttl = ttl
        self.max_skew = max_skew
        self.name = name
        self._mono = monotonic
        self._wall = wall
        self._lock = threading.Lock()
        self._sample: tuple[float, int] | None = None  # (local monotonic, server ms)
        self._rate = 0.0  # server ms per local ms: unknown (0) until two samples, at most 1
        self.skew: float | None = None
        self.round_trip: float | None = None
        self._warned = False

    def _refresh(self) -> tuple[float, int]:
        wall_before, mono_before = self._wall(), self._mono()
        server = int(self._fetch())
        local = self._mono()
        wall_after = self._wall()
        self._measure(server, wall_before, wall_after, local - mono_before)
        previous = self._sample
        if previous is not None and local - previous[0] >= 0.5:
            observed = (server - previous[1]) / ((local - previous[0]) * 1000.0)
            self._rate = min(1.0, max(0.0, observed))
        self._sample = (local, server)
        return self._sample

    def _measure(self, server_ms: int, wall_before: float, wall_after: float, rtt: float) -> None:
        """Skew = server time - local time at the middle of the round trip (± rtt / 2)."""
        self.round_trip = max(0.0, rtt)
        self.skew = server_ms / 1000.0 - (wall_before + wall_after) / 2.0
        if self.max_skew is None:
            return
        ahead = self.skew - self.round_trip / 2.0  # the least the exchange can be ahead by
        if ahead > self.max_skew and not self._warned:
            self._warned = True
            log.warning(
                "%s clock is %.1f s ahead of this machine's (round trip %.3f s, more than the "
                "%.1f s accepted): candles are judged closed by the local clock + %.1f s",
                self.name, self.skew, self.round_trip, self.max_skew, self.max_skew,
            )  # fmt: skip
        elif ahead <= self.max_skew and self._warned:
            self._warned = False
            log.info("%s clock agrees with ours again (skew %.1f s)", self.name, self.skew)

    def server_ms(self) -> int:
        """The exchange's own time in epoch ms, extrapolated (never ahead of its answers)."""
        with self._lock:
            sample = self._sample
            if sample is None or self._mono() - sample[0] >= self.ttl:
                sample = self._refresh()
            local, server = sample
            elapsed_ms = max(0.0, (self._mono() - local) * 1000.0)
            return server + int(elapsed_ms * self._rate)

    def now_ms(self) -> int:
        """The time by which a candle counts as closed: the exchange's, held to ours + skew."""
        server = self.server_ms()
        if self.max_skew is None:
            return server
        return min(server, int((self._wall() + self.max_skew) * 1000.0))

    def now(self) -> pd.Timestamp:
        """:meth:`now_ms` as a UTC Timestamp."""
        return pd.Timestamp(self.now_ms(), unit="ms", tz="UTC")

    def invalidate(self) -> None:
        """Forget the cached sample, so the next reading asks the exchange."""
        with self._lock:
            self._sample = None
