"""``DataManager.get_live_feed``: history then closed bars, without backtrader.

Real websockets and real ccxt against the exchange simulator on 127.0.0.1, sim time running
fast (a 1m bar closes every half second). The bars a feed hands out must be exactly the
simulator's canonical closed bars: no gap, no repeat, no still-open candle, through drops.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tradedata.adapters import resilience
from tradedata.errors import InputError, UnsupportedError
from tradedata.feeds.live.plain import Bar, LiveFeed
from tradedata.manager import DataManager
from tradedata.sim import ExchangeSimulator, Faults, StreamSettings

SPEED = 120.0  # a 1m bar closes every 0.5 s of wall time
FAST_STREAMS = StreamSettings(update_interval=2.0, min_interval=0.05, ping_interval=None)
FAST = {
    "silence_timeout": 0.6, "reconnect_delay": 0.05, "reconnect_max_delay": 0.4,
    "cache_interval": 0.0,
}  # fmt: skip


def live_threads() -> list[str]:
    names = ("tradedata-live", "tradedata-poll")
    return [t.name for t in threading.enumerate() if t.name.startswith(names)]


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    yield
    deadline = time.monotonic() + 3.0
    while live_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live_threads() == []


@pytest.fixture(autouse=True)
def _fresh_breakers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resilience, "_buckets", {})
    monkeypatch.setattr(resilience, "_breakers", {})


@pytest.fixture
def sim() -> Iterator[ExchangeSimulator]:
    with ExchangeSimulator(
        seed=5, speed=SPEED, start="2024-03-06 12:00:20", history_start="2024-03-01",
        streams=FAST_STREAMS,
    ) as server:  # fmt: skip
        yield server


@pytest.fixture
def dm(sim: ExchangeSimulator, tmp_path: Path) -> Iterator[DataManager]:
    providers = {"binance": {"url": sim.url, "ws_url": sim.ws_base}}
    with DataManager(cache_dir=tmp_path / "cache", providers=providers) as manager:
        yield manager


def assert_canonical(sim: ExchangeSimulator, bars: list[Bar]) -> pd.DataFrame:
    """The bars are exactly the simulator's closed bars over their span."""
    assert bars, "no bars"
    seen = pd.DataFrame(
        [b[1:6] for b in bars],
        index=pd.DatetimeIndex([b.timestamp for b in bars], name="timestamp"),
        columns=["open", "high", "low", "close", "volume"],
        dtype="float64",
    )
    end = seen.index[-1] + pd.Timedelta("1min")
    truth = sim.canonical("binance", "BTC/USDT", "1m", seen.index[0], end)
    pd.testing.assert_frame_equal(seen, truth, check_freq=False)
    return seen


def test_history_then_live_bars_through_callbacks_and_the_iterator(sim, dm):
    got: list[Bar] = []
    statuses: list[str] = []

    feed = dm.get_live_feed(
        "btc/usdt", "1m", lookback_bars=20, exchange="binance",
        on_bar=got.append, on_status=lambda s, d: statuses.append(s), **FAST,
    )  # fmt: skip
    with feed:
        assert isinstance(feed, LiveFeed)
        iterated = []
        for bar in feed.iter(timeout=5.0):
            iterated.append(bar)
            if sum(b.live for b in iterated) >= 4:
                break
        assert feed.status == "live"

    history = [b for b in iterated if not b.live]
    assert len(history) == 20
    assert iterated == got[: len(iterated)]  # the callback saw the same bars, in order
    assert_canonical(sim, got)
    assert statuses[:2] == ["delayed", "live"]
    assert feed.ended and feed.status == "closed"
    frame = feed.frame()
    assert len(frame) == len(got) and frame.attrs["symbol"] == "BTC/USDT"
    cached = dm.cache.read("BTC/USDT", "1m")
    assert set(frame.index) <= set(cached.index)  # streamed bars went to the cache


def test_reconnects_and_fills_what_the_drop_missed(sim, dm):
    with dm.get_live_feed("BTC/USDT", "1m", lookback_bars=5, exchange="binance", **FAST) as feed:
        statuses: list[str] = []
        feed.subscribe(on_status=lambda s, d: statuses.append(s))
        assert feed.wait_for("live", timeout=10)
        sim.set_faults(ws_drop_every=4)
        deadline = time.monotonic() + 15
        while statuses.count("broken") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        sim.set_faults(Faults())
        assert feed.wait_for("live", timeout=10)
        bars = feed.bars()

    assert statuses.count("broken") >= 2
    assert sim.stats.faults["ws_drop"] >= 2
    assert_canonical(sim, bars)  # nothing missing, nothing repeated across the drops


def test_async_iteration(sim, dm):
    async def take(feed: LiveFeed, n: int) -> list[Bar]:
        out = []
        async for bar in feed:
            out.append(bar)
            if len(out) >= n:
                break
        return out

    with dm.get_live_feed("BTC/USDT", "1m", lookback_bars=3, **FAST) as feed:  # binance: config
        assert feed.exchange == "binance"
        bars = asyncio.run(asyncio.wait_for(take(feed, 6), 15))

    assert [b.live for b in bars[:3]] == [False] * 3 and all(b.live for b in bars[3:])
    assert_canonical(sim, bars)


def test_bad_arguments_raise_typed_errors(dm):
    with pytest.raises(InputError, match="lookback_bars"):
        dm.get_live_feed("BTC/USDT", "1m", lookback_bars=-1, exchange="binance")
    with pytest.raises(UnsupportedError, match="7m"):
        dm.get_live_feed("BTC/USDT", "7m", exchange="binance")


def test_the_feed_does_not_import_backtrader(sim, tmp_path):
    code = f"""
import itertools, sys
from tradedata.manager import DataManager
dm = DataManager(cache_dir={str(tmp_path / "c")!r},
                 providers={{"binance": {{"url": {sim.url!r}, "ws_url": {sim.ws_base!r}}}}})
with dm.get_live_feed("BTC/USDT", "1m", lookback_bars=2, exchange="binance") as feed:
    bars = list(itertools.islice(feed.iter(timeout=5), 2))
assert len(bars) == 2, bars
assert "backtrader" not in sys.modules
dm.close()
print("ok")
"""
    root = Path(__file__).resolve().parents[2]
    env: dict[str, Any] = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_the_notebook_chart_follows_the_feed(sim, dm):
    pytest.importorskip("ipywidgets")
    from tradedata.widgets import CandleChart

    chart = CandleChart()
    with dm.get_live_feed("BTC/USDT", "1m", lookback_bars=10, exchange="binance", **FAST) as feed:
        assert feed.wait_for("live", timeout=10)
        link = chart.attach_live(feed)
        deadline = time.monotonic() + 10
        while len(chart.frame) < 13 and time.monotonic() < deadline:
            time.sleep(0.05)
        link.stop()
        bars = feed.bars()
    chart.close()

    drawn = chart.frame
    assert len(drawn) >= 13  # the history in one batch, then live bars
    assert list(drawn.index) == [b.timestamp for b in bars[: len(drawn)]]
    assert drawn["close"].tolist() == [b.close for b in bars[: len(drawn)]]


def test_a_venue_prefixed_symbol_streams_that_venue_into_its_own_series(sim, tmp_path):
    providers = {name: {"url": sim.url, "ws_url": sim.ws_base} for name in ("binance", "bybit")}
    with DataManager(cache_dir=tmp_path / "cache", providers=providers) as manager:
        with manager.get_live_feed("BYBIT:BTC/USDT", "1m", lookback_bars=5, **FAST) as feed:
            assert (feed.exchange, feed.symbol) == ("bybit", "BTC/USDT")
            assert feed.wait_for("live", timeout=10)
            bars = feed.bars()
        seen = pd.DataFrame(
            [b[1:6] for b in bars],
            index=pd.DatetimeIndex([b.timestamp for b in bars], name="timestamp"),
            columns=["open", "high", "low", "close", "volume"],
        )
        end = seen.index[-1] + pd.Timedelta("1min")
        truth = sim.canonical("bybit", "BTC/USDT", "1m", seen.index[0], end)
        pd.testing.assert_frame_equal(seen, truth, check_freq=False)
        cached = manager.cache.read("BTC/USDT", "1m", source="bybit")
        assert set(seen.index) <= set(cached.index)
        assert manager.cache.read("BTC/USDT", "1m").empty  # nothing in binance's series
        with pytest.raises(InputError, match="names venue 'bybit'"):
            manager.get_live_feed("BYBIT:BTC/USDT", "1m", exchange="binance")


def test_a_live_feed_on_a_shared_store_streams_into_that_store(sim, tmp_path, pg_url):
    providers = {"binance": {"url": sim.url, "ws_url": sim.ws_base}}
    with DataManager(store=pg_url, cache_dir=tmp_path / "local", providers=providers) as dm:
        with dm.get_live_feed("BTC/USDT", "1m", lookback_bars=5, **FAST) as feed:
            assert feed.wait_for("live", timeout=10)
            for _ in feed.iter(timeout=5.0):
                if sum(b.live for b in feed.bars()) >= 2:
                    break
            bars = feed.bars()
        stamps = {b.timestamp for b in bars}
        assert stamps <= set(dm.cache.read("BTC/USDT", "1m").index)  # the shared store has them
        assert dm.cache.read("BTC/USDT", "1m").index.size >= len(bars)
    assert not (tmp_path / "local").exists() or not any((tmp_path / "local").rglob("*.gz"))
