"""The shared websocket hub on its own: subscriptions, refusals, silence, sharing, closing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tradedata.feeds.live.dialects import BINANCE, BYBIT
from tradedata.feeds.live.hub import StreamHub, acquire_hub, release_hub
from tradedata.feeds.live.model import Connection, LiveBar, LiveSettings, StoreNotice
from tradedata.sim import ExchangeSimulator, Faults, StreamSettings

SPEED = 600.0  # a 1m bar closes every 0.1 s
SETTINGS = LiveSettings(silence_timeout=0.4, reconnect_delay=0.02, reconnect_max_delay=0.1)


class Sink:
    """Collects what a hub delivers to one topic."""

    def __init__(self) -> None:
        self.bars: list[LiveBar] = []
        self.events: list[str] = []
        self.changed = threading.Event()

    def on_bar(self, bar: LiveBar) -> None:
        self.bars.append(bar)
        self.changed.set()

    def on_event(self, event: str, detail: str = "") -> None:
        self.events.append(event)
        self.changed.set()


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.fixture
def sim() -> Iterator[ExchangeSimulator]:
    streams = StreamSettings(min_interval=0.05, ping_interval=None)
    with ExchangeSimulator(seed=3, speed=SPEED, start="2024-03-06 12:00:05", streams=streams) as s:
        yield s


@pytest.fixture
def hubs() -> Iterator[list[StreamHub]]:
    made: list[StreamHub] = []
    yield made
    for hub in made:
        hub.close()


def test_topics_added_later_join_the_same_connection(sim, hubs):
    hub = StreamHub(BINANCE, sim.ws_base, SETTINGS)
    hubs.append(hub)
    btc, eth = Sink(), Sink()

    hub.add("btcusdt@kline_1m", btc)
    assert wait_for(lambda: len(btc.bars) >= 2)
    hub.add("ethusdt@kline_1m", eth)
    assert wait_for(lambda: len(eth.bars) >= 2)

    assert sim.stats.ws_connections == 1
    assert hub.stats.subscribe_requests == 1  # the first topic rode in the URL
    assert btc.events[0] == Connection.CONNECTED
    steps = {b.open_ms - a.open_ms for a, b in zip(btc.bars, btc.bars[1:], strict=False)}
    assert steps == {60_000}


def test_a_refused_topic_is_reported_to_its_sink_and_the_store(sim, hubs):
    hub = StreamHub(BYBIT, sim.ws_base, SETTINGS)
    hubs.append(hub)
    notices: list[StoreNotice] = []
    hub.add_listener(notices.append)
    good, bad = Sink(), Sink()

    hub.add("kline.1.BTCUSDT", good)
    hub.add("kline.1.NOPEUSDT", bad)

    assert wait_for(lambda: Connection.REFUSED in bad.events)
    assert wait_for(lambda: len(good.bars) >= 1)
    assert any(n.event == "refused" and "NOPEUSDT" in n for n in notices)


def test_silence_breaks_the_connection_and_it_comes_back(sim, hubs):
    sim.set_faults(ws_silence_every=3, ws_silence_seconds=2.0)
    hub = StreamHub(BINANCE, sim.ws_base, SETTINGS)
    hubs.append(hub)
    sink = Sink()

    hub.add("solusdt@kline_1m", sink)
    assert wait_for(lambda: Connection.RECONNECTED in sink.events)
    sim.set_faults(Faults())
    count = len(sink.bars)
    assert wait_for(lambda: len(sink.bars) >= count + 2)

    assert sink.events[:2] == [Connection.CONNECTED, Connection.BROKEN]
    assert hub.stats.breaks >= 1 and sim.stats.faults["ws_silence"] >= 1


def test_unreachable_exchange_is_given_up_after_max_retries(hubs):
    with ExchangeSimulator(seed=1) as gone:
        base = gone.ws_base
    hub = StreamHub(BINANCE, base, LiveSettings(max_retries=2, reconnect_delay=0.01))
    hubs.append(hub)
    notices: list[StoreNotice] = []
    hub.add_listener(notices.append)
    sink = Sink()

    hub.add("btcusdt@kline_1m", sink)

    assert wait_for(lambda: Connection.DISCONNECTED in sink.events)
    assert sink.events == [Connection.BROKEN] * 3 + [Connection.DISCONNECTED]
    assert [n.event for n in notices].count("reconnecting") == 2
    assert not hub.alive
    late = Sink()
    hub.add("ethusdt@kline_1m", late)
    assert late.events == [Connection.DISCONNECTED]


def test_one_hub_per_exchange_and_url_until_the_last_user_leaves(sim):
    first = acquire_hub(BINANCE, sim.ws_base, SETTINGS)
    second = acquire_hub(BINANCE, sim.ws_base, SETTINGS)
    other = acquire_hub(BYBIT, sim.ws_base, SETTINGS)
    try:
        assert first is second and first is not other
        release_hub(second)
        assert first._thread.is_alive()
    finally:
        release_hub(first)
        release_hub(other)
    assert not first._thread.is_alive() and not other._thread.is_alive()


def test_removed_sink_hears_nothing_more(sim, hubs):
    hub = StreamHub(BINANCE, sim.ws_base, SETTINGS)
    hubs.append(hub)
    kept, dropped = Sink(), Sink()
    hub.add("btcusdt@kline_1m", kept)
    hub.add("btcusdt@kline_1m", dropped)
    assert wait_for(lambda: len(dropped.bars) >= 1)

    hub.remove("btcusdt@kline_1m", dropped)
    seen = len(dropped.bars)
    count = len(kept.bars)
    assert wait_for(lambda: len(kept.bars) >= count + 2)

    assert len(dropped.bars) == seen
