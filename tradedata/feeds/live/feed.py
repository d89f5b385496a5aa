"""``TradeDataLiveFeed``: a live backtrader data feed of closed candles.

Made by :meth:`TradeDataStore.getdata <tradedata.feeds.live.TradeDataStore.getdata>`. The feed
follows backtrader's live-feed pattern (``feeds/ibdata.py``, ``feeds/oanda.py``): ``islive()``
is True, ``_load`` waits at most ``qcheck`` seconds on a thread-safe queue and returns None when
no bar is ready (so several live feeds, resampling and timers keep running), and the data's
status goes ``DELAYED`` (backfill) -> ``LIVE`` -> ``CONNBROKEN`` -> ``DELAYED`` (missed bars
fetched over REST) -> ``LIVE``, or ends with ``DISCONNECTED``.

Bars are stamped as :class:`~tradedata.feeds.backtrader.TradeDataFeed` stamps them (see
:mod:`tradedata.feeds.backtrader.time`): an intraday bar at its close, naive UTC.
"""

from __future__ import annotations

import datetime as _dt
import queue
import time
from typing import TYPE_CHECKING, Any

import backtrader as bt
import pandas as pd

from tradedata.errors import (
    InputError,
    InvalidSymbolError,
    InvalidTimeframeError,
    SymbolNotFoundError,
    TradeDataError,
    UnsupportedError,
)
from tradedata.feeds.backtrader.source import StampRule
from tradedata.feeds.live.model import ARRIVALS, LiveBar, StatusItem, StoreNotice
from tradedata.feeds.live.store import TradeDataStore
from tradedata.identity import split_source
from tradedata.model import Timeframe, parse_timeframe, to_utc
from tradedata.symbols import normalize_symbol

if TYPE_CHECKING:
    from tradedata.feeds.live.series import LiveSeries

__all__ = ["TradeDataLiveFeed"]

_EPOCH = _dt.datetime(1970, 1, 1)


class TradeDataLiveFeed(bt.feed.DataBase):
    """Live closed candles of one symbol from one exchange (see the module docstring).

    Params (besides every ``DataBase`` one: ``dataname``, ``name``, ``timeframe``,
    ``compression``, ``fromdate``, ``todate``, ``tz``, ``sessionend`` ...):

      - ``store``: the :class:`~tradedata.feeds.live.TradeDataStore` (default: a new store for
        ``exchange``)
      - ``exchange``: exchange id when no store is given (``"binance"``); a venue-prefixed
        ``dataname`` (``"BYBIT:BTC/USDT"``) names it too (with a store: must be the store's)
      - ``interval``: sugar for timeframe/compression (``"1m"``, ``"5m"``, ``"1h"``)
      - ``qcheck`` (0.5): longest wait in seconds for a bar before giving control back. The
        feed does not wait when another live data of the cerebro has a bar (waiting, or
        handed over in this round of cerebro's loop): each bar reaches ``next()`` as soon as
        it arrives, so with several datas ``next()`` may see some of them advanced and not
        others yet (compare ``data.datetime[0]`` to act on complete closes)
      - ``backfill_start`` (True): deliver history (cache, then REST) before going live
      - ``backfill_bars`` (500): how many closed bars of history (``fromdate`` overrides)
      - ``historical`` (False): deliver the backfill only, then end (no live data)
      - ``cache_live`` (True): append streamed bars to the cache

    ``data.symbol`` is the unified symbol, ``data.source`` the venue (the store's exchange:
    its bars are cached in that venue's series), ``data.timeframe_name`` the timeframe;
    after each bar, ``data.bar_open_ms`` is its open time (epoch ms), ``data.bar_event_ms``
    the exchange's event time of the message that carried it and ``data.bar_received`` the
    ``time.monotonic()`` it arrived at (both None for REST bars), for latency measurements.
    """

    params = (
        ("store", None),
        ("exchange", "binance"),
        ("interval", None),
        ("qcheck", 0.5),
        ("backfill_start", True),
        ("backfill_bars", 500),
        ("historical", False),
        ("cache_live", True),
    )

    def __init__(self) -> None:
        super().__init__()
        p = self.p
        if p.interval is not None:
            p.timeframe, p.compression = parse_timeframe(p.interval).to_backtrader()
        if not isinstance(p.dataname, str):
            raise InvalidSymbolError(
                f"dataname must be a symbol such as 'BTC/USDT', not {p.dataname!r}"
            )
        venue, bare = split_source(p.dataname)
        if p.store is None:
            p.store = TradeDataStore(exchange=venue or p.exchange)
        self._store: TradeDataStore = p.store
        if venue is not None and venue != self._store.exchange:
            raise InputError(
                f"{p.dataname!r} names venue {venue!r} but this store streams "
                f"{self._store.exchange!r}: use a TradeDataStore(exchange={venue!r})"
            )
        self.symbol = normalize_symbol(bare)
        self.source = self._store.exchange
        self.tf: Timeframe = Timeframe.from_backtrader(p.timeframe, p.compression)
        self.timeframe_name = self.tf.name
        self.queue: queue.Queue[Any] = queue.Queue()
        self.bar_open_ms: int | None = None
        self.bar_event_ms: int | None = None
        self.bar_received: float | None = None
        self._series: LiveSeries | None = None
        self._over = True
        self._rule: StampRule | None = None
        self._clock: _dt.datetime | None = None  # naive UTC stamp of the last bar delivered
        self._deadline = 0.0  # monotonic end of the wait cerebro allows in this round
        self._round_start = 0.0  # monotonic start of cerebro's current round
        self._may_wait = False  # the first _load of a round may wait, later ones not
        self.delivered_at = 0.0  # monotonic time of the last bar handed to cerebro

    def __repr__(self) -> str:
        return f"<TradeDataLiveFeed {self._store.exchange} {self.symbol} {self.timeframe_name}>"

    @property
    def store(self) -> TradeDataStore:
        """The store serving this feed."""
        return self._store

    # -- backtrader protocol -----------------------------------------------------------------
    def setenvironment(self, env: Any) -> None:
        """Join cerebro and register the store, so ``notify_store`` hears from it."""
        super().setenvironment(env)
        env.addstore(self._store)

    def islive(self) -> bool:
        """Always True: cerebro then runs bar by bar (no preload, no runonce)."""
        return True

    def haslivedata(self) -> bool:
        """True when a bar or status is waiting on the queue."""
        return not self.queue.empty()

    def _gettzinput(self) -> Any:
        return None  # bars are stamped in UTC already (see bt_source.StampRule)

    def _timeoffset(self) -> _dt.timedelta:
        """Offset from the wall clock to the feed's clock: the stamp of the last bar.

        backtrader's resampler, when a live feed has no new bar, closes the bar in progress
        once ``utcnow() + _timeoffset()`` passes its end. The exchange's clock is not ours (and
        the last 1m bar of a 5m bar arrives after the 5m boundary), so the feed's clock is the
        data itself: a resampled bar is delivered when the bar that completes it arrives.
        """
        if self._clock is None:
            return _dt.timedelta()
        return self._clock - _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)

    def start(self) -> None:
        """Subscribe to the stream and start the backfill (both in the background)."""
        super().start()
        p = self.p
        self.queue = queue.Queue()
        self._over = False
        self._clock = None
        self._rule = StampRule.for_feed(
            p.timeframe, p.compression, p.sessionend, tz=bt.utils.tzparse(p.tz),
            symbol=self.symbol,
        )  # fmt: skip
        start_ms = None
        if p.fromdate is not None:
            tz = bt.utils.tzparse(p.tz)
            fromdate = p.fromdate
            if tz is not None and fromdate.tzinfo is None:
                fromdate = tz.localize(fromdate)  # backtrader reads fromdate in ``tz``
            # one bar early: backtrader compares fromdate with bar-end stamps and drops the rest
            opened = self.tf.floor(to_utc(fromdate))
            start = self.tf.floor(opened - pd.Timedelta(nanoseconds=1))
            start_ms = int(start.value // 1_000_000)
        try:
            self._series = self._store.open_series(self, start_ms)
        except (InvalidTimeframeError, UnsupportedError) as exc:
            self._refuse(self.NOTSUPPORTED_TF, exc)
        except (SymbolNotFoundError, InputError) as exc:
            self._refuse(self.NOTSUBSCRIBED, exc)
        except TradeDataError as exc:  # the exchange cannot be reached or configured
            self._refuse(self.DISCONNECTED, exc)

    def _refuse(self, status: int, exc: Exception) -> None:
        self.put_notification(status, str(exc))
        event = "disconnected" if status == self.DISCONNECTED else "refused"
        notice = StoreNotice(self._store.exchange, event, f"{self.symbol}: {exc}")
        self._store.put_notification(notice)
        self._over = True

    def stop(self) -> None:
        """Unsubscribe (the store closes the connection when its last feed stops)."""
        super().stop()
        series, self._series = self._series, None
        if series is not None:
            self._store.close_series(series)
        self._over = True

    def _others_have_data(self) -> bool:
        """True when another data of this cerebro has a bar waiting, or handed one over in
        this round: then this feed does not hold the round up waiting for its own."""
        env = getattr(self, "_env", None)
        start = self._round_start
        for d in getattr(env, "datas", ()):
            if d is not self and (d.haslivedata() or getattr(d, "delivered_at", 0.0) >= start):
                return True
        return False

    def do_qcheck(self, onoff: bool, qlapse: float) -> None:
        """Cerebro's wait budget for this round of its loop; ``_load`` never waits past it.

        Cerebro may call ``_load`` again in the same round (to fill a data that had no bar
        while others had one); that call takes what is there and does not wait.
        """
        super().do_qcheck(onoff, qlapse)
        now = time.monotonic()
        self._deadline = now + self._qcheck
        self._round_start = now - qlapse
        self._may_wait = True

    def _load(self) -> bool | None:
        if self._over:
            return False
        now = time.monotonic()
        deadline = min(self._deadline, now + self.p.qcheck) if self._may_wait else now
        self._may_wait = False
        while True:
            seen = ARRIVALS.count
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                left = deadline - time.monotonic()
                if left <= 0 or self._others_have_data():
                    return None  # let cerebro take the bars already here, run timers ...
                ARRIVALS.wait(seen, left)
                continue
            if isinstance(item, StatusItem):
                self.put_notification(item.status)
                if item.final:
                    self._over = True
                    return False
                continue
            return self._deliver(item)

    def _stamp(self, open_ms: int) -> float:
        """backtrader's datetime for the bar opening at ``open_ms`` (as TradeDataFeed's)."""
        rule = self._rule
        assert rule is not None
        if rule.bar_us is not None:  # intraday: the bar's close, as bt_time.datenums does
            self._clock = _EPOCH + _dt.timedelta(microseconds=open_ms * 1000 + rule.bar_us)
            return float(bt.date2num(self._clock))
        opened = pd.DatetimeIndex([pd.Timestamp(open_ms, unit="ms", tz="UTC")])
        stamp = float(rule.stamps(opened)[0])
        self._clock = bt.num2date(stamp)
        return stamp

    def _deliver(self, bar: LiveBar) -> bool:
        status = self.LIVE if bar.live else self.DELAYED
        if self._laststatus != status:
            self.put_notification(status)
        stamp = self._stamp(bar.open_ms)
        lines = self.lines
        lines.datetime[0] = stamp
        lines.open[0] = bar.open
        lines.high[0] = bar.high
        lines.low[0] = bar.low
        lines.close[0] = bar.close
        lines.volume[0] = bar.volume
        lines.openinterest[0] = 0.0
        self.delivered_at = time.monotonic()
        self.bar_open_ms = bar.open_ms
        self.bar_event_ms = bar.event_ms
        self.bar_received = bar.received
        return True


TradeDataStore.DataCls = TradeDataLiveFeed  # what store.getdata() makes (backtrader's convention)
