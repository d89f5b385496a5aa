"""What the live machinery passes around: closed bars, status items, settings and store notices.

Nothing here imports backtrader, websockets or ccxt: the pieces are plain data, shared by the
websocket hub (:mod:`~tradedata.feeds.live.hub`), the REST poller
(:mod:`~tradedata.feeds.live.poll`), the per-feed series (:mod:`~tradedata.feeds.live.series`)
and the backtrader feed (:mod:`~tradedata.feeds.live.feed`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from tradedata.errors import ConfigurationError

if TYPE_CHECKING:
    import queue

    from tradedata.model import Timeframe

__all__ = [
    "ARRIVALS",
    "MODES",
    "Arrivals",
    "Connection",
    "DataStatus",
    "LiveBar",
    "LiveSettings",
    "ServedFeed",
    "Sink",
    "StatusItem",
    "StoreNotice",
    "backoff_delay",
]

#: How a store gets live bars: ``auto`` (websocket where the exchange has a dialect, else REST
#: polling), ``websocket`` (refuse exchanges without one) or ``polling``.
MODES = ("auto", "websocket", "polling")


class LiveBar(NamedTuple):
    """One closed candle: open time (epoch ms), prices, volume, and where it came from.

    ``event_ms`` is the exchange's event time of the websocket message (Binance ``E``, Bybit
    ``timestamp``) and ``received`` the local ``time.monotonic()`` when the message arrived;
    both are None for bars fetched over REST. ``live`` is True for bars that arrived as live
    data (streamed, or polled after the backfill) and False for backfilled ones.
    """

    open_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    event_ms: int | None = None
    received: float | None = None
    live: bool = True


class Connection:
    """Connection events a hub or poller reports to its series (plain strings)."""

    CONNECTED = "connected"  # first connection is up
    BROKEN = "broken"  # the connection dropped or went silent; reconnecting
    RECONNECTED = "reconnected"  # back after a break: missed bars must be fetched
    DISCONNECTED = "disconnected"  # gave up after the configured number of tries
    REFUSED = "refused"  # the exchange refused the subscription


class Sink(Protocol):
    """What a hub or poller delivers one topic to: closed bars and connection events (called
    on the hub's or poller's thread; must be quick)."""

    def on_bar(self, bar: LiveBar) -> None:
        """A closed bar."""

    def on_event(self, event: str, detail: str = "") -> None:
        """A :class:`Connection` event."""


class ServedFeed(Protocol):
    """What a store needs of a feed it serves (a
    :class:`~tradedata.feeds.live.feed.TradeDataLiveFeed`): its symbol and timeframe, the queue
    its bars go to, and its params (``p``)."""

    symbol: str
    tf: Timeframe
    queue: queue.Queue[Any]
    p: Any


class DataStatus:
    """backtrader's ``DataBase`` states (same numbers), without importing backtrader."""

    CONNECTED, DISCONNECTED, CONNBROKEN, DELAYED, LIVE, NOTSUBSCRIBED, NOTSUPPORTED_TF = range(7)


class StatusItem(NamedTuple):
    """A data status (backtrader ``DataBase`` state) queued in order with the bars."""

    status: int
    final: bool = False


class StoreNotice(str):
    """A store notification: readable text with ``exchange``, ``event`` and ``detail`` attached.

    ``notify_store(msg)`` receives it; ``msg.event`` is one of ``connected``, ``broken``,
    ``reconnecting``, ``reconnected``, ``disconnected``, ``refused``, ``gap``, ``error``.
    """

    exchange: str
    event: str
    detail: str

    def __new__(cls, exchange: str, event: str, detail: str = "") -> StoreNotice:
        text = f"{exchange}: {event}" + (f" ({detail})" if detail else "")
        obj = super().__new__(cls, text)
        obj.exchange, obj.event, obj.detail = exchange, event, detail
        return obj


@dataclass(frozen=True)
class LiveSettings:
    """How a store connects, reconnects, polls, fills holes and caches live bars.

    - ``mode``: one of :data:`MODES`.
    - ``silence_timeout``: seconds without any websocket message before the connection is
      treated as broken and reopened.
    - ``max_retries``: consecutive failed connection (or poll) attempts before giving up with
      ``DISCONNECTED``.
    - ``reconnect_delay`` / ``reconnect_max_delay``: exponential backoff between attempts.
    - ``open_timeout``: seconds allowed for opening a websocket.
    - ``ping_interval``: seconds between websocket-level pings (None: none).
    - ``poll_interval``: most seconds between two REST polls in polling mode (polls are
      otherwise aligned to candle closes, ``poll_delay`` seconds after them).
    - ``fill_retries`` / ``fill_delay``: attempts (and the first wait, doubled each time up to
      2 s) to fetch missed bars over REST before a hole is given up and reported.
    - ``workers``: threads doing REST backfills and cache writes.
    - ``cache_interval``: seconds between writes of streamed bars to the cache (0: each bar).
    - ``clock_ttl``: seconds an exchange-clock reading is trusted by the REST provider the store
      creates (a short value keeps backfills up to date on fast clocks).
    """

    mode: str = "auto"
    silence_timeout: float = 60.0
    max_retries: int = 10
    reconnect_delay: float = 0.5
    reconnect_max_delay: float = 30.0
    open_timeout: float = 10.0
    ping_interval: float | None = 20.0
    poll_interval: float = 5.0
    poll_delay: float = 0.5
    fill_retries: int = 90
    fill_delay: float = 0.05
    workers: int = 4
    cache_interval: float = 30.0
    clock_ttl: float = 0.5

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigurationError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise ConfigurationError(f"{f.name} must be >= 0, got {value!r}")
        for name in ("silence_timeout", "open_timeout", "poll_interval", "clock_ttl"):
            if not getattr(self, name) > 0:
                raise ConfigurationError(f"{name} must be > 0")
        if self.workers < 1:
            raise ConfigurationError("workers must be >= 1")

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> LiveSettings:
        """Build from keyword options; unknown names raise :class:`ConfigurationError`."""
        known = {f.name for f in fields(cls)}
        unknown = set(options) - known
        if unknown:
            raise ConfigurationError(
                f"unknown live option(s): {', '.join(sorted(unknown))} "
                f"(known: {', '.join(sorted(known))})"
            )
        return cls(**dict(options))


class Arrivals:
    """A wake-up shared by every live feed: a bar (or status) was queued for some feed.

    backtrader's run loop asks its live datas for a bar one after the other, each waiting up to
    ``qcheck``; a feed waiting for its own bar wakes up when another feed's bar arrives, so the
    loop can take it at once instead of after the wait.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._count = 0

    @property
    def count(self) -> int:
        """How many arrivals so far (compare with a later reading)."""
        return self._count

    def notify(self) -> None:
        """Something was queued: wake every waiting feed."""
        with self._cond:
            self._count += 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for an arrival after reading ``seen``."""
        with self._cond:
            return self._cond.wait_for(lambda: self._count != seen, timeout)


#: The process's arrivals (feeds of several cerebros share it: a spurious wake-up is harmless).
ARRIVALS = Arrivals()


def backoff_delay(attempt: int, base: float, cap: float, u: float = 1.0) -> float:
    """Seconds to wait before retry ``attempt`` (from 1): ``base * 2**(attempt-1)`` capped at
    ``cap``, scaled by ``0.5 + 0.5 * u`` (``u`` in [0, 1], the caller's jitter draw)."""
    if attempt < 1:
        return 0.0
    raw = min(cap, base * (2.0 ** min(attempt - 1, 60)))
    return raw * (0.5 + 0.5 * min(1.0, max(0.0, u)))
