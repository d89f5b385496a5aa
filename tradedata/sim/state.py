"""What the protocol handlers share: clock, markets, faults, dice, counters and stream settings."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from tradedata.errors import InputError
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

    ``close_delay``: sim seconds after a candle's end before its closed message goes out. Real
    Binance sends the ``"x":true`` kline 1-2 s late: event times 1.39 s and 2.39 s after the
    end on spot (cryptofeed sample_data/BINANCE.ws.1.0 at commit cca7f121, FTMUSDT and SXPBTC
    1m), 1.76 s on Binance US (sample_data/BINANCE_US.ws.1.0 at 906605df, OMGBUSD 1m). No
    public Bybit recording with its timing was found; Bybit streams use the same setting.

    ``connection_lifetime``: wall seconds after which the server closes a Binance stream
    connection: "A single connection to stream.binance.com is only valid for 24 hours; expect
    to be disconnected at the 24 hour mark" (Binance spot docs, web-socket-streams.md,
    General WSS information). Set it to seconds in tests; None never cuts.
    """

    update_interval: float = 2.0
    min_interval: float = 0.25
    ping_interval: float | None = 20.0
    close_delay: float = 1.7
    connection_lifetime: float | None = 24 * 3600.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.close_delay < 60.0:
            raise InputError(f"close_delay must be within [0, 60) seconds, got {self.close_delay}")
        if self.connection_lifetime is not None and not self.connection_lifetime > 0:
            raise InputError("connection_lifetime must be > 0 seconds (or None)")

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
