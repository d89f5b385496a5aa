"""backtrader's own indicator tests, run over TradeDataFeed instead of BacktraderCSVData.

The expected strings and minimum periods are copied from backtrader's test suite
(mementum/backtrader ``tests/test_ind_*.py``, ``test_data_resample.py``, ``test_data_replay.py``,
``test_data_multiframe.py``), all computed on ``2006-day-001.txt`` (and ``2006-week-001.txt``)
from 2006-01-01 to 2006-12-31. As ``testcommon.runtest`` does, one set of data objects runs
under every ``preload`` x ``runonce`` x ``exactbars`` (-2, -1, False) combination, and each
indicator line is checked at three points: the last bar, the first full bar and the middle.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import backtrader as bt
import pytest

from tradedata.feeds import TradeDataFeed

FROM, TO = dt.datetime(2006, 1, 1), dt.datetime(2006, 12, 31)


class Checker(bt.Strategy):
    """backtrader's testcommon.TestStrategy, recording instead of asserting inside ``stop``."""

    params = (("chkind", None), ("chkargs", {}))

    def __init__(self) -> None:
        self.ind = self.p.chkind(self.data, **self.p.chkargs)
        for data in self.datas[1:]:
            self.p.chkind(data, **self.p.chkargs)
        self.nextcalls = 0
        self.chkmin = 0
        self.result: dict[str, Any] = {}

    def nextstart(self) -> None:
        self.chkmin = len(self)
        super().nextstart()

    def next(self) -> None:
        self.nextcalls += 1

    def stop(self) -> None:
        length = len(self.ind)
        points = [0, -length + self.chkmin, (-length + self.chkmin) // 2]
        self.result = {
            "len_ind": length,
            "len_self": len(self),
            "chkmin": self.chkmin,
            "nextcalls": self.nextcalls,
            "values": [
                ["%f" % line[p] for p in points]  # noqa: UP031 - backtrader's format
                for line in self.ind.lines
            ],
        }


def _feeds(bt_frame: Any, names: list[str], how: str | None = None) -> list[TradeDataFeed]:
    feeds = []
    for name in names:
        kwargs = {"timeframe": bt.TimeFrame.Weeks} if "week" in name else {}
        feed = TradeDataFeed(dataname=bt_frame(name), fromdate=FROM, todate=TO, **kwargs)
        if how == "resample":
            feed.resample(timeframe=bt.TimeFrame.Weeks, compression=1)
        elif how == "replay":
            feed.replay(timeframe=bt.TimeFrame.Weeks, compression=1)
        feeds.append(feed)
    return feeds


def _runtest(datas: list[Any], combos: list[dict[str, Any]], **strategy_kwargs: Any) -> list:
    """testcommon.runtest: the same data objects under each combination."""
    results = []
    for combo in combos:
        cerebro = bt.Cerebro(maxcpus=1, **combo)
        for data in datas:
            cerebro.adddata(data)
        cerebro.addstrategy(Checker, **strategy_kwargs)
        results.append(cerebro.run()[0].result)
    return results


INDICATORS = [
    (bt.ind.SMA, {}, 30, [["4063.463000", "3644.444667", "3554.693333"]]),
    (bt.ind.EMA, {}, 30, [["4070.115719", "3644.444667", "3581.728712"]]),
    (
        bt.ind.BBands,
        {},
        20,
        [
            ["4065.884000", "3621.185000", "3582.895500"],
            ["4190.782310", "3712.008864", "3709.453081"],
            ["3940.985690", "3530.361136", "3456.337919"],
        ],
    ),
    (bt.ind.ATR, {}, 15, [["35.866308", "34.264286", "54.329064"]]),
    (bt.ind.RSI, {}, 15, [["57.644284", "41.630968", "53.352553"]]),
    (
        bt.ind.Stochastic,
        {},
        18,
        [["88.667626", "21.409626", "63.796187"], ["82.845850", "15.710059", "77.642219"]],
    ),
]


@pytest.mark.parametrize(
    ("indicator", "args", "chkmin", "expected"),
    INDICATORS,
    ids=[i[0].__name__ for i in INDICATORS],
)
def test_indicator_values_match_backtraders_expected_strings(
    bt_frame, all_combos, indicator, args, chkmin, expected
):
    datas = _feeds(bt_frame, ["2006-day-001.txt"])

    results = _runtest(datas, all_combos, chkind=indicator, chkargs=args)

    assert len(results) == 12
    for result in results:
        assert result["len_ind"] == result["len_self"] == 255
        assert result["chkmin"] == chkmin
        assert result["values"] == expected


def test_resample_to_weeks_matches_backtraders_test_data_resample(bt_frame, all_combos):
    expected = [["3836.453333", "3703.962333", "3741.802000"]]
    datas = _feeds(bt_frame, ["2006-day-001.txt"], how="resample")

    results = _runtest(datas, all_combos, chkind=bt.ind.SMA)

    for result in results:
        assert result["chkmin"] == 30
        assert result["values"] == expected


def test_replay_to_weeks_matches_backtraders_test_data_replay(bt_frame, all_combos):
    expected = [["3836.453333", "3703.962333", "3741.802000"]]
    combos = [c for c in all_combos if not c["preload"] and not c["runonce"]]

    # fresh data per run, as backtrader's test does: a replayed data object (CSV ones too)
    # cannot be run twice
    results = [
        _runtest(_feeds(bt_frame, ["2006-day-001.txt"], how="replay"), [combo], chkind=bt.ind.SMA)
        for combo in combos
    ]

    assert len(results) == 3  # exactbars -2, -1, False
    for (result,) in results:
        assert result["nextcalls"] == 113
        assert result["chkmin"] == 30
        assert result["values"] == expected


def test_daily_plus_weekly_minimum_period_matches_backtraders_multiframe_test(bt_frame, all_combos):
    datas = _feeds(bt_frame, ["2006-day-001.txt", "2006-week-001.txt"])

    results = _runtest(datas, all_combos, chkind=bt.ind.SMA)

    for result in results:
        assert result["chkmin"] == 151
        assert result["len_ind"] == result["len_self"]
