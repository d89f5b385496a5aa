"""The live store's REST gap fill after a long outage goes through the page contract: every
missed bar is delivered, exactly once, on Bybit whose kline window keeps its newest bars
(issue 10, point 4). Real backtrader, websockets and ccxt against the simulator."""

# ruff: noqa: F811 - the session fixtures are imported, then requested by name

from __future__ import annotations

import threading

import backtrader as bt
import pandas as pd
import pytest

from tests.feeds.test_live_sessions import (  # noqa: F401 - fixtures and helpers
    _fresh_breakers,
    _no_leaked_threads,
    assert_canonical,
    make_store,
    run_session,
    sim,
)
from tradedata.sim import ExchangeSimulator, Faults, StreamSettings

OUTAGE_BARS = 1500  # more than one Bybit page (1000 bars)


@pytest.mark.parametrize("exchange", ["bybit", "binance"])
def test_every_bar_missed_in_a_long_outage_is_delivered(
    sim: ExchangeSimulator, make_store, exchange
):
    store = make_store(sim, exchange)
    data = store.getdata(
        dataname="BTC/USDT", timeframe=bt.TimeFrame.Minutes, compression=1, backfill_bars=5
    )

    def outage(_strategy: object) -> None:
        # the connection is cut on every push while 1500 minutes pass on the exchange ...
        sim.set_faults(ws_drop_every=1)
        sim.advance(OUTAGE_BARS * 60)
        # ... and comes back a little later: the missed bars must come from REST
        threading.Timer(1.0, lambda: sim.set_faults(Faults())).start()

    strategy, _ = run_session([data], stop_after=OUTAGE_BARS + 8, actions={2: outage})

    rows = strategy.rows[data]
    seen = assert_canonical(sim, exchange, "BTC/USDT", rows)  # contiguous, exact, none twice
    assert len(seen) >= 5 + OUTAGE_BARS
    assert not [n for n in strategy.notices if " gap" in n or n.startswith(f"{exchange}: gap")]
    assert sim.stats.faults["ws_drop"] >= 1
    assert seen.index[-1] >= sim.now().floor("min") - pd.Timedelta(minutes=10)


@pytest.mark.parametrize("exchange", ["bybit", "binance"])
def test_an_exchange_outage_passes_without_invented_bars_or_a_false_gap(
    sim: ExchangeSimulator, make_store, exchange
):
    store = make_store(sim, exchange)
    data = store.getdata(
        dataname="BTC/USDT", timeframe=bt.TimeFrame.Minutes, compression=1, backfill_bars=5
    )
    halted: list[pd.Timestamp] = []

    def halt(_strategy: object) -> None:
        # the exchange stops trading for 4 minutes: no candles at all, REST or websocket
        soon = sim.now().floor("min") + pd.Timedelta(minutes=2)
        halted.extend([soon, soon + pd.Timedelta(minutes=4)])
        sim.set_outages([(soon, soon + pd.Timedelta(minutes=4))])

    strategy, _ = run_session([data], stop_after=14, actions={2: halt})

    seen = assert_canonical(sim, exchange, "BTC/USDT", strategy.rows[data])
    assert seen.index[-1] > halted[1]  # the feed went on past the halt ...
    inside = seen[(seen.index >= halted[0]) & (seen.index < halted[1])]
    assert inside.empty  # ... with nothing made up for it
    assert not [n for n in strategy.notices if "gap" in n]
    assert strategy.statuses[data][-1] == "LIVE"


def test_binance_24h_cut_is_reconnected_without_a_missing_or_repeated_bar(make_store):
    streams = StreamSettings(
        update_interval=2.0, min_interval=0.05, ping_interval=None, connection_lifetime=1.5
    )  # Binance's 24 hours, scaled
    with ExchangeSimulator(
        seed=8, speed=120.0, start="2024-03-06 12:00:20", history_start="2024-03-01",
        streams=streams,
    ) as cutting:  # fmt: skip
        store = make_store(cutting, "binance")
        data = store.getdata(
            dataname="ETH/USDT", timeframe=bt.TimeFrame.Minutes, compression=1, backfill_bars=3
        )

        strategy, _ = run_session([data], stop_after=10)

        assert_canonical(cutting, "binance", "ETH/USDT", strategy.rows[data])
        assert cutting.stats.faults["ws_lifetime"] >= 2
        assert sum(n.startswith("binance: reconnected") for n in strategy.notices) >= 2


def test_a_fill_the_exchange_cannot_prove_raises_with_the_reason(tmp_path, monkeypatch):
    from tradedata.adapters.paging import Unfetched
    from tradedata.errors import TemporaryProviderError
    from tradedata.feeds.live.rest import RestSource
    from tradedata.fetching import FetchResult
    from tradedata.manager import DataManager
    from tradedata.model import parse_timeframe

    dm = DataManager(cache_dir=tmp_path / "cache", providers={})
    try:
        source = RestSource(dm, "bybit", "BTC/USDT", parse_timeframe("1m"))
        start = pd.Timestamp("2024-03-01 09:00", tz="UTC")
        end = start + pd.Timedelta(minutes=30)
        newest = int(end.value // 1_000_000)
        monkeypatch.setattr(source, "last_closed_ms", lambda: newest)
        unproven = Unfetched(start, end, "bybit answers only its newest 1000 1m bars")
        monkeypatch.setattr(dm, "fetch_missing", lambda *a, **k: FetchResult(unfetched=[unproven]))

        with pytest.raises(TemporaryProviderError, match="newest 1000 1m bars"):
            source.closed_bars(newest - 30 * 60_000, newest)
    finally:
        dm.close()
