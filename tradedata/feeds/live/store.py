"""Live trading data for backtrader: a store per exchange, live feeds, a paper broker.

::

    store = TradeDataStore(exchange="binance", config={"providers": {"binance": {...}}})
    data = store.getdata(dataname="BTC/USDT", timeframe=bt.TimeFrame.Minutes, compression=1,
                         backfill_start=True, backfill_bars=500)
    cerebro.adddata(data)                       # or resampledata / replaydata
    cerebro.setbroker(store.getbroker())        # paper trading with the exchange's fees

Each feed first delivers history from the cache and REST (``DELAYED``), then closed candles as
they close (``LIVE``): over one shared websocket per exchange for Binance and Bybit (asyncio in a
background thread, see :mod:`~tradedata.feeds.live.hub`), by REST polling aligned to candle
closes for any other ccxt exchange (:mod:`~tradedata.feeds.live.poll`). The stream is opened
first and the backfill joined to it by bar open time, so no bar is missing or repeated
(:mod:`~tradedata.feeds.live.seam`); bars missed while the connection was down are fetched over
REST after reconnecting. A still-open candle is never delivered. Streamed bars are appended to
the cache, with their coverage.

Store notices (:class:`~tradedata.feeds.live.model.StoreNotice`, a ``str``) reach
``notify_store``; data states (backtrader's ``DataBase`` constants) reach ``notify_data``.
"""

from __future__ import annotations

import collections
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from tradedata.config import Config, load_config
from tradedata.errors import ConfigurationError, UnsupportedError
from tradedata.feeds.live.broker import PaperBroker, default_exchange_fee
from tradedata.feeds.live.dialects import DIALECTS, WsDialect
from tradedata.feeds.live.endpoints import market_id, ws_base
from tradedata.feeds.live.hub import StreamHub, acquire_hub, release_hub
from tradedata.feeds.live.model import LiveSettings, ServedFeed
from tradedata.feeds.live.poll import RestPoller
from tradedata.feeds.live.rest import LiveCacheWriter, RestSource
from tradedata.feeds.live.series import Backfill, LiveSeries, Workers

if TYPE_CHECKING:
    from tradedata.manager import DataManager

__all__ = ["TradeDataStore"]


class TradeDataStore:
    """Live data and paper trading for one exchange.

    ``config`` is what :class:`~tradedata.manager.DataManager` takes (a dict, a YAML path or a
    :class:`~tradedata.config.Config`); the exchange's ``url``/``ws_url`` there point REST and
    websockets elsewhere (e.g. at the simulator). ``cache_dir`` picks the cache; ``manager``
    uses a ready DataManager instead. ``sandbox`` uses the exchange's testnet. Other keyword
    options are :class:`~tradedata.feeds.live.model.LiveSettings` fields (``mode="polling"``,
    ``silence_timeout=...``, ``max_retries=...``, ``reconnect_delay=...`` ...).

    Several stores (exchanges) may run in one process; all feeds of one exchange share one
    websocket connection. Bars are cached under this exchange's own series of each symbol
    (:mod:`tradedata.identity`: the source is the venue), so stores of two exchanges that
    stream the same symbol share one ``cache_dir`` and never backfill from each other's bars.
    ``getdata("BYBIT:BTC/USDT")`` accepts the venue-prefixed spelling when the venue is this
    store's exchange.
    """

    #: The feed class :meth:`getdata` makes. As with backtrader's own stores, the data class
    #: registers itself here (:mod:`tradedata.feeds.live.feed`, imported with the package).
    DataCls: ClassVar[Any] = None

    def __init__(
        self,
        exchange: str = "binance",
        sandbox: bool = False,
        config: Config | Mapping[str, Any] | str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        manager: DataManager | None = None,
        **options: Any,
    ) -> None:
        self.exchange = exchange
        self.sandbox = sandbox
        self.settings = LiveSettings.from_options(options)
        dialect = DIALECTS.get(exchange)
        if self.settings.mode == "websocket" and dialect is None:
            raise ConfigurationError(
                f"{exchange} has no websocket dialect (built in: {', '.join(DIALECTS)}); "
                "use mode='polling' or 'auto'"
            )
        self.dialect: WsDialect | None = None if self.settings.mode == "polling" else dialect
        self._owns_manager = manager is None
        if manager is None:
            from tradedata.manager import DataManager

            manager = DataManager(cache_dir=cache_dir, config=self._config(config))
        self.manager: DataManager = manager
        self.notifs: collections.deque[Any] = collections.deque()
        self._lock = threading.RLock()
        self._workers: Workers | None = None
        self._hub: StreamHub | None = None
        self._poller: RestPoller | None = None
        self._cache: LiveCacheWriter | None = None
        self._series: dict[int, tuple[LiveSeries, str | None]] = {}
        self._markets: Mapping[str, Any] | None = None

    def __repr__(self) -> str:
        mode = "websocket" if self.dialect else "polling"
        return f"<TradeDataStore {self.exchange} {mode} feeds={len(self._series)}>"

    def _config(self, config: Any) -> Config:
        """The config, with a short exchange-clock TTL and sandbox mode for this exchange."""
        base = load_config(config)
        settings = dict(base.providers.get(self.exchange, {}))
        options = dict(settings.get("options") or {})
        options.setdefault("time_ttl", self.settings.clock_ttl)
        settings["options"] = options
        if self.sandbox:
            settings["sandbox"] = True
        return load_config(base, providers={self.exchange: settings})

    # -- backtrader store protocol -----------------------------------------------------------
    def getdata(self, dataname: str | None = None, **kwargs: Any) -> Any:
        """A :class:`~tradedata.feeds.live.feed.TradeDataLiveFeed` of ``dataname`` here."""
        return self.DataCls(dataname=dataname, store=self, **kwargs)

    def getbroker(self, **kwargs: Any) -> PaperBroker:
        """A paper broker (backtrader's BackBroker) charging this exchange's fees.

        Keyword arguments are :class:`~tradedata.feeds.live.broker.PaperBroker` params
        (``cash``, ``fee``, ``fees``, ``fee_side``, ``slip_perc`` ...).
        """
        broker = PaperBroker(**kwargs)
        broker.set_fee_lookup(self.fee)
        return broker

    def start(self) -> None:
        """Called by cerebro before the feeds start; the machinery starts with the first feed."""

    def stop(self) -> None:
        """Close the connection, flush streamed bars to the cache, end the threads."""
        with self._lock:
            for series, _topic in list(self._series.values()):
                series.close()
            self._series.clear()
            hub, self._hub = self._hub, None
            poller, self._poller = self._poller, None
            workers, self._workers = self._workers, None
            cache, self._cache = self._cache, None
        if hub is not None:
            hub.remove_listener(self.put_notification)
            release_hub(hub)
        if poller is not None:
            poller.close()
        if cache is not None:
            cache.close()
        if workers is not None:
            workers.stop()

    def close(self) -> None:
        """:meth:`stop`, and close the DataManager if the store made it."""
        self.stop()
        if self._owns_manager:
            self.manager.close()

    def put_notification(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """Queue a store notification (thread-safe)."""
        self.notifs.append((msg, args, kwargs))

    def get_notifications(self) -> list[tuple[Any, tuple[Any, ...], dict[str, Any]]]:
        """The pending store notifications (cerebro hands them to ``notify_store``)."""
        self.notifs.append(None)  # a mark: threads may keep appending behind it
        return list(iter(self.notifs.popleft, None))

    # -- exchange facts ------------------------------------------------------------------------
    def markets(self) -> Mapping[str, Any]:
        """The exchange's markets as ccxt describes them (loaded once; empty if unknown)."""
        if self._markets is None:
            provider = self.manager.provider(self.exchange)
            load = getattr(provider, "load_markets", None)
            self._markets = dict(load()) if callable(load) else {}
        return self._markets

    def market_id(self, symbol: str) -> str:
        """The exchange's id of ``symbol`` (``BTCUSDT``); raises if the exchange lacks it."""
        return market_id(self.markets(), self.exchange, symbol)

    def fee(self, symbol: str, side: str = "taker") -> float:
        """The trading fee on ``symbol`` (a share of traded value, e.g. 0.001 for 0.1 %)."""
        market = self.markets().get(symbol) or {}
        value = market.get(side)
        if isinstance(value, (int, float)):
            return float(value)
        default = default_exchange_fee(self.exchange, side)
        return 0.0 if default is None else default

    def ws_base(self) -> str:
        """The websocket base URL (``ws_url`` from the config, else ``url``, else the
        exchange's own, or its testnet's with ``sandbox``)."""
        return ws_base(self.manager.config, self.exchange, self.dialect, self.sandbox)

    # -- series --------------------------------------------------------------------------------
    def _machinery(self) -> Workers:
        with self._lock:
            if self._workers is None:
                self._workers = Workers(self.settings.workers, f"tradedata-live-{self.exchange}")
                workers = self._workers
                self._cache = LiveCacheWriter(
                    self.manager, self.exchange, self.settings.cache_interval, workers.submit
                )
                if self.dialect is not None:
                    self._hub = acquire_hub(self.dialect, self.ws_base(), self.settings)
                    self._hub.add_listener(self.put_notification)
                else:
                    provider = self.manager.provider(self.exchange)
                    self._poller = RestPoller(
                        self.exchange, self.settings, provider.now, self.put_notification
                    )
            return self._workers

    def open_series(self, feed: ServedFeed, start_ms: int | None = None) -> LiveSeries:
        """Start the live series behind ``feed`` (used by the feed's ``start``)."""
        tf, symbol = feed.tf, feed.symbol
        if self.dialect is not None and tf.name not in self.dialect.intervals:
            raise UnsupportedError(
                f"{self.exchange} streams no {tf.name} candles", provider=self.exchange
            )
        provider = self.manager.provider(self.exchange)
        if not provider.supports(symbol, tf):
            raise UnsupportedError(
                f"{self.exchange} serves no {tf.name} candles of {symbol}", provider=self.exchange
            )
        market_id = self.market_id(symbol)
        workers = self._machinery()
        series = LiveSeries(
            exchange=self.exchange,
            source=RestSource(self.manager, self.exchange, symbol, tf),
            out=feed.queue,
            workers=workers,
            settings=self.settings,
            notice=self.put_notification,
            cache=self._cache if feed.p.cache_live else None,
            polled=self._poller is not None,
            historical=bool(feed.p.historical),
        )
        topic = None
        if not feed.p.historical:
            if self._hub is not None and self.dialect is not None:
                topic = self.dialect.topic(market_id, tf.name)
                self._hub.add(topic, series)
            elif self._poller is not None:
                self._poller.add(series)
        with self._lock:
            self._series[id(series)] = (series, topic)
        wanted = bool(feed.p.backfill_start) or bool(feed.p.historical)
        bars = int(feed.p.backfill_bars)
        backfill = Backfill(
            enabled=wanted and (bars > 0 or start_ms is not None), bars=bars, start_ms=start_ms
        )
        series.begin(backfill)
        return series

    def close_series(self, series: LiveSeries) -> None:
        """Stop the live series of a feed."""
        with self._lock:
            _series, topic = self._series.pop(id(series), (series, None))
        series.close()
        if topic is not None and self._hub is not None:
            self._hub.remove(topic, series)
        if self._poller is not None:
            self._poller.remove(series)
