"""A pause shared by every request to one exchange after it said "slow down".

The token bucket (:mod:`tradedata.adapters.resilience`) makes *new* reservations wait after a
429, but threads that reserved earlier may be asleep and about to send: on Binance a request
sent after a 429 in the same window earns a 418 ban. :class:`Cooldown` is checked right before
each request leaves, so once any thread sees ``Retry-After`` no other thread of this process
sends until it has passed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["Cooldown", "shared_cooldown"]


class Cooldown:
    """Blocks callers of :meth:`wait` until the latest :meth:`block` has expired."""

    def __init__(
        self,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._mono = monotonic
        self._sleep = sleep
        self._until = 0.0
        self._lock = threading.Lock()

    def block(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` from now (never shortens a longer pause)."""
        with self._lock:
            self._until = max(self._until, self._mono() + max(0.0, seconds))

    def remaining(self) -> float:
        """Seconds until requests may go again (0 when they may go now)."""
        with self._lock:
            return max(0.0, self._until - self._mono())

    def wait(self) -> float:
        """Sleep until the pause is over; returns the seconds slept."""
        slept = 0.0
        while (left := self.remaining()) > 0:
            self._sleep(left)
            slept += left
        return slept


_lock = threading.Lock()
_cooldowns: dict[str, Cooldown] = {}


def shared_cooldown(key: str) -> Cooldown:
    """The process-wide :class:`Cooldown` for ``key`` (an exchange and its endpoint)."""
    with _lock:
        cooldown = _cooldowns.get(key)
        if cooldown is None:
            cooldown = _cooldowns[key] = Cooldown()
        return cooldown
