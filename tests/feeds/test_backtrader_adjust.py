"""TradeDataFeed(adjust=...): equities come split-adjusted by default, as traded on request."""

from __future__ import annotations

from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from tests.fakes import FakeMarket
from tradedata.actions import CorporateActions
from tradedata.feeds import TradeDataFeed

START, END = pd.Timestamp("2020-08-17", tz="UTC"), pd.Timestamp("2020-09-11", tz="UTC")


class Closes(bt.Strategy):  # type: ignore[misc]
    def __init__(self) -> None:
        self.seen: list[tuple[float, float]] = []

    def next(self) -> None:
        self.seen.append((self.data.close[0], self.data.volume[0]))


def _run(feed: Any) -> np.ndarray:
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(feed)
    cerebro.addstrategy(Closes)
    (strategy,) = cerebro.run()
    return np.array(strategy.seen)


@pytest.fixture
def aapl(manager: Any) -> Any:
    """AAPL as traded around its 4:1 split of 2020-08-31, with the split recorded."""
    market = FakeMarket()
    raw = market.daily("AAPL", START, END + pd.Timedelta(hours=23))
    manager.import_frame(raw[["open", "high", "low", "close", "volume"]], "AAPL", "1d", "alpaca")
    manager.cache.set_actions(
        "AAPL",
        CorporateActions(market.splits("AAPL", START, END), checked_at=pd.Timestamp.now(tz="UTC")),
    )
    return manager, raw


@pytest.mark.parametrize("adjust", ["splits", "raw"])
def test_the_feed_delivers_the_adjustment_asked_for(aapl: Any, adjust: str) -> None:
    manager, raw = aapl
    kwargs = {} if adjust == "splits" else {"adjust": adjust}
    feed = TradeDataFeed(
        dataname="AAPL", manager=manager, provider="cache", timeframe=bt.TimeFrame.Days, **kwargs
    )

    seen = _run(feed)

    before = np.asarray(raw.index < pd.Timestamp("2020-08-31", tz="UTC"))
    factor = np.where(before, 4.0, 1.0) if adjust == "splits" else np.ones(len(raw))
    np.testing.assert_allclose(seen[:, 0], raw["close"].to_numpy() / factor, rtol=1e-12)
    np.testing.assert_allclose(seen[:, 1], raw["volume"].to_numpy() * factor, rtol=1e-12)
