"""The simulator's clock: sim time = start + wall time elapsed since the server started * speed.

Candles follow this clock; the time the exchanges *report* (``/api/v3/time``, ``/v5/market/time``,
``serverTime``) is this clock shifted by ``Faults.time_offset`` (see ``SimState.served_ms``), to
rehearse an exchange whose time endpoint is off.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

import pandas as pd

from tradedata.errors import InputError, InvalidDateRangeError
from tradedata.model import to_utc


def to_ms(value: pd.Timestamp | datetime | str | int | float) -> int:
    """Epoch ms from a timestamp, datetime, ISO string or epoch-ms number (naive means UTC)."""
    if isinstance(value, bool):
        raise InvalidDateRangeError("a bool is not a time")
    if isinstance(value, (int, float)):
        return int(value)
    return int(to_utc(value).value // 1_000_000)


class SimClock:
    """Thread-safe sim time in epoch ms; frozen at ``start`` until :meth:`begin` is called.

    ``speed`` 0 freezes time (advance it with :meth:`advance`), 60 makes a sim minute last one
    wall second. ``start`` None means "the wall time when the clock begins".
    """

    def __init__(self, start_ms: int | None = None, speed: float = 1.0) -> None:
        if speed < 0:
            raise InputError("speed must be >= 0")
        self.speed = float(speed)
        self._start_ms = start_ms
        self._anchor: float | None = None
        self._lock = threading.Lock()

    def begin(self) -> None:
        """Start the clock running (idempotent)."""
        with self._lock:
            if self._anchor is None:
                if self._start_ms is None:
                    self._start_ms = int(time.time() * 1000)
                self._anchor = time.monotonic()

    def now_ms(self) -> int:
        """Current sim time in epoch milliseconds."""
        with self._lock:
            start = self._start_ms if self._start_ms is not None else int(time.time() * 1000)
            if self._anchor is None:
                return start
            return start + int((time.monotonic() - self._anchor) * self.speed * 1000.0)

    def advance(self, seconds: float) -> None:
        """Jump sim time forward by ``seconds`` of sim time."""
        if seconds < 0:
            raise InputError("the clock only moves forward")
        with self._lock:
            if self._start_ms is None:
                self._start_ms = int(time.time() * 1000)
            self._start_ms += int(seconds * 1000)

    def wall_seconds_until(self, target_ms: int) -> float | None:
        """Wall seconds until sim time reaches ``target_ms`` (None if the clock is frozen)."""
        if self.speed == 0:
            return None
        return max(0.0, (target_ms - self.now_ms()) / (self.speed * 1000.0))
