"""Request-rate accounting as the exchanges do it, in fixed wall-clock windows.

Binance: each request adds its weight to the window's total (reported in ``X-MBX-USED-WEIGHT-1M``);
past the limit the answer is 429 with ``Retry-After``; a client that sends again before the window
resets is banned with 418 for ``ban_seconds``. Bybit: a count of requests per window; past it the
answer is ``retCode`` 10006 with the ``X-Bapi-Limit*`` headers.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

BINANCE_WEIGHT_PER_MINUTE = 6000
BYBIT_REQUESTS_PER_5S = 600


@dataclass(frozen=True)
class Verdict:
    """The limiter's answer for one request."""

    status: int  # 200, 429 or 418
    used: int
    limit: int
    retry_after: int  # whole seconds, 0 when allowed
    reset_at: float  # wall epoch seconds when the window (or ban) ends


class WindowLimiter:
    """Fixed windows of ``window`` wall seconds holding at most ``limit`` weight."""

    def __init__(self, limit: int, window: float, ban_seconds: float | None) -> None:
        self.limit = int(limit)
        self.window = float(window)
        self.ban_seconds = ban_seconds
        self._origin = time.monotonic()
        self._index = 0
        self._used = 0
        self._throttled = False
        self._banned_until = 0.0
        self._lock = threading.Lock()

    def configure(self, limit: int, window: float, ban_seconds: float | None) -> None:
        """Change the limits, keeping the weight used so far in this window."""
        with self._lock:
            if window != self.window:
                self._origin, self._index, self._used = time.monotonic(), 0, 0
            self.limit, self.window, self.ban_seconds = int(limit), float(window), ban_seconds

    def _roll(self, now: float) -> None:
        index = int((now - self._origin) // self.window)
        if index != self._index:
            self._index, self._used, self._throttled = index, 0, False

    def _wall(self, mono: float) -> float:
        return time.time() + (mono - time.monotonic())

    def charge(self, weight: int) -> Verdict:
        """Account one request of ``weight`` and say whether it may be served."""
        with self._lock:
            now = time.monotonic()
            self._roll(now)
            window_end = self._origin + (self._index + 1) * self.window
            if self._banned_until > now:
                wait = math.ceil(self._banned_until - now)
                return Verdict(418, self._used, self.limit, wait, self._wall(self._banned_until))
            if self._throttled and self.ban_seconds is not None:
                self._banned_until = now + self.ban_seconds
                self._throttled = False
                wait = math.ceil(self.ban_seconds)
                return Verdict(418, self._used, self.limit, wait, self._wall(self._banned_until))
            self._used += weight
            if self._used > self.limit:
                self._throttled = True
                wait = max(1, math.ceil(window_end - now))
                return Verdict(429, self._used, self.limit, wait, self._wall(window_end))
            return Verdict(200, self._used, self.limit, 0, self._wall(window_end))
