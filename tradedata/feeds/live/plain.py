"""``LiveFeed``: closed candles of one symbol for plain Python and notebooks (no backtrader).

Made by :meth:`DataManager.get_live_feed <tradedata.manager.DataManager.get_live_feed>`::

    feed = dm.get_live_feed("BTC/USDT", "1m", lookback_bars=1000)
    for bar in feed:                  # history first (bar.live False), then each closed bar
        print(bar.timestamp, bar.close)
    # or: feed.subscribe(on_bar=print); async for bar in feed: ...; feed.frame(); feed.close()

It runs on the same machinery as :class:`~tradedata.feeds.live.store.TradeDataStore`: one shared
websocket per exchange (:mod:`~tradedata.feeds.live.hub`; REST polling for exchanges without a
websocket dialect), the backfill joined to the stream by bar open time
(:mod:`~tradedata.feeds.live.seam`) so no bar is missing or repeated, bars missed while the
connection was down fetched over REST after reconnecting (a hole that cannot be fetched is
reported as a ``gap`` status), never a still-open candle, streamed bars appended to the cache.

Callbacks run on the feed's own thread, in order: ``on_bar(bar)`` with a :class:`Bar`, and
``on_status(status, detail)`` with one of ``delayed`` (history is being delivered), ``live``,
``broken`` (reconnecting), ``disconnected`` (gave up; the feed ends), ``refused`` /
``unsupported`` (the exchange refused the stream; the feed ends), the notices ``gap`` (bars
that could not be fetched) and ``error``, and last ``ended`` (the feed stopped delivering).

Imports: this module never imports the manager at run time (it is handed one), and the
manager's ``get_live_feed`` imports this module only when called, so no import circle forms.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

import pandas as pd

from tradedata.config import load_config
from tradedata.errors import ConfigurationError, InputError, UnsupportedError
from tradedata.feeds.live.dialects import DIALECTS
from tradedata.feeds.live.endpoints import default_exchange, market_id, ws_base
from tradedata.feeds.live.hub import StreamHub, acquire_hub, release_hub
from tradedata.feeds.live.model import DataStatus, LiveBar, LiveSettings, StatusItem, StoreNotice
from tradedata.feeds.live.poll import RestPoller
from tradedata.feeds.live.rest import LiveCacheWriter, RestSource
from tradedata.feeds.live.series import Backfill, LiveSeries, Workers
from tradedata.identity import split_source
from tradedata.model import frame_from_arrays, parse_timeframe
from tradedata.symbols import normalize_symbol

if TYPE_CHECKING:
    from tradedata.manager import DataManager

__all__ = ["Bar", "LiveFeed"]

log = logging.getLogger("tradedata.live")

_STATES = {
    DataStatus.CONNECTED: "connected",
    DataStatus.DELAYED: "delayed",
    DataStatus.LIVE: "live",
    DataStatus.CONNBROKEN: "broken",
    DataStatus.DISCONNECTED: "disconnected",
    DataStatus.NOTSUBSCRIBED: "refused",
    DataStatus.NOTSUPPORTED_TF: "unsupported",
}
_END = object()  # the feed ended: iterators stop


class Bar(NamedTuple):
    """One closed candle: open time (UTC), prices, volume; ``live`` False for history."""

    timestamp: pd.Timestamp
    open: float
    high: float
    low: float
    close: float
    volume: float
    live: bool


def _bar(raw: LiveBar) -> Bar:
    stamp = pd.Timestamp(raw.open_ms, unit="ms", tz="UTC")
    return Bar(stamp, raw.open, raw.high, raw.low, raw.close, raw.volume, raw.live)


class LiveFeed:
    """History, then closed bars as they close, of one symbol (see the module docstring).

    ``options`` are :class:`~tradedata.feeds.live.model.LiveSettings` fields
    (``mode="polling"``, ``silence_timeout=...`` ...). ``cache_live=False`` keeps streamed bars
    out of the cache. The feed starts at once; :meth:`close` (or ``with``) stops it.
    """

    def __init__(
        self,
        manager: DataManager,
        symbol: str,
        timeframe: str,
        lookback_bars: int = 1000,
        *,
        exchange: str | None = None,
        on_bar: Callable[[Bar], Any] | None = None,
        on_status: Callable[[str, str], Any] | None = None,
        cache_live: bool = True,
        **options: Any,
    ) -> None:
        if isinstance(lookback_bars, bool) or not isinstance(lookback_bars, int):
            raise InputError(f"lookback_bars must be an int, got {lookback_bars!r}")
        if lookback_bars < 0:
            raise InputError(f"lookback_bars must be >= 0, got {lookback_bars}")
        venue, bare = split_source(symbol)
        if venue and exchange and venue != exchange.strip().lower():
            raise InputError(f"{symbol!r} names venue {venue!r} but exchange={exchange!r}")
        self.symbol = normalize_symbol(bare)
        self.timeframe = parse_timeframe(timeframe)
        self.settings = LiveSettings.from_options(options)
        exchange = exchange or venue
        self.exchange = exchange or default_exchange(manager, self.symbol, self.timeframe.name)
        dialect = None if self.settings.mode == "polling" else DIALECTS.get(self.exchange)
        if self.settings.mode == "websocket" and dialect is None:
            raise ConfigurationError(f"{self.exchange} has no websocket dialect")
        if dialect is not None and self.timeframe.name not in dialect.intervals:
            raise UnsupportedError(
                f"{self.exchange} streams no {self.timeframe.name} candles", provider=self.exchange
            )
        self.status = "connecting"
        self._lock = threading.RLock()
        self._history: list[Bar] = []
        self._bar_callbacks: list[Callable[[Bar], Any]] = [on_bar] if on_bar else []
        self._status_callbacks: list[Callable[[str, str], Any]] = [on_status] if on_status else []
        self._subscribers: list[Callable[[Any], None]] = []
        self._ended = threading.Event()
        self._closed = False
        self._queue: queue.Queue[Any] = queue.Queue()
        # its own manager on the same cache, with the short exchange-clock TTL of the store
        self._manager = _live_manager(manager, self.exchange, self.settings.clock_ttl)
        self._hub: StreamHub | None = None
        self._poller: RestPoller | None = None
        self._topic: str | None = None
        self._workers = Workers(self.settings.workers, f"tradedata-live-{self.exchange}")
        self._cache = LiveCacheWriter(
            self._manager, self.exchange, self.settings.cache_interval, self._workers.submit
        )
        self._series = LiveSeries(
            exchange=self.exchange,
            source=RestSource(self._manager, self.exchange, self.symbol, self.timeframe),
            out=self._queue,
            workers=self._workers,
            settings=self.settings,
            notice=self._notice,
            cache=self._cache if cache_live else None,
            polled=dialect is None,
        )
        self._thread = threading.Thread(
            target=self._dispatch, name=f"tradedata-live-feed-{self.symbol}", daemon=True
        )
        self._thread.start()
        try:
            self._open(dialect, lookback_bars)
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return (
            f"<LiveFeed {self.exchange} {self.symbol} {self.timeframe.name} {self.status} "
            f"bars={len(self._history)}>"
        )

    def _open(self, dialect: Any, lookback_bars: int) -> None:
        provider = self._manager.provider(self.exchange)
        if not provider.supports(self.symbol, self.timeframe):
            raise UnsupportedError(
                f"{self.exchange} serves no {self.timeframe.name} candles of {self.symbol}",
                provider=self.exchange,
            )
        if dialect is not None:
            config = self._manager.config
            sandbox = bool(config.providers.get(self.exchange, {}).get("sandbox"))
            base = ws_base(config, self.exchange, dialect, sandbox)
            self._hub = acquire_hub(dialect, base, self.settings)
            load = getattr(provider, "load_markets", None)
            markets = dict(load()) if callable(load) else {}
            market = market_id(markets, self.exchange, self.symbol)
            self._topic = dialect.topic(market, self.timeframe.name)
            self._hub.add(self._topic, self._series)
        else:
            self._poller = RestPoller(self.exchange, self.settings, provider.now, self._notice)
            self._poller.add(self._series)
        self._series.begin(Backfill(enabled=lookback_bars > 0, bars=lookback_bars))

    # -- reading ---------------------------------------------------------------------------------
    @property
    def ended(self) -> bool:
        """True once the feed stopped delivering (closed, disconnected or refused)."""
        return self._ended.is_set()

    def bars(self) -> list[Bar]:
        """Every bar delivered so far (history, then live), oldest first."""
        with self._lock:
            return list(self._history)

    def frame(self) -> pd.DataFrame:
        """The bars delivered so far as an OHLCV frame (tradedata schema)."""
        bars = self.bars()
        frame = frame_from_arrays(
            [b.timestamp.value // 1_000_000 for b in bars],
            *([getattr(b, k) for b in bars] for k in ("open", "high", "low", "close", "volume")),
        )
        frame.attrs.update(symbol=self.symbol, timeframe=self.timeframe.name)
        return frame

    def wait_for(self, status: str = "live", timeout: float | None = None) -> bool:
        """Wait until the feed's status is ``status`` (True) or it ended / timed out (False)."""
        done = threading.Event()

        def check(state: str, _detail: str = "") -> None:
            if state == status or self._ended.is_set():
                done.set()

        unsubscribe = self.subscribe(on_status=check, history=False)
        try:
            check(self.status)
            done.wait(timeout)
            return self.status == status
        finally:
            unsubscribe()

    def subscribe(
        self,
        on_bar: Callable[[Bar], Any] | None = None,
        on_status: Callable[[str, str], Any] | None = None,
        *,
        history: bool = True,
        on_history: Callable[[list[Bar]], Any] | None = None,
    ) -> Callable[[], None]:
        """Add callbacks; returns a function that removes them.

        With ``history`` the bars delivered so far are replayed first: to ``on_history`` in one
        list when given, else one by one to ``on_bar`` (on the caller's thread, before any newer
        bar reaches the callback).
        """
        with self._lock:
            if history and self._history:
                if on_history is not None:
                    on_history(list(self._history))
                elif on_bar is not None:
                    for bar in self._history:
                        on_bar(bar)
            if on_bar is not None:
                self._bar_callbacks.append(on_bar)
            if on_status is not None:
                self._status_callbacks.append(on_status)

        def unsubscribe() -> None:
            with self._lock:
                if on_bar is not None and on_bar in self._bar_callbacks:
                    self._bar_callbacks.remove(on_bar)
                if on_status is not None and on_status in self._status_callbacks:
                    self._status_callbacks.remove(on_status)

        return unsubscribe

    def iter(self, timeout: float | None = None, history: bool = True) -> Iterator[Bar]:
        """Bars as they come (the history first with ``history``); ends when the feed ends,
        or when no bar came for ``timeout`` seconds."""
        inbox: queue.Queue[Any] = queue.Queue()
        with self._lock:
            for bar in self._history if history else ():
                inbox.put(bar)
            self._subscribers.append(inbox.put)
            if self._ended.is_set():
                inbox.put(_END)
        try:
            while True:
                try:
                    item = inbox.get(timeout=timeout)
                except queue.Empty:
                    return
                if item is _END:
                    return
                yield item
        finally:
            self._unsubscribe(inbox.put)

    def __iter__(self) -> Iterator[Bar]:
        return self.iter()

    async def aiter(self, history: bool = True) -> AsyncIterator[Bar]:
        """``async for`` over the bars (see :meth:`iter`)."""
        loop = asyncio.get_running_loop()
        inbox: asyncio.Queue[Any] = asyncio.Queue()

        def push(item: Any) -> None:
            with contextlib.suppress(RuntimeError):  # the event loop is closed
                loop.call_soon_threadsafe(inbox.put_nowait, item)

        with self._lock:
            for bar in self._history if history else ():
                inbox.put_nowait(bar)
            self._subscribers.append(push)
            if self._ended.is_set():
                inbox.put_nowait(_END)
        try:
            while (item := await inbox.get()) is not _END:
                yield item
        finally:
            self._unsubscribe(push)

    def __aiter__(self) -> AsyncIterator[Bar]:
        return self.aiter()

    def _unsubscribe(self, push: Callable[[Any], None]) -> None:
        with self._lock:
            if push in self._subscribers:
                self._subscribers.remove(push)

    # -- the feed's thread ---------------------------------------------------------------------
    def _notice(self, notice: StoreNotice) -> None:
        if notice.event in ("gap", "error"):
            self._queue.put(notice)

    def _dispatch(self) -> None:
        while True:
            item = self._queue.get()
            if item is _END:
                break
            if isinstance(item, LiveBar):
                self._deliver(_bar(item))
            elif isinstance(item, StatusItem):
                self._set_status(_STATES.get(item.status, str(item.status)), "")
                if item.final:
                    break
            elif isinstance(item, StoreNotice):
                self._call_status(item.event, item.detail)
        with self._lock:
            self._ended.set()
            for push in self._subscribers:
                push(_END)
        self._call_status("ended", "")

    def _deliver(self, bar: Bar) -> None:
        with self._lock:
            if not bar.live and self.status != "delayed":
                self._set_status("delayed", "")
            self._history.append(bar)
            for push in self._subscribers:
                push(bar)
            callbacks = list(self._bar_callbacks)
        for callback in callbacks:
            try:
                callback(bar)
            except Exception:  # a failing callback must not stop the feed
                log.exception("on_bar callback failed for %s", self.symbol)

    def _set_status(self, status: str, detail: str) -> None:
        if status == self.status:
            return
        self.status = status
        self._call_status(status, detail)

    def _call_status(self, status: str, detail: str) -> None:
        with self._lock:
            callbacks = list(self._status_callbacks)
        for callback in callbacks:
            try:
                callback(status, detail)
            except Exception:
                log.exception("on_status callback failed for %s", self.symbol)

    # -- stopping ------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop: unsubscribe, write streamed bars to the cache, end the threads (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._series.close()
        hub, self._hub = self._hub, None
        if hub is not None and self._topic is not None:
            hub.remove(self._topic, self._series)
            release_hub(hub)
        if self._poller is not None:
            self._poller.close()
        self._cache.close()
        self._workers.stop()
        self._queue.put(_END)
        if self._thread is not threading.current_thread():
            self._thread.join(5.0)
        if self.status not in ("disconnected", "refused", "unsupported"):
            self.status = "closed"
        self._manager.close()

    stop = close

    def __enter__(self) -> LiveFeed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _live_manager(manager: DataManager, exchange: str, clock_ttl: float) -> DataManager:
    """A manager on ``manager``'s store (shared, left open when it closes) whose ``exchange``
    reads its clock every few moments (the default TTL would hold backfills behind the
    stream)."""
    base = manager.config
    settings = dict(base.providers.get(exchange, {}))
    options = dict(settings.get("options") or {})
    options.setdefault("time_ttl", clock_ttl)
    settings["options"] = options
    config = load_config(base, providers={exchange: settings})
    return type(manager)(store=manager.cache, config=config)  # no import of the manager
