"""The shared part of the loopback exchange fakes: the clock, the bars, the window rule, HTTP.

Every exchange fake is one :class:`ExchangeFake` running one :class:`Dialect` (the exchange's
routes and wire format, see the ``dialects_*`` modules). What all exchanges share lives here:

- the bars: one synthetic 1h (or any fixed-length) series of the dialect's symbol, listed
  ``listing_bars`` bars before now, each bar's values a pure function of its open time
  (:func:`bar_values`), so a test knows every exact value; time moves with the wall clock
  because ccxt itself computes windows from ``milliseconds()`` (okx, bitget, gate, mexc, kucoin);
- the still-open candle: served like the real exchanges serve it (all twelve include the
  current bar in their kline answers), with the dialect's marker where the wire has one;
- :func:`select`: which bars a kline request gets, from the dialect's parsed :class:`Window`
  and its :class:`CandleRules` (page cap, which end of an over-full window is kept, inclusive
  or exclusive ends, widest window, history depth). Each dialect cites the exchange's docs for
  its rules next to the rule;
- the HTTP server (``tests.fakes.server``'s handler, shared with the stock provider fakes) and a
  request log, so a test can count what ccxt asked for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.server import FakeRequest, FakeResponse, LoopbackServer, json_response

__all__ = [
    "CandleRules",
    "Dialect",
    "ExchangeFake",
    "RejectedWindow",
    "Window",
    "bar_values",
    "fmt",
    "select",
]

HOUR_MS = 3_600_000


def fmt(value: float) -> str:
    """A price or volume as an exchange prints it (a short exact decimal string)."""
    return f"{value:.2f}"


def bar_values(open_ms: int, step_ms: int) -> tuple[float, float, float, float, float]:
    """``(open, high, low, close, volume)`` of the bar opening at ``open_ms``.

    Prices have two decimals and volumes two decimals, so they survive every wire format
    (strings, JSON numbers) exactly.
    """
    k = open_ms // step_ms
    first = 20000 + (k * 7919) % 5000 / 10
    last = 20000 + ((k + 1) * 7919) % 5000 / 10
    high = max(first, last) + 1.5 + (k % 7) / 4
    low = min(first, last) - 1.25 - (k % 5) / 4
    volume = (k % 97) + 0.25
    return round(first, 2), round(high, 2), round(low, 2), round(last, 2), round(volume, 2)


@dataclass(frozen=True)
class Window:
    """A kline request as the exchange reads it (epoch ms; None: not given)."""

    start: int | None
    end: int | None
    limit: int
    start_inclusive: bool = True
    end_inclusive: bool = True


@dataclass(frozen=True)
class CandleRules:
    """How one kline endpoint answers.

    ``keeps``: the end of an over-full window that is served ("oldest": from ``start``,
    "newest": before ``end``, or before now when no end is given). ``max_window``: the widest
    ``[start, end]`` in bars that is accepted (wider: an error answer). ``history_bars``: how
    many bars back from now the endpoint serves at all (None: since listing).
    """

    max_limit: int
    keeps: str
    max_window: int | None = None
    history_bars: int | None = None
    keeps_when_no_end: str | None = None  # e.g. Binance: oldest from startTime without endTime

    def kept_end(self, window: Window) -> str:
        """Which end of ``window`` survives when it holds more than ``limit`` bars."""
        if window.end is None and self.keeps_when_no_end is not None:
            return self.keeps_when_no_end
        if window.start is None:
            return "newest"
        return self.keeps


class RejectedWindow(Exception):
    """A request the exchange refuses (its wire-format error is built by the dialect)."""


def _wider_than(window: Window, max_window: int | None, step_ms: int) -> bool:
    if window.start is None or window.end is None or max_window is None:
        return False
    return (window.end - window.start) // step_ms + 1 > max_window


def select(
    window: Window,
    rules: CandleRules,
    *,
    now_ms: int,
    listed_ms: int,
    step_ms: int,
    outage: tuple[int, int] | None = None,
) -> list[int]:
    """Open times (ascending) of the bars the endpoint answers ``window`` with.

    Available bars run from the listing to the still-open bar, cut to the endpoint's history
    depth, minus an ``outage`` (first and last open without a bar: exchanges publish no bar
    for an interval without trades, e.g. KuCoin's "No data is published for intervals where
    there are no ticks"). The window's ends apply with their inclusiveness; more than
    ``min(limit, max_limit)`` existing bars are cut from the end ``rules`` keep. A window wider
    than ``rules.max_window`` bars raises :class:`RejectedWindow`.
    """
    limit = max(1, min(window.limit, rules.max_limit))
    open_bar = now_ms // step_ms * step_ms
    first = listed_ms // step_ms * step_ms
    if rules.history_bars is not None:
        first = max(first, open_bar - (rules.history_bars - 1) * step_ms)
    lo, hi = first, open_bar
    if _wider_than(window, rules.max_window, step_ms):
        raise RejectedWindow(f"window wider than {rules.max_window} candles")
    if window.start is not None:
        s = window.start if window.start_inclusive else window.start + 1
        lo = max(lo, -(-s // step_ms) * step_ms)
    if window.end is not None:
        e = window.end if window.end_inclusive else window.end - 1
        hi = min(hi, e // step_ms * step_ms)
    opens = range(lo, hi + 1, step_ms)
    if outage is not None:
        opens = [t for t in opens if not outage[0] <= t <= outage[1]]  # type: ignore[assignment]
    if len(opens) > limit:
        keep_oldest = rules.kept_end(window) == "oldest"
        opens = opens[:limit] if keep_oldest else opens[len(opens) - limit :]
    return list(opens)


Handler = Callable[["ExchangeFake", FakeRequest], Any]


@dataclass
class Dialect:
    """One exchange: its id, the symbol served, its routes and kline paths.

    ``routes`` map a path to a handler returning a JSON-able body (or a ready
    :class:`FakeResponse`); ``candle_paths`` name the kline endpoints (counted apart);
    ``prefix_routes`` serve paths that carry parameters (Bitfinex's candle paths);
    ``history_bars`` is the depth of the deepest kline endpoint (its rules cite the docs).
    """

    exchange_id: str
    symbol: str
    market_id: str
    routes: Mapping[str, Handler]
    candle_paths: frozenset[str]
    prefix_routes: Mapping[str, Handler] = field(default_factory=dict)
    #: bars back from the open bar (included) the deepest endpoint serves (None: all)
    history_bars: int | None = None


class ExchangeFake(LoopbackServer):
    """A loopback exchange speaking ``dialect`` on ``127.0.0.1:<ephemeral port>``.

    ``listing_bars``: how many 1h bars before now the symbol has traded.
    ``requests`` logs every request; :meth:`candle_requests` counts the kline ones.
    """

    def __init__(self, dialect: Dialect, *, listing_bars: int = 6000) -> None:
        self.dialect = dialect
        self.listing_bars = listing_bars
        self._listed_ms = self.now_ms() // HOUR_MS * HOUR_MS - listing_bars * HOUR_MS
        #: first and last bar open (ms) of a stretch with no trades and so no bars at all
        self.outage: tuple[int, int] | None = None
        self.requests: list[FakeRequest] = []
        self.unrouted: list[str] = []
        self._lock = threading.Lock()
        super().__init__()

    # -- clock and bars ----------------------------------------------------------------------
    @staticmethod
    def now_ms() -> int:
        """The exchange's clock: the wall clock (ccxt computes windows from it too)."""
        return int(time.time() * 1000)

    @property
    def listed_ms(self) -> int:
        """Open time of the first bar the symbol ever had."""
        return self._listed_ms

    def bars(self, window: Window, rules: CandleRules, step_ms: int) -> list[tuple[int, ...]]:
        """``[(open_ms, o, h, l, c, v, closed), ...]`` ascending, for a kline request."""
        now = self.now_ms()
        opens = select(
            window, rules, now_ms=now, listed_ms=self._listed_ms, step_ms=step_ms,
            outage=self.outage,
        )  # fmt: skip
        return [(t, *bar_values(t, step_ms), t + step_ms <= now) for t in opens]

    def candle_requests(self) -> int:
        """Kline requests answered so far."""
        with self._lock:
            return sum(1 for r in self.requests if r.path in self.dialect.candle_paths)

    def reset(self) -> None:
        """Forget the request log."""
        with self._lock:
            self.requests.clear()

    # -- HTTP --------------------------------------------------------------------------------
    def dispatch(self, request: FakeRequest) -> FakeResponse:
        """Answer one request through the dialect's routes (404 for anything else)."""
        with self._lock:
            self.requests.append(request)
        handler = self.dialect.routes.get(request.path)
        if handler is None:
            for prefix, candidate in self.dialect.prefix_routes.items():
                if request.path.startswith(prefix):
                    handler = candidate
                    break
        if handler is None:
            self.unrouted.append(request.path)
            return json_response({"error": f"no route {request.path}"}, 404)
        body = handler(self, request)
        return body if isinstance(body, FakeResponse) else json_response(body)
