"""TradeDataFeed names the source of a symbol's series: a venue prefix or ``exchange=``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.support.memory_provider import synthetic
from tradedata.errors import InputError
from tradedata.feeds import TradeDataFeed


def _closes(feed: Any, bt_run) -> list[float]:
    return [row[5] for row in bt_run([feed]).rows]


@pytest.fixture
def two_venues(manager: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    binance = synthetic("2024-03-01", 24, freq="1h", seed=1)
    bybit = synthetic("2024-03-01", 24, freq="1h", seed=2)
    manager.import_frame(binance, "BTC/USDT", "1h")
    manager.import_frame(bybit, "BTC/USDT", "1h", exchange="bybit")
    return binance, bybit


@pytest.mark.parametrize(
    "kwargs",
    [{"dataname": "BYBIT:BTC/USDT"}, {"dataname": "BTC/USDT", "exchange": "bybit"}],
    ids=["prefix", "exchange"],
)
def test_the_feed_reads_the_named_venues_series(two_venues, manager, bt_run, kwargs) -> None:
    binance, bybit = two_venues
    feed = TradeDataFeed(interval="1h", manager=manager, provider="cache", **kwargs)

    assert _closes(feed, bt_run) == bybit["close"].tolist()
    assert feed.source == "bybit"
    assert feed._name == "BYBIT:BTC/USDT"
    default = TradeDataFeed(dataname="BTC/USDT", interval="1h", manager=manager, provider="cache")
    assert _closes(default, bt_run) == binance["close"].tolist()
    assert default.source == "binance"


def test_a_prefix_contradicting_exchange_is_an_input_error(cache_dir: Path) -> None:
    with pytest.raises(InputError, match="names source 'bybit' but exchange='kraken'"):
        TradeDataFeed(dataname="BYBIT:BTC/USDT", exchange="kraken", cache_dir=cache_dir)
