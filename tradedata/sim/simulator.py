"""``ExchangeSimulator``: Binance and Bybit on 127.0.0.1, served from a background thread.

    with ExchangeSimulator(seed=1, speed=60.0) as sim:
        exchange = ccxt.binance({"urls": ccxt_url_overrides("binance", sim.url, sim.ws_base)})
        exchange.fetch_ohlcv("BTC/USDT", "1m", since=..., limit=1000)
        truth = sim.canonical("binance", "BTC/USDT", "1m", start, end)

The server runs its own asyncio loop in a daemon thread; ``stop()`` (or leaving the ``with``)
closes websockets, stops the loop and joins the thread.
"""

from __future__ import annotations

import asyncio
import string
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import product
from typing import Any, TypeAlias
from urllib.parse import quote

import pandas as pd
from aiohttp import web

import tradedata.sim.timeframes as tfs
import tradedata.symbols as symbols
from tradedata.errors import InputError, InvalidSymbolError
from tradedata.model import parse_timeframe
from tradedata.sim.binance import BinanceRest
from tradedata.sim.bybit import BybitRest
from tradedata.sim.clock import SimClock, to_ms
from tradedata.sim.faults import FaultDice, Faults, SimStats, StatsRecorder
from tradedata.sim.market import Market, ReplayMarket, SyntheticMarket
from tradedata.sim.protocol import RestProtocol
from tradedata.sim.server import build_app, configure_limiters, replace_faults
from tradedata.sim.state import SimState, StreamSettings
from tradedata.sim.ws_binance import BinanceStreams
from tradedata.sim.ws_bybit import BybitStreams

EXCHANGES: tuple[str, ...] = ("binance", "bybit")
DEFAULT_SYMBOLS: tuple[str, ...] = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
_PROTOCOLS: dict[str, tuple[type[RestProtocol], type[Any]]] = {
    "binance": (BinanceRest, BinanceStreams),
    "bybit": (BybitRest, BybitStreams),
}
Time: TypeAlias = pd.Timestamp | datetime | str | int | float


def normalize_symbol(symbol: str) -> str:
    """``BTC/USDT`` from ``BTC/USDT``, ``btc/usdt`` or ``BTCUSDT`` (spot pairs only)."""
    unified = symbols.normalize_symbol(symbol)
    if "/" not in unified or ":" in unified:
        raise InvalidSymbolError(f"the simulator lists spot pairs like BTC/USDT, not {symbol!r}")
    return unified


def generated_symbols(count: int, quote: str = "USDT") -> list[str]:
    """``count`` made-up symbols (``ZAAA/USDT``, ``ZAAB/USDT``, ...) for benchmarks."""
    names = ("Z" + "".join(t) for t in product(string.ascii_uppercase, repeat=3))
    return [f"{next(names)}/{quote}" for _ in range(count)]


def _windows(outages: Sequence[tuple[Time, Time]]) -> list[tuple[int, int]]:
    """``(start, end)`` pairs as epoch-ms pairs; raises :class:`InputError` if end < start."""
    out = []
    for pair in outages:
        if len(pair) != 2:
            raise InputError(f"an outage is a (start, end) pair, got {pair!r}")
        a, b = to_ms(pair[0]), to_ms(pair[1])
        if b < a:
            raise InputError(f"outage ends before it starts: {pair!r}")
        out.append((a, b))
    return out


class ExchangeSimulator:
    """A loopback server speaking Binance's and Bybit's REST and websocket protocols.

    ``symbols`` are added to :data:`DEFAULT_SYMBOLS`; each (exchange, symbol) gets a synthetic
    series from ``seed`` with bars from ``history_start`` on. Sim time starts at ``start``
    (default: the wall time at :meth:`start`) and runs at ``speed`` (0 freezes it; see
    :meth:`advance`). ``port`` 0 picks a free port.

    Like real recordings, a synthetic series can have minutes in which nothing traded
    (``zero_trade_rate``: flat closed candles with volume 0 and no trades) and ``outages``:
    ``(start, end)`` windows with no candles at all (see :meth:`set_outages`).
    """

    def __init__(
        self,
        exchanges: Sequence[str] = EXCHANGES,
        symbols: Iterable[str] = (),
        *,
        seed: int = 0,
        speed: float = 1.0,
        start: Time | None = None,
        faults: Faults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        history_start: Time = "2018-01-01",
        streams: StreamSettings | None = None,
        zero_trade_rate: float = 0.0,
        outages: Sequence[tuple[Time, Time]] = (),
    ) -> None:
        unknown = [e for e in exchanges if e not in _PROTOCOLS]
        if unknown or not exchanges:
            raise InputError(f"unknown exchanges {unknown}; expected some of {EXCHANGES}")
        self.exchanges = tuple(dict.fromkeys(exchanges))
        self.seed = int(seed)
        self.host = host
        self._requested_port = int(port)
        self._port: int | None = None
        listing = to_ms(history_start)
        if not 0.0 <= zero_trade_rate < 1.0:
            raise InputError(f"zero_trade_rate must be within [0, 1), got {zero_trade_rate}")
        windows = _windows(outages)
        names = list(dict.fromkeys(normalize_symbol(s) for s in (*DEFAULT_SYMBOLS, *symbols)))
        markets: dict[str, dict[str, Market]] = {}
        for ex in self.exchanges:
            built = (
                SyntheticMarket(ex, s, self.seed, listing, zero_trade_rate, windows) for s in names
            )
            markets[ex] = {m.market_id: m for m in built}
        self.clock = SimClock(None if start is None else to_ms(start), speed)
        self._state = SimState(
            clock=self.clock,
            markets=markets,
            faults=faults or Faults(),
            dice=FaultDice(self.seed),
            stats=StatsRecorder(),
            streams=streams or StreamSettings(),
        )
        self._protocols = [_PROTOCOLS[e][0](self._state) for e in self.exchanges]
        self._streams = [_PROTOCOLS[e][1](self._state) for e in self.exchanges]
        configure_limiters(self._state, self._protocols)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> ExchangeSimulator:
        """Start serving in a background thread; returns once the port is bound."""
        if self._thread is not None:
            raise RuntimeError("the simulator is already running")
        ready = threading.Event()
        errors: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(ready, errors), name="tradedata-sim", daemon=True
        )
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError("the simulator did not start in time")
        if errors:
            self._thread.join(timeout)
            self._thread = None
            raise OSError(f"cannot serve on {self.host}:{self._requested_port}") from errors[0]
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Close every connection, stop the server and join its thread (idempotent)."""
        thread, loop, event = self._thread, self._loop, self._stop_event
        if thread is None:
            return
        if loop is not None and event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(event.set)
        thread.join(timeout)
        if thread.is_alive():
            raise RuntimeError("the simulator thread did not stop")
        self._thread = None

    def __enter__(self) -> ExchangeSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, ready: threading.Event, errors: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._serve(ready, errors))
        finally:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._loop = None

    async def _serve(self, ready: threading.Event, errors: list[BaseException]) -> None:
        self._stop_event = asyncio.Event()
        app = build_app(self._state, self._protocols, self._streams)
        runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self._requested_port)
            await site.start()
            self._port = int(runner.addresses[0][1])
        except OSError as e:
            errors.append(e)
            ready.set()
            await runner.cleanup()
            return
        self.clock.begin()
        ready.set()
        await self._stop_event.wait()
        await asyncio.gather(*(s.close() for s in list(self._state.sessions)))
        await runner.cleanup()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        if self._port is None:
            raise RuntimeError("the simulator is not running; call start() first")
        return self._port

    @property
    def url(self) -> str:
        """Base HTTP URL, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    @property
    def ws_base(self) -> str:
        """Base websocket URL, e.g. ``ws://127.0.0.1:54321``."""
        return f"ws://{self.host}:{self.port}"

    def ws_url(
        self,
        exchange: str,
        streams: Sequence[str] = (),
        combined: bool = False,
        category: str = "spot",
    ) -> str:
        """Websocket URL of ``exchange``.

        Binance: ``/ws`` (then SUBSCRIBE), ``/ws/<stream>`` for one raw stream, or
        ``/stream?streams=a/b`` when ``combined`` (or several streams). Bybit: the public
        endpoint of ``category`` (``/v5/public/spot``, or ``linear``, where a closing bar and
        the new open bar come in one message); ``streams`` must be empty: subscribe with ``op``.
        """
        if exchange == "bybit":
            if streams:
                raise InputError("Bybit streams are subscribed to with op=subscribe messages")
            if category not in ("spot", "linear"):
                raise InputError(
                    f"Bybit streams are simulated for spot and linear, not {category!r}"
                )
            return f"{self.ws_base}/v5/public/{category}"
        if exchange != "binance":
            raise InputError(f"unknown exchange {exchange!r}")
        if combined or len(streams) > 1:
            return f"{self.ws_base}/stream?streams={quote('/'.join(streams), safe='@/_')}"
        return f"{self.ws_base}/ws" + (f"/{streams[0]}" if streams else "")

    def ccxt_urls(self, exchange: str) -> dict[str, Any]:
        """The ``urls`` dict to give ccxt so that ``exchange`` talks only to this simulator."""
        from tradedata.adapters.ccxt_.urls import ccxt_url_overrides

        return ccxt_url_overrides(exchange, self.url, self.ws_base)

    # -- markets and data --------------------------------------------------------------------

    def _market(self, exchange: str, symbol: str) -> Market:
        market = self._state.market(exchange, normalize_symbol(symbol).replace("/", ""))
        if market is None:
            raise InvalidSymbolError(f"{exchange} has no market {symbol!r}")
        return market

    def symbols(self, exchange: str) -> list[str]:
        """Unified symbols listed on ``exchange``."""
        return [m.symbol for m in self._state.markets[exchange].values()]

    def add_series(
        self, exchange: str, symbol: str, frame: pd.DataFrame, timeframe: str = "1m"
    ) -> None:
        """Serve ``frame`` (OHLCV at ``timeframe``) for ``symbol`` instead of synthetic data.

        Coarser timeframes that ``timeframe`` divides are served as exact aggregates; finer
        ones return no bars. Safe to call while running.
        """
        if exchange not in self._state.markets:
            raise InputError(f"{exchange!r} is not simulated here ({self.exchanges})")
        base = parse_timeframe(timeframe).name
        market = ReplayMarket(exchange, normalize_symbol(symbol), frame, base)
        self._state.markets[exchange][market.market_id] = market

    def set_outages(
        self,
        outages: Sequence[tuple[Time, Time]],
        exchange: str | None = None,
        symbol: str | None = None,
    ) -> None:
        """Replace the outage windows (``[start, end)``: no candles at all, REST or websocket)
        of the synthetic markets of ``exchange`` (default: all) and ``symbol`` (default: all).

        Safe to call while running; an outage in the future silences the streams when sim time
        reaches it, exactly as a trading halt does.
        """
        windows = _windows(outages)
        for ex, markets in self._state.markets.items():
            if exchange is not None and ex != exchange:
                continue
            for market in markets.values():
                if symbol is not None and market.symbol != normalize_symbol(symbol):
                    continue
                if isinstance(market, SyntheticMarket):
                    market.set_outages(windows)

    def canonical(
        self,
        exchange: str,
        symbol: str,
        timeframe: str,
        start: Time | None = None,
        end: Time | None = None,
    ) -> pd.DataFrame:
        """The closed bars opening in [start, end) (default: all history up to now), as a frame.

        Index ``timestamp`` (UTC bar open), float64 ``open high low close volume``: exactly the
        values REST and websocket payloads parse to.
        """
        market = self._market(exchange, symbol)
        timeframe = tfs.check_timeframe(parse_timeframe(timeframe).name)
        now = self.clock.now_ms()
        lo = market.first_open_ms if start is None else to_ms(start)
        hi = now if end is None else to_ms(end)
        return market.canonical(timeframe, lo, hi, now).to_frame()

    # -- clock, faults, stats ----------------------------------------------------------------

    def now(self) -> pd.Timestamp:
        """Current sim time."""
        return pd.Timestamp(self.clock.now_ms(), unit="ms", tz="UTC")

    def now_ms(self) -> int:
        """Current sim time in epoch milliseconds."""
        return self.clock.now_ms()

    def advance(self, seconds: float) -> None:
        """Move sim time forward by ``seconds`` (useful with ``speed=0``)."""
        self.clock.advance(seconds)

    @property
    def faults(self) -> Faults:
        """The faults in force."""
        return self._state.faults

    def set_faults(self, faults: Faults | None = None, **changes: Any) -> Faults:
        """Replace the faults (``faults``) or change some fields (``error_rate=0.1``)."""
        new = faults if faults is not None else self._state.faults
        new = replace_faults(new, changes) if changes else new
        self._state.faults = new
        configure_limiters(self._state, self._protocols)
        return new

    @property
    def stats(self) -> SimStats:
        """A snapshot of the counters."""
        return self._state.stats.snapshot()

    def reset_stats(self) -> None:
        """Zero the counters."""
        self._state.stats.reset()
