"""TradeDataFeed by symbol, through the DataManager and its cache.

backtrader's sample files are imported with ``DataManager.import_csv`` (which stores bar open
times) into a temporary cache; the feed then asks the manager for the symbol and must give
exactly the bars ``BacktraderCSVData`` gives over the original file. ``^STOXX50E`` (the sample
data is that index) brings the Xetra calendar, whose last session ends weekly/monthly bars.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import backtrader as bt
import pandas as pd
import pytest

from tradedata.errors import InsufficientQualityError
from tradedata.feeds import TradeDataFeed
from tradedata.manager import get_data_manager

SYMBOL = "^STOXX50E"
FROM, TO = dt.datetime(2006, 1, 1), dt.datetime(2006, 12, 31)
# with fromdate/todate the manager is asked for a range wider than the imported one; with
# provider="cache" it fetches nothing and warns about the edges it could not fetch
pytestmark = pytest.mark.filterwarnings("ignore:.*could not fetch:UserWarning")

FILES = [
    ("2006-day-001.txt", "1d", {}),
    ("2006-day-002.txt", "2d", {"timeframe": bt.TimeFrame.Days, "compression": 2}),
    ("2006-week-001.txt", "1w", {"timeframe": bt.TimeFrame.Weeks}),
    ("2006-week-002.txt", "2w", {"timeframe": bt.TimeFrame.Weeks, "compression": 2}),
    ("2006-month-001.txt", "1M", {"timeframe": bt.TimeFrame.Months}),
    ("2006-min-005.txt", "5m", {"timeframe": bt.TimeFrame.Minutes, "compression": 5}),
]


@pytest.fixture
def imported(manager: Any, data_dir: Any) -> Any:
    """The manager, with every file of FILES imported for SYMBOL."""
    for name, interval, _ in FILES:
        manager.import_csv(data_dir / name, SYMBOL, interval)
    return manager


@pytest.mark.parametrize(("name", "interval", "bt_kwargs"), FILES, ids=[f[1] for f in FILES])
@pytest.mark.parametrize("dates", [{}, {"fromdate": FROM, "todate": TO}], ids=["all", "dated"])
def test_imported_files_come_back_as_backtraders_bars(
    imported, cache_dir, data_dir, bt_run, same_bars, name, interval, bt_kwargs, dates
):
    csv = bt.feeds.BacktraderCSVData(dataname=str(data_dir / name), **bt_kwargs, **dates)
    ours = TradeDataFeed(
        dataname=SYMBOL, interval=interval, cache_dir=cache_dir, provider="cache", **dates
    )

    expected = bt_run([csv]).rows
    actual = bt_run([ours]).rows

    assert len(expected) > 0
    same_bars(expected, actual)


def test_daily_bars_from_the_cache_in_all_twelve_modes(
    imported, cache_dir, data_dir, bt_run, same_bars, all_combos
):
    path = str(data_dir / "2006-day-001.txt")
    csv = bt.feeds.BacktraderCSVData(dataname=path, fromdate=FROM, todate=TO)
    ours = TradeDataFeed(
        dataname=SYMBOL, cache_dir=cache_dir, provider="cache", fromdate=FROM, todate=TO
    )
    sma = {"indicator": bt.ind.SMA, "indargs": {"period": 30}}

    for combo in all_combos:
        expected = bt_run([csv], strategy_kwargs=sma, **combo).rows
        actual = bt_run([ours], strategy_kwargs=sma, **combo).rows

        same_bars(expected, actual)
        assert "%f" % actual[-1][-1] == "4063.463000"  # noqa: UP031 - backtrader's SMA test


def test_a_ready_manager_can_be_passed(imported, data_dir, bt_run, same_bars):
    csv = bt.feeds.BacktraderCSVData(dataname=str(data_dir / "2006-day-001.txt"))
    ours = TradeDataFeed(dataname=SYMBOL, manager=imported, provider="cache")

    same_bars(bt_run([csv]).rows, bt_run([ours]).rows)


def test_without_cache_dir_the_process_wide_manager_is_used(data_dir, bt_run, same_bars):
    get_data_manager().import_csv(data_dir / "2006-day-001.txt", SYMBOL, "1d")
    csv = bt.feeds.BacktraderCSVData(dataname=str(data_dir / "2006-day-001.txt"))
    ours = TradeDataFeed(dataname=SYMBOL, provider="cache")

    same_bars(bt_run([csv]).rows, bt_run([ours]).rows)


def test_the_managers_quality_report_reaches_the_strategy(imported, cache_dir):
    class See(bt.Strategy):
        def start(self) -> None:
            self.seen = self.data.quality

    cerebro = bt.Cerebro()
    cerebro.adddata(TradeDataFeed(dataname=SYMBOL, interval="5m", cache_dir=cache_dir))
    cerebro.addstrategy(See)

    seen = cerebro.run()[0].seen

    assert seen.score == imported.quality(SYMBOL, "5m").score


def test_min_quality_refuses_a_cached_series_below_it(imported, cache_dir):
    score = imported.quality(SYMBOL, "5m").score
    cerebro = bt.Cerebro()
    feed = TradeDataFeed(
        dataname=SYMBOL, interval="5m", cache_dir=cache_dir, min_quality=score + 0.01
    )
    cerebro.adddata(feed)

    with pytest.raises(InsufficientQualityError, match=r"\^STOXX50E") as info:
        cerebro.run()

    assert info.value.score == pytest.approx(score)


class RecordingManager:
    """Stands in for a DataManager; records the get_ohlcv call the feed makes."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def get_ohlcv(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        self.calls.append((args, kwargs))
        frame = self.frame.copy()
        frame.attrs["quality"] = SimpleNamespace(score=1.0)
        return frame


def test_the_feed_asks_the_manager_for_a_range_covering_its_dates(bt_frame):
    fake = RecordingManager(bt_frame("2006-min-005.txt", "5min"))
    feed = TradeDataFeed(
        dataname="BTC/USDT", interval="5m", manager=fake, provider="binance", refresh=True,
        fromdate=dt.datetime(2006, 1, 10, 12), todate=dt.datetime(2006, 1, 20),
        tz="Europe/Berlin",
    )  # fmt: skip

    feed.frame  # noqa: B018 - loading is what is tested

    (args, kwargs), *_ = fake.calls
    assert args == ("BTC/USDT", "5m")
    assert kwargs["provider"] == "binance"
    assert kwargs["refresh"] is True
    # fromdate/todate are Berlin times (tz) compared with bar *end* stamps: 11:00 UTC on the
    # 10th needs the bar opening 10:55, the end of the 19th Berlin time is 23:00 UTC
    assert kwargs["start"] <= pd.Timestamp("2006-01-10 10:55", tz="UTC")
    assert kwargs["end"] >= pd.Timestamp("2006-01-19 23:00", tz="UTC")
    assert kwargs["end"] - kwargs["start"] < pd.Timedelta(days=14)


def test_without_dates_the_manager_gets_no_range(bt_frame):
    fake = RecordingManager(bt_frame("2006-day-001.txt"))

    TradeDataFeed(dataname="BTC/USDT", manager=fake).frame  # noqa: B018

    (_, kwargs), *_ = fake.calls
    assert (kwargs["start"], kwargs["end"]) == (None, None)


def test_the_manager_is_asked_once_per_feed_object(bt_frame, bt_run):
    fake = RecordingManager(bt_frame("2006-day-001.txt"))
    feed = TradeDataFeed(dataname="BTC/USDT", manager=fake)

    for preload in (True, False):
        bt_run([feed], preload=preload)

    assert len(fake.calls) == 1
