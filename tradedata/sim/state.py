"""What the protocol handlers share: clock, markets, faults, dice, counters and stream settings."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from tradedata.sim.clock import SimClock
from tradedata.sim.faults import FaultDice, Faults, StatsRecorder
from tradedata.sim.market import Market
from tradedata.sim.ratelimit import WindowLimiter


@dataclass(frozen=True)
class StreamSettings:
    """Websocket pacing.

    ``update_interval``: sim seconds between updates of an open candle (Binance pushes every
    2 s); ``min_interval``: the least wall time between two updates of one stream, so that high
    speeds do not flood clients (bar closes are never skipped); ``ping_interval``: wall seconds
    between server ping frames (Binance: 20 s), None for none.
    """

    update_interval: float = 2.0
    min_interval: float = 0.25
    ping_interval: float | None = 20.0

    def wall_interval(self, speed: float) -> float:
        """Wall seconds between two updates of an open candle."""
        sim = self.update_interval / speed if speed > 0 else self.update_interval
        return max(self.min_interval, sim)


@dataclass
class SimState:
    """Shared state of one running simulator; markets keyed by exchange then market id."""

    clock: SimClock
    markets: dict[str, dict[str, Market]]
    faults: Faults
    dice: FaultDice
    stats: StatsRecorder
    streams: StreamSettings
    limiters: dict[str, WindowLimiter] = field(default_factory=dict)
    sessions: set[Any] = field(default_factory=set)  # open StreamSessions
    lock: threading.Lock = field(default_factory=threading.Lock)

    def served_ms(self) -> int:
        """The time the exchange's time endpoints report: sim time + ``Faults.time_offset``."""
        return self.clock.now_ms() + int(self.faults.time_offset * 1000)

    def market(self, exchange: str, market_id: str) -> Market | None:
        """The market with exchange id ``market_id`` (e.g. ``BTCUSDT``), or None."""
        return self.markets.get(exchange, {}).get(market_id.upper())
