"""The open candle is judged on both clocks: an exchange whose ``/time`` runs ahead cannot make
the still-open bar look closed (issue 12)."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from tests.adapters.ccxt_conftest_fixtures import FAST_RETRY
from tradedata.adapters.ccxt_ import CcxtProvider
from tradedata.adapters.ccxt_.clock import ServerClock
from tradedata.errors import ConfigurationError
from tradedata.manager import DataManager
from tradedata.sim import ExchangeSimulator, Faults

OPEN_BAR = pd.Timestamp("2024-03-01 10:30", tz="UTC")


class _Clocks:
    """A local wall clock and an exchange clock ``lead`` seconds ahead of it."""

    def __init__(self, lead: float) -> None:
        self.wall = 1_709_289_030.0  # 2024-03-01 10:30:30 UTC
        self.mono = 50.0
        self.lead = lead

    def fetch(self) -> int:
        return int((self.wall + self.lead) * 1000)


@pytest.mark.parametrize(("lead", "expected_lead"), [(300.0, 5.0), (2.0, 2.0), (-30.0, -30.0)])
def test_clock_is_the_earlier_of_the_exchange_and_local_plus_bounded_skew(lead, expected_lead):
    clocks = _Clocks(lead)
    clock = ServerClock(
        clocks.fetch, ttl=10.0, monotonic=lambda: clocks.mono, wall=lambda: clocks.wall
    )

    got = clock.now_ms() / 1000.0 - clocks.wall

    assert got == pytest.approx(expected_lead, abs=0.01)
    assert clock.skew == pytest.approx(lead, abs=0.01)
    assert clock.round_trip == 0.0


def test_a_large_lead_is_warned_about_once(caplog):
    clocks = _Clocks(300.0)
    clock = ServerClock(
        clocks.fetch, ttl=1.0, monotonic=lambda: clocks.mono, wall=lambda: clocks.wall
    )
    with caplog.at_level(logging.WARNING, logger="tradedata"):
        for _ in range(5):
            clock.now_ms()
            clocks.mono += 2.0
            clocks.wall += 2.0

    warnings = [r for r in caplog.records if "ahead" in r.getMessage()]
    assert len(warnings) == 1
    assert "300.0 s ahead" in warnings[0].getMessage()


def test_unbounded_skew_trusts_the_exchange_alone():
    clocks = _Clocks(300.0)
    clock = ServerClock(
        clocks.fetch, max_skew=None, monotonic=lambda: clocks.mono, wall=lambda: clocks.wall
    )

    assert clock.now_ms() == clocks.fetch()


@pytest.mark.parametrize("bad", [-1, "soon", float("inf"), True])
def test_max_clock_skew_option_is_checked(bad):
    with pytest.raises(ConfigurationError, match="max_clock_skew"):
        CcxtProvider("binance", _settings(options={"max_clock_skew": bad}))


def _settings(**kwargs):
    from tradedata.adapters.base import ProviderSettings

    return ProviderSettings(**kwargs)


@pytest.fixture
def ahead_sim():
    """Frozen at 10:30:30 with the 10:30 bar half traded; ``/time`` says 10:35:30."""
    start = OPEN_BAR + pd.Timedelta(seconds=30)
    with ExchangeSimulator(seed=12, speed=0, start=start, faults=Faults(time_offset=300)) as sim:
        yield sim


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
def test_exchange_clock_ahead_never_stores_the_open_candle(ahead_sim, exchange, tmp_path: Path):
    sim = ahead_sim
    urls = {"url": sim.url, "ws_url": sim.ws_base}
    dm = DataManager(cache_dir=tmp_path / "cache", providers={exchange: urls})
    try:
        provider = dm.provider(exchange)
        assert isinstance(provider, CcxtProvider)
        provider.retry_policy = FAST_RETRY  # type: ignore[misc]
        # this machine's clock agrees with the market; only the exchange's /time is off
        provider._clock._wall = lambda: sim.now_ms() / 1000.0
        start = OPEN_BAR - pd.Timedelta(minutes=30)
        end = OPEN_BAR + pd.Timedelta(minutes=10)

        dm.fetch_missing("BTC/USDT", "1m", start, end, provider=exchange)

        stored = dm.cache.read("BTC/USDT", "1m", start, end, source=exchange)
        covered_to = max(s.end for s in dm.cache.coverage("BTC/USDT", "1m", source=exchange))
        assert stored.index[-1] == OPEN_BAR - pd.Timedelta(minutes=1)
        assert covered_to == OPEN_BAR - pd.Timedelta(minutes=1)
        assert provider._clock.skew == pytest.approx(300.0, abs=1.0)

        sim.advance(150)  # 10:33:00: the 10:30, 10:31 and 10:32 bars have closed
        dm.fetch_missing("BTC/USDT", "1m", start, end, provider=exchange)

        stored = dm.cache.read("BTC/USDT", "1m", start, end, source=exchange)
        truth = sim.canonical(exchange, "BTC/USDT", "1m", start, OPEN_BAR + pd.Timedelta(minutes=3))
        pd.testing.assert_frame_equal(stored, truth, check_freq=False)
        assert stored.index[-1] == OPEN_BAR + pd.Timedelta(minutes=2)
    finally:
        dm.close()


@pytest.mark.parametrize(
    ("timeframe", "expected_back"),
    [("1m", "2024-03-01 10:28"), ("1s", "2024-03-01 10:29:54"), ("1h", "2024-03-01 09:00")],
)
def test_extension_rechecks_every_bar_that_ended_within_the_skew_bound(
    tmp_path: Path, timeframe, expected_back
):
    from tradedata.model import parse_timeframe

    dm = DataManager(cache_dir=tmp_path / "cache", providers={})
    try:
        tf = parse_timeframe(timeframe)
        last = tf.floor(pd.Timestamp("2024-03-01 10:29:59", tz="UTC"))
        dm.cache.add_coverage("BTC/USDT", tf.name, last - tf.delta * 50, last, "binance")

        back = dm.engine._recheck_start("BTC/USDT", tf, tf.next_open(last))

        assert back == pd.Timestamp(expected_back, tz="UTC")
    finally:
        dm.close()
