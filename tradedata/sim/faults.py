"""Fault injection settings, the seeded dice that apply them, and the simulator's counters.

:class:`Faults` is frozen; change faults while running with ``ExchangeSimulator.set_faults``. The
:class:`FaultDice` draws from one seeded RNG, so a run with the same seed and the same request
order injects the same faults. :class:`SimStats` counts what was served and injected.
"""

from __future__ import annotations

import copy
import math
import random
import threading
from collections import Counter
from dataclasses import dataclass, field, fields

from tradedata.errors import InputError

ERROR_STATUSES = (500, 502, 503, 504)
BODY_FAULTS = ("malformed", "truncated", "empty", "slow")


@dataclass(frozen=True)
class Faults:
    """What goes wrong, and how often. Rates are probabilities per request (or per ws message).

    - ``error_rate``: answer 500/502/503/504 (chosen at random) instead of the real response.
    - ``latency``: seconds of delay before every HTTP response.
    - ``slow_body_rate``: dribble the body in ``slow_body_chunks`` chunks, ``slow_body_delay``
      seconds apart.
    - ``truncate_rate``: send part of the body; half the time Content-Length promises the whole
      body and the connection is cut, half the time the cut JSON is all there is.
    - ``malformed_rate``: a body that is not valid JSON.
    - ``empty_rate``: a kline request answers a valid empty page (``[]`` / ``"list": []``).
    - ``rate_limit``: Binance request weight (Bybit: requests) allowed per ``rate_window``
      seconds; None keeps each exchange's own (Binance 6000 weight per 60 s, Bybit 600 requests
      per 5 s). ``ban_seconds`` is how long a Binance client that ignores a 429 gets 418s.
    - ``ws_drop_every`` / ``ws_drop_rate``: abort the websocket (no close frame) after every N
      data messages / with this probability per message.
    - ``ws_silence_every`` / ``ws_silence_rate``: then send nothing for ``ws_silence_seconds``
      (wall) without closing; bars that closed meanwhile are sent when the silence ends.
    - ``time_offset``: seconds added to the time the exchange *says* it is (Binance
      ``/api/v3/time`` and ``serverTime``, Bybit ``/v5/market/time`` and the envelope's
      ``time``); may be negative. The candles themselves keep following the true sim clock, as
      on an exchange whose time endpoint is off.
    - ``paths``: if not empty, HTTP faults hit only paths containing one of these strings.
    """

    error_rate: float = 0.0
    latency: float = 0.0
    slow_body_rate: float = 0.0
    slow_body_chunks: int = 8
    slow_body_delay: float = 0.05
    truncate_rate: float = 0.0
    malformed_rate: float = 0.0
    empty_rate: float = 0.0
    rate_limit: int | None = None
    rate_window: float | None = None
    ban_seconds: float = 120.0
    ws_drop_every: int | None = None
    ws_drop_rate: float = 0.0
    ws_silence_every: int | None = None
    ws_silence_rate: float = 0.0
    ws_silence_seconds: float = 0.0
    time_offset: float = 0.0
    paths: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_rate") and not 0.0 <= value <= 1.0:
                raise InputError(f"{f.name} must be within [0, 1], got {value}")
            if f.name == "time_offset":
                if not math.isfinite(value):
                    raise InputError(f"time_offset must be finite, got {value}")
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise InputError(f"{f.name} must be >= 0, got {value}")
        if self.slow_body_chunks < 1:
            raise InputError("slow_body_chunks must be >= 1")
        for name in ("ws_drop_every", "ws_silence_every", "rate_limit", "rate_window"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise InputError(f"{name} must be > 0 when set")

    def applies_to(self, path: str) -> bool:
        """True if HTTP faults apply to a request for ``path``."""
        return not self.paths or any(p in path for p in self.paths)


@dataclass
class SimStats:
    """Counters of what the simulator served and injected (read a copy via ``sim.stats``)."""

    requests: int = 0
    by_path: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    http_429: int = 0
    http_418: int = 0
    bybit_rate_limited: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    bars_served: int = 0
    unknown_paths: Counter[str] = field(default_factory=Counter)
    ws_connections: int = 0
    ws_open: int = 0
    ws_messages: int = 0
    ws_subscriptions: int = 0


class StatsRecorder:
    """Thread-safe holder of one :class:`SimStats`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stats = SimStats()

    def add(self, name: str, amount: int = 1) -> None:
        """Increase the integer counter ``name``."""
        with self._lock:
            setattr(self._stats, name, getattr(self._stats, name) + amount)

    def count(self, name: str, key: object, amount: int = 1) -> None:
        """Increase entry ``key`` of the Counter ``name``."""
        with self._lock:
            getattr(self._stats, name)[key] += amount

    def snapshot(self) -> SimStats:
        """A deep copy, safe to read while the server runs."""
        with self._lock:
            return copy.deepcopy(self._stats)

    def reset(self) -> None:
        """Zero every counter except the number of open websockets."""
        with self._lock:
            still_open = self._stats.ws_open
            self._stats = SimStats(ws_open=still_open)


class FaultDice:
    """Seeded draws deciding which fault (if any) hits a request or a websocket message."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def http_error(self, faults: Faults) -> int | None:
        """A 5xx status to answer instead of the real response, or None."""
        if faults.error_rate and self._rng.random() < faults.error_rate:
            return self._rng.choice(ERROR_STATUSES)
        return None

    def body_fault(self, faults: Faults, is_page: bool) -> str | None:
        """One of :data:`BODY_FAULTS` for this response, or None (at most one fault per body)."""
        rates = (
            ("malformed", faults.malformed_rate),
            ("truncated", faults.truncate_rate),
            ("empty", faults.empty_rate if is_page else 0.0),
            ("slow", faults.slow_body_rate),
        )
        for kind, rate in rates:
            if rate and self._rng.random() < rate:
                return kind
        return None

    def chance(self, rate: float) -> bool:
        """True with probability ``rate``."""
        return bool(rate) and self._rng.random() < rate

    def cut_point(self, length: int) -> int:
        """Where to cut a body of ``length`` bytes (never the whole body)."""
        return self._rng.randrange(0, max(1, length - 1)) if length > 1 else 0
