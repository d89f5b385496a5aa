"""A perpetual's open interest, fetched from the venue, on backtrader's ``openinterest`` line:
``TradeDataFeed(..., open_interest=True)`` over Bybit's and Binance's loopback fakes
(tests/fakes/exchanges/derivatives.py) and real ccxt."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from pathlib import Path

import backtrader as bt
import pandas as pd
import pytest

from tests.fakes.exchanges.derivatives import (
    DerivativesFake,
    binance_usdm,
    bybit_linear,
    oi_value,
)
from tradedata.adapters import resilience
from tradedata.adapters.ccxt_ import CcxtProvider, cooldown
from tradedata.adapters.resilience import RetryPolicy
from tradedata.errors import OpenInterestUnavailableError
from tradedata.feeds import TradeDataFeed
from tradedata.manager import DataManager


@pytest.fixture(autouse=True)
def _fresh_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CcxtProvider, "retry_policy", RetryPolicy(2, 0.001, 0.004))
    monkeypatch.setattr(resilience, "_buckets", {})
    monkeypatch.setattr(resilience, "_breakers", {})
    monkeypatch.setattr(cooldown, "_cooldowns", {})


@pytest.fixture(params=["bybit", "binance"])
def fake(request: pytest.FixtureRequest) -> Iterator[DerivativesFake]:
    dialect = bybit_linear() if request.param == "bybit" else binance_usdm()
    with DerivativesFake(dialect, listing_bars=60 * 24) as server:
        yield server


class _Record(bt.Strategy):
    def __init__(self) -> None:
        self.seen: list[tuple[pd.Timestamp, float]] = []

    def next(self) -> None:
        stamp = pd.Timestamp(self.data.datetime.datetime(0), tz="UTC")
        self.seen.append((stamp, self.data.openinterest[0]))


def _run(feed: TradeDataFeed, preload: bool) -> list[tuple[pd.Timestamp, float]]:
    cerebro = bt.Cerebro(preload=preload, stdstats=False)
    cerebro.adddata(feed)
    cerebro.addstrategy(_Record)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cerebro.run()[0].seen


@pytest.mark.parametrize("preload", [True, False])
def test_the_openinterest_line_carries_the_venues_record_at_each_bar_open(
    fake: DerivativesFake, tmp_path: Path, preload: bool
) -> None:
    exchange = fake.dialect.exchange_id
    end = pd.Timestamp.now(tz="UTC").floor("h") - pd.Timedelta(hours=2)
    start = end - pd.Timedelta(days=35)  # older than Binance's 30 days of open interest
    with DataManager(cache_dir=tmp_path / "c", providers={exchange: {"url": fake.url}}) as dm:
        feed = TradeDataFeed(
            dataname="BTC/USDT:USDT", exchange=exchange, interval="1h", manager=dm,
            fromdate=start.tz_localize(None).to_pydatetime(),
            todate=end.tz_localize(None).to_pydatetime(), open_interest=True,
        )  # fmt: skip
        seen = _run(feed, preload)
        reported = feed.frame.attrs["open_interest_unfetched"]

    assert len(seen) == 35 * 24 + 1
    hour = pd.Timedelta(hours=1)
    for stamp, value in seen:  # backtrader stamps a bar at its close: open = stamp - 1h
        opened = stamp - hour
        if math.isnan(value):  # only what the venue does not serve, and it is reported
            assert any(u.start <= opened <= u.end for u in reported)
        else:
            assert value == oi_value(int(opened.value // 1_000_000))
    unknown = [s for s, v in seen if math.isnan(v)]
    if exchange == "bybit":
        assert unknown == [] and reported == []
    else:  # Binance: the bars older than 30 days, reported with the reason
        assert unknown and all("30 days" in u.reason for u in reported)
        assert max(unknown) < min(s for s, v in seen if not math.isnan(v))


def test_a_spot_symbol_asked_for_open_interest_is_refused(
    fake: DerivativesFake, tmp_path: Path
) -> None:
    exchange = fake.dialect.exchange_id
    end = pd.Timestamp.now(tz="UTC").floor("h") - pd.Timedelta(hours=2)
    with DataManager(cache_dir=tmp_path / "c", providers={exchange: {"url": fake.url}}) as dm:
        feed = TradeDataFeed(
            dataname="BTC/USDT", exchange=exchange, interval="1h", manager=dm,
            fromdate=(end - pd.Timedelta(days=1)).tz_localize(None).to_pydatetime(),
            todate=end.tz_localize(None).to_pydatetime(), open_interest=True,
        )  # fmt: skip
        with pytest.raises(OpenInterestUnavailableError, match="BTC/USDT:USDT"):
            _run(feed, True)
    assert fake.requests == []
