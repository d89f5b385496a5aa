"""Full ``cerebro.run()`` sessions on live feeds against the exchange simulator.

Real backtrader, real websockets, real ccxt on 127.0.0.1, with sim time running fast (a 1m bar
closes every half second). Every session checks that the bars the strategy saw are exactly the
simulator's canonical series: no gap, no repeat, no still-open candle.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import backtrader as bt
import pandas as pd
import pytest

from tradedata.adapters import resilience
from tradedata.adapters.resilience import CircuitBreaker, RetryPolicy
from tradedata.feeds import TradeDataLiveFeed, TradeDataStore
from tradedata.sim import ExchangeSimulator, Faults, StreamSettings

SPEED = 120.0  # a 1m bar closes every 0.5 s of wall time
START = "2024-03-06 12:00:20"
FAST_STREAMS = StreamSettings(update_interval=2.0, min_interval=0.05, ping_interval=None)
RUN_LIMIT = 25.0  # seconds before a session is stopped from outside (it must not hang)
LIVE_THREADS = ("tradedata-live", "tradedata-poll")


def live_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(LIVE_THREADS)]


def live_stacks() -> str:
    """Where the live threads still running are (for the failure message)."""
    names = {t.ident: t.name for t in threading.enumerate() if t.name.startswith(LIVE_THREADS)}
    frames = sys._current_frames()
    return "\n".join(
        f"{name}:\n" + "".join(traceback.format_stack(frames[ident]))
        for ident, name in names.items()
        if ident in frames
    )


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    yield
    deadline = time.monotonic() + 3.0
    while live_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live_threads() == [], live_stacks()


@pytest.fixture(autouse=True)
def _fresh_breakers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resilience, "_buckets", {})
    monkeypatch.setattr(resilience, "_breakers", {})


@pytest.fixture
def sim() -> Iterator[ExchangeSimulator]:
    with ExchangeSimulator(
        seed=5, speed=SPEED, start=START, history_start="2024-03-01", streams=FAST_STREAMS
    ) as server:
        yield server


@pytest.fixture
def make_store(tmp_path: Any) -> Iterator[Callable[..., TradeDataStore]]:
    stores: list[TradeDataStore] = []

    def make(sim: ExchangeSimulator, exchange: str = "binance", **options: Any) -> TradeDataStore:
        options.setdefault("silence_timeout", 0.6)
        options.setdefault("reconnect_delay", 0.05)
        options.setdefault("reconnect_max_delay", 0.4)
        options.setdefault("cache_interval", 0.0)
        config = {"providers": {exchange: {"url": sim.url, "ws_url": sim.ws_base}}}
        cache_dir = tmp_path / f"cache-{exchange}"  # the cache does not tell exchanges apart
        store = TradeDataStore(exchange, config=config, cache_dir=cache_dir, **options)
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()


class TimedFeed(TradeDataLiveFeed):
    """A live feed recording how long each ``_load`` call took."""

    def __init__(self) -> None:
        super().__init__()
        self.load_seconds: list[float] = []

    def _load(self) -> bool | None:
        started = time.monotonic()
        try:
            return super()._load()
        finally:
            self.load_seconds.append(time.monotonic() - started)


class Recorder(bt.Strategy):
    """Records each data's bars, statuses and store notices; acts on live-bar counts.

    ``stop_after``: stop once every data delivered that many bars after turning LIVE;
    ``actions``: ``{count: callable(strategy)}`` run when data0 reaches that count;
    ``buy_at``: buy ``size`` of data0 at market at that count.
    """

    params = (("stop_after", 8), ("actions", None), ("buy_at", None), ("size", 0.5))

    def __init__(self) -> None:
        self.rows: dict[Any, list[tuple[Any, ...]]] = {d: [] for d in self.datas}
        self.statuses: dict[Any, list[str]] = {d: [] for d in self.datas}
        self.live_bars = {d: 0 for d in self.datas}
        self.seen = {d: 0 for d in self.datas}
        self.notices: list[str] = []
        self.fills: list[tuple[int, float, float, float]] = []
        self.buy_index: int | None = None
        self._done: set[int] = set()

    def notify_data(self, data: Any, status: int, *args: Any, **kwargs: Any) -> None:
        self.statuses[data].append(data._getstatusname(status))

    def notify_store(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.notices.append(str(msg))

    def notify_order(self, order: Any) -> None:
        if order.status == order.Completed:
            ex = order.executed
            self.fills.append((len(self.data0) - 1, ex.price, ex.size, ex.comm))

    def prenext(self) -> None:
        self.next()

    def next(self) -> None:
        for d in self.datas:
            if len(d) == self.seen[d]:
                continue
            self.seen[d] = len(d)
            close = pd.Timestamp(bt.num2date(d.datetime[0])).round("s").tz_localize("UTC")
            row = (close, d.open[0], d.high[0], d.low[0], d.close[0], d.volume[0])
            self.rows[d].append(row)
            if "LIVE" in self.statuses[d]:
                self.live_bars[d] += 1
        count = self.live_bars[self.data0]
        for at, action in (self.p.actions or {}).items():
            if count >= at and at not in self._done:
                self._done.add(at)
                action(self)
        if self.p.buy_at is not None and count >= self.p.buy_at and self.buy_index is None:
            self.buy_index = len(self.rows[self.data0]) - 1
            self.buy(data=self.data0, size=self.p.size)
        if all(n >= self.p.stop_after for n in self.live_bars.values()):
            self.env.runstop()


def run_session(
    datas: list[Any],
    *,
    broker: Any = None,
    how: str = "add",
    how_kwargs: dict[str, Any] | None = None,
    **params: Any,
) -> tuple[Recorder, float]:
    """Run a cerebro over ``datas`` (stopped from outside after RUN_LIMIT s); returns the
    strategy and the wall seconds the run took."""
    cerebro = bt.Cerebro(stdstats=False)
    for data in datas:
        getattr(
            cerebro, {"add": "adddata", "resample": "resampledata", "replay": "replaydata"}[how]
        )(data, **(how_kwargs or {}))
    if broker is not None:
        cerebro.setbroker(broker)
    cerebro.addstrategy(Recorder, **params)
    watchdog = threading.Timer(RUN_LIMIT, cerebro.runstop)
    watchdog.start()
    started = time.monotonic()
    try:
        strategy = cerebro.run()[0]
    finally:
        watchdog.cancel()
    return strategy, time.monotonic() - started


def as_frame(rows: list[tuple[Any, ...]], bar: str = "1min") -> pd.DataFrame:
    """Recorded rows (stamped at bar close) as a tradedata frame indexed by bar open."""
    index = pd.DatetimeIndex([r[0] for r in rows], name="timestamp") - pd.Timedelta(bar)
    columns = ["open", "high", "low", "close", "volume"]
    return pd.DataFrame([r[1:] for r in rows], index=index, columns=columns, dtype="float64")


def assert_canonical(
    sim: ExchangeSimulator, exchange: str, symbol: str, rows: list[Any], timeframe: str = "1m"
) -> pd.DataFrame:
    """The recorded bars are exactly the simulator's closed bars over their span."""
    bar = pd.Timedelta(timeframe.replace("m", "min"))
    seen = as_frame(rows, bar)
    assert len(seen), "no bars"
    truth = sim.canonical(exchange, symbol, timeframe, seen.index[0], seen.index[-1] + bar)
    pd.testing.assert_frame_equal(seen, truth, check_freq=False)
    return seen


def live_part(strategy: Recorder, data: Any) -> int:
    return strategy.live_bars[data]


# -- one exchange, through faults ---------------------------------------------------------------


def test_binance_backfill_then_live_through_drops_and_silences(sim, make_store):
    store = make_store(sim, "binance")
    data = TimedFeed(
        dataname="BTC/USDT", store=store, timeframe=bt.TimeFrame.Minutes, compression=1,
        backfill_bars=30, qcheck=0.2,
    )  # fmt: skip
    actions = {
        2: lambda s: sim.set_faults(ws_drop_every=6),
        5: lambda s: sim.set_faults(ws_drop_every=None, ws_silence_every=8, ws_silence_seconds=1.0),
        9: lambda s: sim.set_faults(Faults()),
    }

    strategy, _ = run_session(
        [data], broker=store.getbroker(cash=1e6), stop_after=12, actions=actions, buy_at=3
    )

    rows = strategy.rows[data]
    seen = assert_canonical(sim, "binance", "BTC/USDT", rows)
    assert len(seen) >= 30 + 12
    faults = sim.stats.faults
    assert faults["ws_drop"] >= 2 and faults["ws_silence"] >= 1
    statuses = strategy.statuses[data]
    assert statuses[0] == "DELAYED" and "LIVE" in statuses and statuses[-1] == "LIVE"
    assert statuses.count("CONNBROKEN") >= 3
    assert any(n.startswith("binance: reconnected") for n in strategy.notices)
    assert max(data.load_seconds) < 0.2 + 0.1


def test_paper_market_order_fills_at_next_open_with_the_exchange_fee(sim, make_store):
    store = make_store(sim, "binance")
    data = store.getdata(dataname="BTC/USDT", timeframe=bt.TimeFrame.Minutes, backfill_bars=5)

    strategy, _ = run_session([data], broker=store.getbroker(cash=1e6), stop_after=3, buy_at=1)

    assert_canonical(sim, "binance", "BTC/USDT", strategy.rows[data])
    (index, price, size, comm) = strategy.fills[0]
    assert strategy.buy_index is not None and index == strategy.buy_index + 1
    assert price == strategy.rows[data][index][1]  # the open of the bar after the order
    assert size == 0.5
    assert comm == pytest.approx(size * price * 0.001, rel=1e-12)
    assert store.fee("BTC/USDT") == 0.001


# -- several exchanges and feeds ------------------------------------------------------------------


def test_two_exchanges_share_one_connection_each(sim, make_store):
    stores = [make_store(sim, "binance"), make_store(sim, "bybit")]
    datas = [
        store.getdata(dataname=symbol, timeframe=bt.TimeFrame.Minutes, backfill_bars=10)
        for store in stores
        for symbol in ("BTC/USDT", "ETH/USDT")
    ]

    strategy, _ = run_session(datas, stop_after=4)

    for data in datas:
        assert_canonical(sim, data.store.exchange, data.symbol, strategy.rows[data])
        assert strategy.live_bars[data] >= 4
    assert sim.stats.ws_connections == 2  # one per exchange, four streams
    assert sim.stats.ws_subscriptions == 4


def test_resampled_live_feed_matches_the_coarser_canonical_bars(sim, make_store):
    store = make_store(sim, "binance")
    data = store.getdata(dataname="ETH/USDT", timeframe=bt.TimeFrame.Minutes, backfill_bars=9)

    strategy, _ = run_session(
        [data], how="resample", stop_after=3,
        how_kwargs={"timeframe": bt.TimeFrame.Minutes, "compression": 3},
    )  # fmt: skip

    rows = strategy.rows[data][1:]  # the first 3m bar may hold only part of its minutes
    assert len(rows) >= 3 + 2
    assert_canonical(sim, "binance", "ETH/USDT", rows, "3m")


def test_replayed_live_feed_ends_each_bar_at_the_coarser_canonical_bar(sim, make_store):
    store = make_store(sim, "binance")
    data = store.getdata(dataname="SOL/USDT", timeframe=bt.TimeFrame.Minutes, backfill_bars=6)
    finals: list[tuple[Any, ...]] = []

    class Replay(Recorder):
        def next(self) -> None:
            d = self.data0
            close = pd.Timestamp(bt.num2date(d.datetime[0])).round("s").tz_localize("UTC")
            row = (close, d.open[0], d.high[0], d.low[0], d.close[0], d.volume[0])
            if finals and len(d) == self.seen[d]:
                finals[-1] = row  # the bar in progress grew
            elif len(d) != self.seen[d]:
                finals.append(row)
            super().next()

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.replaydata(data, timeframe=bt.TimeFrame.Minutes, compression=3)
    cerebro.addstrategy(Replay, stop_after=4)
    watchdog = threading.Timer(RUN_LIMIT, cerebro.runstop)
    watchdog.start()
    try:
        cerebro.run()
    finally:
        watchdog.cancel()

    complete = finals[1:-1]  # the first may lack minutes, the last may be in progress
    assert len(complete) >= 3
    assert_canonical(sim, "binance", "SOL/USDT", complete, "3m")


# -- REST polling -------------------------------------------------------------------------------


def test_polling_mode_delivers_closed_bars_and_survives_a_rest_outage(sim, make_store, monkeypatch):
    store = make_store(sim, "binance", mode="polling", poll_interval=0.1, max_retries=50)
    provider = store.manager.provider("binance")
    monkeypatch.setattr(provider, "retry_policy", RetryPolicy(max_attempts=1))
    monkeypatch.setitem(resilience._breakers, f"binance@{sim.url}", CircuitBreaker(threshold=10**6))
    data = store.getdata(dataname="BTC/USDT", timeframe=bt.TimeFrame.Minutes, backfill_bars=5)

    def outage(_: Any) -> None:
        sim.set_faults(error_rate=1.0, paths=("/api/v3/klines", "/api/v3/time"))
        threading.Timer(1.2, lambda: sim.set_faults(Faults())).start()

    strategy, _ = run_session([data], stop_after=7, actions={2: outage})

    assert_canonical(sim, "binance", "BTC/USDT", strategy.rows[data])
    statuses = strategy.statuses[data]
    assert statuses[0] == "DELAYED" and statuses[-1] == "LIVE"
    assert "CONNBROKEN" in statuses
    assert sim.stats.ws_connections == 0


# -- giving up, refusing ----------------------------------------------------------------------


def test_stopped_exchange_ends_the_feed_disconnected_after_max_retries(sim, make_store):
    store = make_store(sim, "bybit", max_retries=3)
    data = store.getdata(dataname="BTC/USDT", timeframe=bt.TimeFrame.Minutes, backfill_bars=3)

    strategy, seconds = run_session([data], stop_after=10**6, actions={1: lambda s: sim.stop()})

    statuses = strategy.statuses[data]
    assert statuses[-2:] == ["CONNBROKEN", "DISCONNECTED"]
    assert any(n.startswith("bybit: disconnected") for n in strategy.notices)
    tries = [n for n in strategy.notices if n.startswith("bybit: reconnecting")]
    assert len(tries) == 3
    assert seconds < RUN_LIMIT


def test_unknown_symbol_is_not_subscribed(sim, make_store):
    store = make_store(sim, "binance")
    data = store.getdata(dataname="NOPE/USDT", timeframe=bt.TimeFrame.Minutes)

    strategy, seconds = run_session([data])

    assert strategy.statuses[data] == ["NOTSUBSCRIBED"]
    assert strategy.rows[data] == []
    assert seconds < 5


def test_exchange_unreachable_at_start_is_disconnected(make_store, monkeypatch):
    with ExchangeSimulator(seed=1) as gone:
        pass  # stopped: its port refuses connections now
    store = make_store(gone, "binance")
    quick = RetryPolicy(max_attempts=1)
    monkeypatch.setattr(store.manager.provider("binance"), "retry_policy", quick)
    data = store.getdata(dataname="BTC/USDT", timeframe=bt.TimeFrame.Minutes)

    strategy, seconds = run_session([data])

    assert strategy.statuses[data] == ["DISCONNECTED"]
    assert any("BTC/USDT" in n for n in strategy.notices)
    assert seconds < 5


def test_timeframe_the_stream_lacks_is_not_supported(sim, make_store):
    store = make_store(sim, "bybit")
    data = store.getdata(dataname="BTC/USDT", timeframe=bt.TimeFrame.Minutes, compression=480)

    strategy, _ = run_session([data])

    assert strategy.statuses[data] == ["NOTSUPPORTED_TIMEFRAME"]


# -- the cache ------------------------------------------------------------------------------------


def test_streamed_bars_are_cached_with_coverage_never_the_open_candle(sim, make_store):
    store = make_store(sim, "bybit")
    data = store.getdata(dataname="ETH/USDT", timeframe=bt.TimeFrame.Minutes, backfill_bars=4)

    strategy, _ = run_session([data], stop_after=4)
    store.stop()

    seen = as_frame(strategy.rows[data])
    cache = store.manager.cache
    cached = cache.read("ETH/USDT", "1m", seen.index[0], seen.index[-1], source="bybit")
    pd.testing.assert_frame_equal(cached, seen, check_freq=False)
    assert cache.missing_ranges("ETH/USDT", "1m", *seen.index[[0, -1]], source="bybit") == []
    assert cache.read("ETH/USDT", "1m").empty  # Bybit's bars are Bybit's series only
    newest = cache.read("ETH/USDT", "1m", source="bybit").index[-1]
    assert newest < sim.now().floor("min")  # the still-open candle never reached the cache


# -- history only, live only ----------------------------------------------------------------------


def test_historical_mode_delivers_the_backfill_from_fromdate_and_ends(sim, make_store):
    store = make_store(sim, "bybit")
    fromdate = (sim.now() - pd.Timedelta(minutes=20)).floor("min").tz_localize(None)
    data = store.getdata(
        dataname="SOL/USDT", timeframe=bt.TimeFrame.Minutes, fromdate=fromdate.to_pydatetime(),
        historical=True,
    )  # fmt: skip

    strategy, seconds = run_session([data], stop_after=10**6)

    seen = assert_canonical(sim, "bybit", "SOL/USDT", strategy.rows[data])
    first_close = seen.index[0] + pd.Timedelta("1min")
    assert first_close == fromdate.tz_localize("UTC")  # backtrader: bar-end stamp >= fromdate
    assert len(seen) >= 20
    assert strategy.statuses[data] == ["DELAYED", "DISCONNECTED"]
    assert seconds < RUN_LIMIT


def test_without_backfill_the_first_bar_is_the_first_streamed_one(sim, make_store):
    store = make_store(sim, "binance")
    data = store.getdata(dataname="ETH/USDT", timeframe=bt.TimeFrame.Minutes, backfill_start=False)
    started = sim.now()

    strategy, _ = run_session([data], stop_after=3)

    seen = assert_canonical(sim, "binance", "ETH/USDT", strategy.rows[data])
    assert seen.index[0] >= started.floor("min")
    assert "DELAYED" not in strategy.statuses[data]
    assert strategy.statuses[data][0] == "LIVE"


def test_a_live_session_on_a_shared_postgresql_store(sim, pg_url, monkeypatch):
    # TRADEDATA_STORE selects the shared store for the live store's own manager, unchanged
    monkeypatch.setenv("TRADEDATA_STORE", pg_url)
    config = {"providers": {"binance": {"url": sim.url, "ws_url": sim.ws_base}}}
    store = TradeDataStore(
        "binance", config=config, silence_timeout=0.6, reconnect_delay=0.05, cache_interval=0.0
    )
    try:
        data = TradeDataLiveFeed(
            dataname="BTC/USDT", store=store, timeframe=bt.TimeFrame.Minutes, compression=1,
            backfill_bars=10, qcheck=0.2,
        )  # fmt: skip
        strategy, _ = run_session([data], stop_after=4)
        seen = assert_canonical(sim, "binance", "BTC/USDT", strategy.rows[data])
        assert store.manager.cache.location.startswith("postgresql://")
    finally:
        store.close()
    from tradedata.cache.postgres import PostgresStore

    with PostgresStore(pg_url) as shared:
        stored = shared.read("BTC/USDT", "1m")
    assert set(seen.index[-4:]) <= set(stored.index)  # the live bars reached the shared store
