"""How TradeDataFeed fills backtrader's line buffers: in bulk when it can, bar by bar otherwise."""

from __future__ import annotations

import datetime as dt
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from tradedata.feeds import TradeDataFeed

FROM, TO = dt.datetime(2006, 1, 1), dt.datetime(2006, 12, 31)


@pytest.fixture
def per_bar_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts how often the feed sets up its bar-by-bar path (one entry per run)."""
    calls: list[int] = []
    original = TradeDataFeed._window_rows

    def spy(self: TradeDataFeed) -> Any:
        calls.append(1)
        return original(self)

    monkeypatch.setattr(TradeDataFeed, "_window_rows", spy)
    return calls


def test_preload_fills_the_buffers_in_bulk(bt_frame, bt_run, per_bar_calls):
    feed = TradeDataFeed(dataname=bt_frame("2006-day-001.txt"), fromdate=FROM, todate=TO)

    strategy = bt_run([feed], preload=True)

    assert per_bar_calls == []
    assert len(strategy.rows) == 255


@pytest.mark.parametrize("exactbars", [-2, -1, False])
@pytest.mark.parametrize("runonce", [True, False])
def test_bulk_preload_serves_every_preloading_mode(
    bt_frame, bt_run, per_bar_calls, runonce, exactbars
):
    feed = TradeDataFeed(dataname=bt_frame("2006-day-001.txt"))

    strategy = bt_run([feed], preload=True, runonce=runonce, exactbars=exactbars)

    assert per_bar_calls == []
    assert len(strategy.rows) == 255


def test_buffers_after_bulk_preload_are_as_backtrader_leaves_them(data_dir, bt_frame):
    csv = bt.feeds.BacktraderCSVData(dataname=str(data_dir / "2006-day-001.txt"), fromdate=FROM)
    ours = TradeDataFeed(dataname=bt_frame("2006-day-001.txt"), fromdate=FROM)
    for feed in (csv, ours):
        bt.Cerebro().adddata(feed)
        feed.reset()
        feed._start()

        feed.preload()

    assert ours._rows == []  # the bulk path ran
    for alias in csv.getlinealiases():
        expected, actual = getattr(csv.lines, alias), getattr(ours.lines, alias)
        assert (actual.idx, len(actual), actual.buflen()) == (-1, 0, 255)
        assert (expected.idx, len(expected), expected.buflen()) == (-1, 0, 255)
        assert actual.array == expected.array, alias
        assert actual.array.typecode == "d"


@pytest.mark.parametrize(
    ("cerebro_kwargs", "how"),
    [
        ({"preload": False}, "add"),
        ({"preload": True, "exactbars": 1}, "add"),
        ({"preload": True}, "resample"),
        ({"preload": True}, "replay"),
        ({"preload": True, "lookahead": 2}, "add"),
    ],
    ids=["no-preload", "exactbars=1", "resample", "replay", "lookahead"],
)
def test_modes_that_need_bar_by_bar_loading_take_the_per_bar_path(
    data_dir, bt_frame, bt_run, same_bars, per_bar_calls, cerebro_kwargs, how
):
    how_kwargs = {"timeframe": bt.TimeFrame.Weeks} if how != "add" else None
    csv = bt.feeds.BacktraderCSVData(dataname=str(data_dir / "2006-day-001.txt"))
    ours = TradeDataFeed(dataname=bt_frame("2006-day-001.txt"))

    expected = bt_run([csv], how=how, how_kwargs=how_kwargs, **cerebro_kwargs).rows
    actual = bt_run([ours], how=how, how_kwargs=how_kwargs, **cerebro_kwargs).rows

    assert per_bar_calls == [1]
    same_bars(expected, actual)


def test_a_filter_sends_preload_down_the_per_bar_path(bt_frame, bt_run, per_bar_calls):
    feed = TradeDataFeed(dataname=bt_frame("2006-day-001.txt"))
    feed.addfilter(bt.filters.HeikinAshi)

    bt_run([feed], preload=True)

    assert per_bar_calls == [1]


def test_a_subclass_overriding_load_keeps_its_per_bar_hook(bt_frame, bt_run):
    class Doubled(TradeDataFeed):
        def _load(self) -> bool:
            loaded = super()._load()
            if loaded:
                self.lines.close[0] = self.lines.close[0] * 2
            return loaded

    frame = bt_frame("2006-day-001.txt")

    strategy = bt_run([Doubled(dataname=frame)], preload=True)

    closes = [row[5] for row in strategy.rows]
    assert closes == list(frame["close"] * 2)


@pytest.mark.parametrize("preload", [True, False])
def test_extra_lines_of_a_subclass_are_filled_from_frame_columns(bt_frame, preload):
    class WithAdjClose(TradeDataFeed):
        lines = ("adj_close", "not_in_frame")

    class Keep(bt.Strategy):
        def __init__(self) -> None:
            self.seen: list[tuple[float, float]] = []

        def next(self) -> None:
            self.seen.append((self.data.adj_close[0], self.data.not_in_frame[0]))

    frame = bt_frame("2006-day-001.txt")
    frame["adj_close"] = frame["close"] / 2
    cerebro = bt.Cerebro(preload=preload)
    cerebro.adddata(WithAdjClose(dataname=frame))
    cerebro.addstrategy(Keep)

    seen = cerebro.run()[0].seen

    assert [a for a, _ in seen] == list(frame["close"] / 2)
    assert all(np.isnan(b) for _, b in seen)


@pytest.mark.parametrize("preload", [True, False])
def test_open_interest_comes_from_the_frame_or_is_zero(bt_frame, bt_run, preload):
    with_oi = bt_frame("2006-volume-day-001.txt")
    without = with_oi.drop(columns="openinterest")

    rows_with = bt_run([TradeDataFeed(dataname=with_oi)], preload=preload).rows
    rows_without = bt_run([TradeDataFeed(dataname=without)], preload=preload).rows

    assert [r[7] for r in rows_with] == list(with_oi["openinterest"])
    assert {r[7] for r in rows_without} == {0.0}


def test_an_unsorted_frame_is_fed_in_time_order(bt_frame, bt_run, same_bars):
    frame = bt_frame("2006-day-001.txt")
    shuffled = frame.sample(frac=1.0, random_state=7)

    same_bars(
        bt_run([TradeDataFeed(dataname=frame)]).rows,
        bt_run([TradeDataFeed(dataname=shuffled)]).rows,
    )


def test_a_frame_in_another_column_spelling_is_accepted(bt_frame, bt_run, same_bars):
    frame = bt_frame("2006-day-001.txt")
    yahoo_like = frame.rename(columns=str.capitalize).tz_localize(None)

    expected = bt_run([TradeDataFeed(dataname=frame)]).rows
    actual = bt_run([TradeDataFeed(dataname=yahoo_like)]).rows

    same_bars(expected, actual)


@pytest.mark.parametrize("preload", [True, False])
def test_clones_see_the_same_bars_as_clones_of_the_csv_feed(
    data_dir, bt_frame, bt_run, same_bars, preload
):
    csv = bt.feeds.BacktraderCSVData(dataname=str(data_dir / "2006-day-001.txt"))
    ours = TradeDataFeed(dataname=bt_frame("2006-day-001.txt"))

    expected = bt_run([csv, csv.clone()], preload=preload).rows
    actual = bt_run([ours, ours.clone()], preload=preload).rows

    same_bars(expected, actual)


def test_an_empty_frame_gives_no_bars(bt_run):
    empty = pd.DataFrame(
        {c: [] for c in ("open", "high", "low", "close", "volume")},
        index=pd.DatetimeIndex([], tz="UTC", name="timestamp"),
        dtype="float64",
    )

    for preload in (True, False):
        assert bt_run([TradeDataFeed(dataname=empty)], preload=preload).rows == []


def test_the_loaded_frame_is_reachable(bt_frame):
    frame = bt_frame("2006-day-001.txt")
    feed = TradeDataFeed(dataname=frame)

    assert feed.frame.index.equals(frame.index)
    assert list(feed.frame.columns[:5]) == ["open", "high", "low", "close", "volume"]
