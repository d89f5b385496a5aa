"""TradeDataFeed is a drop-in for backtrader's CSV feeds: same bars, bit for bit.

Each test feeds backtrader's own sample files through ``bt.feeds.BacktraderCSVData`` (or
``GenericCSVData``) and the same bars, as a tradedata frame (bar open times, UTC), through
``TradeDataFeed``, and compares every bar a strategy sees: ``len``, the datetime float and all
line values, plus an indicator.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import backtrader as bt
import pandas as pd
import pytest

from tradedata.feeds import TradeDataFeed

FROM, TO = dt.datetime(2006, 1, 1), dt.datetime(2006, 12, 31)
MIN5 = {"timeframe": bt.TimeFrame.Minutes, "compression": 5}

# file, bar length (intraday files stamp bar ends), feed kwargs
SAMPLES = [
    ("2006-day-001.txt", None, {}),
    ("2006-day-002.txt", None, {"timeframe": bt.TimeFrame.Days, "compression": 2}),
    ("2005-2006-day-001.txt", None, {}),
    ("2006-volume-day-001.txt", None, {}),
    ("2006-week-001.txt", None, {"timeframe": bt.TimeFrame.Weeks}),
    ("2006-week-002.txt", None, {"timeframe": bt.TimeFrame.Weeks, "compression": 2}),
    ("2006-month-001.txt", None, {"timeframe": bt.TimeFrame.Months}),
    ("2006-min-005.txt", "5min", MIN5),
]


def _pair(data_dir: Path, bt_frame: Any, name: str, bar: str | None, **kwargs: Any) -> tuple:
    csv = bt.feeds.BacktraderCSVData(dataname=str(data_dir / name), **kwargs)
    ours = TradeDataFeed(dataname=bt_frame(name, bar), **kwargs)
    return csv, ours


@pytest.mark.parametrize(("name", "bar", "kwargs"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_every_sample_file_gives_the_same_bars_in_every_mode(
    data_dir, bt_frame, bt_run, same_bars, combo, name, bar, kwargs
):
    csv, ours = _pair(data_dir, bt_frame, name, bar, fromdate=FROM, todate=TO, **kwargs)
    strategy_kwargs = {"indicator": bt.ind.SMA, "indargs": {"period": 5}}

    expected = bt_run([csv], strategy_kwargs=strategy_kwargs, **combo).rows
    actual = bt_run([ours], strategy_kwargs=strategy_kwargs, **combo).rows

    assert len(expected) > 0
    same_bars(expected, actual)


def test_one_feed_object_serves_all_twelve_runs_like_backtraders_testcommon(
    data_dir, bt_frame, bt_run, same_bars, all_combos
):
    csv, ours = _pair(data_dir, bt_frame, "2006-day-001.txt", None, fromdate=FROM, todate=TO)

    for combo in all_combos:
        same_bars(bt_run([csv], **combo).rows, bt_run([ours], **combo).rows)


@pytest.mark.slow
@pytest.mark.parametrize("preload", [True, False])
def test_one_minute_file_with_volume(data_dir, bt_frame, bt_run, same_bars, preload):
    name = "2006-01-02-volume-min-001.txt"
    kwargs = {"timeframe": bt.TimeFrame.Minutes, "compression": 1}
    csv, ours = _pair(data_dir, bt_frame, name, "1min", **kwargs)

    expected = bt_run([csv], preload=preload, runonce=preload).rows
    actual = bt_run([ours], preload=preload, runonce=preload).rows

    assert len(expected) == 30889
    same_bars(expected, actual)


def test_daily_and_weekly_together_like_backtraders_multiframe_test(
    data_dir, bt_frame, bt_run, same_bars, combo
):
    daily = _pair(data_dir, bt_frame, "2006-day-001.txt", None, fromdate=FROM, todate=TO)
    weekly = _pair(
        data_dir, bt_frame, "2006-week-001.txt", None, fromdate=FROM, todate=TO,
        timeframe=bt.TimeFrame.Weeks,
    )  # fmt: skip

    expected = bt_run([daily[0], weekly[0]], **combo).rows
    actual = bt_run([daily[1], weekly[1]], **combo).rows

    same_bars(expected, actual)


RESAMPLES = [
    ("2006-day-001.txt", None, {}, {"timeframe": bt.TimeFrame.Weeks}),
    ("2006-day-001.txt", None, {}, {"timeframe": bt.TimeFrame.Months}),
    ("2006-min-005.txt", "5min", MIN5, {"timeframe": bt.TimeFrame.Minutes, "compression": 60}),
    ("2006-min-005.txt", "5min", MIN5, {"timeframe": bt.TimeFrame.Days}),
]
RESAMPLE_IDS = ["day-to-week", "day-to-month", "5m-to-60m", "5m-to-day"]


@pytest.mark.parametrize(("name", "bar", "kwargs", "target"), RESAMPLES, ids=RESAMPLE_IDS)
@pytest.mark.parametrize("how", ["resample", "replay"])
def test_resampledata_and_replaydata_give_the_same_bars(
    data_dir, bt_frame, bt_run, same_bars, name, bar, kwargs, target, how
):
    strategy_kwargs = {"indicator": bt.ind.SMA, "indargs": {"period": 3}}
    for combo in [{"preload": True, "runonce": True}, {"preload": False, "runonce": False}]:
        csv, ours = _pair(data_dir, bt_frame, name, bar, **kwargs)

        expected = bt_run(
            [csv], how=how, how_kwargs=target, strategy_kwargs=strategy_kwargs, **combo
        ).rows
        actual = bt_run(
            [ours], how=how, how_kwargs=target, strategy_kwargs=strategy_kwargs, **combo
        ).rows

        assert len(expected) > 0
        same_bars(expected, actual)


@pytest.mark.parametrize(
    ("fromdate", "todate"),
    [
        (dt.datetime(2006, 1, 10, 12, 3), dt.datetime(2006, 1, 20, 15, 2)),  # inside bars
        (dt.datetime(2006, 1, 10, 9, 5), dt.datetime(2006, 1, 20, 17, 30)),  # on bar stamps
        (dt.date(2006, 1, 10), dt.date(2006, 1, 20)),  # dates: session start/end
        (None, dt.datetime(2006, 1, 3)),
        (dt.datetime(2006, 1, 27), None),
        (dt.datetime(2007, 1, 1), None),  # after the data: no bars at all
    ],
)
@pytest.mark.parametrize("preload", [True, False])
def test_fromdate_and_todate_cut_intraday_bars_where_backtrader_does(
    data_dir, bt_frame, bt_run, same_bars, fromdate, todate, preload
):
    csv, ours = _pair(
        data_dir, bt_frame, "2006-min-005.txt", "5min", fromdate=fromdate, todate=todate, **MIN5
    )

    expected = bt_run([csv], preload=preload).rows
    actual = bt_run([ours], preload=preload).rows

    same_bars(expected, actual)


def test_fromdate_and_todate_are_read_in_the_output_timezone(data_dir, bt_frame, bt_run, same_bars):
    dates = {"fromdate": dt.datetime(2006, 1, 10, 12), "todate": dt.datetime(2006, 1, 12, 4)}
    csv, ours = _pair(
        data_dir, bt_frame, "2006-min-005.txt", "5min", tz="US/Eastern", **dates, **MIN5
    )

    same_bars(bt_run([csv]).rows, bt_run([ours]).rows)


def _no_mondays(data: Any) -> bool:
    return data.datetime.date(0).weekday() == 0  # True removes the bar


FILTERS = [
    ("callable", "2006-day-001.txt", None, {}, (_no_mondays, {})),
    ("heikinashi", "2006-day-001.txt", None, {}, (bt.filters.HeikinAshi, {})),
    ("renko", "2006-day-001.txt", None, {}, (bt.filters.Renko, {"size": 10})),
    ("calendardays", "2006-day-001.txt", None, {}, (bt.filters.CalendarDays, {"fill_price": 0})),
    ("sessionfiller", "2006-min-005.txt", "5min", MIN5, (bt.filters.SessionFiller, {})),
]


@pytest.mark.parametrize(
    ("what", "name", "bar", "kwargs", "flt"), FILTERS, ids=[f[0] for f in FILTERS]
)
@pytest.mark.parametrize("preload", [True, False])
def test_filters_see_and_produce_the_same_bars(
    data_dir, bt_frame, bt_run, same_bars, what, name, bar, kwargs, flt, preload
):
    csv, ours = _pair(data_dir, bt_frame, name, bar, **kwargs)
    for feed in (csv, ours):
        feed.addfilter(flt[0], **flt[1])

    expected = bt_run([csv], preload=preload).rows
    actual = bt_run([ours], preload=preload).rows

    assert len(expected) > 0
    same_bars(expected, actual)


def test_filters_param_works_like_addfilter(data_dir, bt_frame, bt_run, same_bars):
    csv, ours = _pair(data_dir, bt_frame, "2006-day-001.txt", None, filters=[_no_mondays])

    same_bars(bt_run([csv]).rows, bt_run([ours]).rows)


def test_day_splitter_filter_with_preload(data_dir, bt_frame, bt_run, same_bars):
    # backtrader's DaySplitter_Close itself fails without preload, so only this mode is compared
    csv, ours = _pair(data_dir, bt_frame, "2006-min-005.txt", "5min", **MIN5)
    for feed in (csv, ours):
        feed.addfilter(bt.filters.DaySplitter_Close)

    same_bars(bt_run([csv]).rows, bt_run([ours]).rows)


def pd_read_ticks(path: Path) -> Any:
    """ticksample.csv as a UTC frame (tick times as they are: no bar length)."""
    frame = pd.read_csv(path)
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop("Datetime")), name="timestamp")
    frame.index = frame.index.tz_localize("UTC")
    frame.columns = [c.lower() for c in frame.columns]
    return frame


class TestGenericCSVData:
    """The same bars as GenericCSVData, whose daily session end follows ``tz``."""

    def test_daily(self, data_dir, bt_frame, bt_run, same_bars):
        path = str(data_dir / "2006-day-001.txt")
        csv = bt.feeds.GenericCSVData(dataname=path, dtformat="%Y-%m-%d")
        ours = TradeDataFeed(dataname=bt_frame("2006-day-001.txt"))

        same_bars(bt_run([csv]).rows, bt_run([ours]).rows)

    def test_five_minutes(self, data_dir, bt_frame, bt_run, same_bars):
        columns = {"time": 1, "open": 2, "high": 3, "low": 4, "close": 5, "volume": 6}
        path = str(data_dir / "2006-min-005.txt")
        csv = bt.feeds.GenericCSVData(
            dataname=path, dtformat="%Y-%m-%d", openinterest=7, **columns, **MIN5
        )
        ours = TradeDataFeed(dataname=bt_frame("2006-min-005.txt", "5min"), **MIN5)

        same_bars(bt_run([csv]).rows, bt_run([ours]).rows)

    @pytest.mark.parametrize(
        ("tz", "sessionend"),
        [("US/Eastern", None), ("Asia/Tokyo", None), ("Asia/Tokyo", dt.time(5, 0))],
    )
    def test_daily_session_end_in_the_output_timezone(
        self, data_dir, bt_frame, bt_run, same_bars, tz, sessionend
    ):
        kwargs = {"tz": tz, "sessionend": sessionend}
        path = str(data_dir / "2006-day-001.txt")
        csv = bt.feeds.GenericCSVData(dataname=path, dtformat="%Y-%m-%d", **kwargs)
        ours = TradeDataFeed(dataname=bt_frame("2006-day-001.txt"), **kwargs)

        same_bars(bt_run([csv]).rows, bt_run([ours]).rows)

    def test_ticks_with_milliseconds(self, data_dir, bt_run, same_bars):
        path = data_dir / "ticksample.csv"
        frame = pd_read_ticks(path)
        ticks = {"timeframe": bt.TimeFrame.Ticks}
        fmt = "%Y-%m-%dT%H:%M:%S.%f"
        csv = bt.feeds.GenericCSVData(dataname=str(path), dtformat=fmt, **ticks)
        ours = TradeDataFeed(dataname=frame, **ticks)

        same_bars(bt_run([csv]).rows, bt_run([ours]).rows)

    def test_ticks_with_tzinput_read_naive_frame_times_in_that_zone(
        self, data_dir, bt_run, same_bars
    ):
        path = data_dir / "ticksample.csv"
        naive = pd_read_ticks(path).tz_localize(None)
        kwargs = {"timeframe": bt.TimeFrame.Ticks, "tzinput": "US/Central"}
        fmt = "%Y-%m-%dT%H:%M:%S.%f"
        csv = bt.feeds.GenericCSVData(dataname=str(path), dtformat=fmt, **kwargs)
        ours = TradeDataFeed(dataname=naive, **kwargs)

        same_bars(bt_run([csv]).rows, bt_run([ours]).rows)


class TestTimezones:
    """``tzinput`` as BacktraderCSVData reads it; tz-aware frames are never shifted again."""

    def test_daily_session_end_read_in_tzinput(self, data_dir, bt_frame, bt_run, same_bars):
        csv, ours = _pair(data_dir, bt_frame, "2006-day-001.txt", None, tzinput="Europe/Berlin")

        same_bars(bt_run([csv]).rows, bt_run([ours]).rows)

    def test_custom_sessionend(self, data_dir, bt_frame, bt_run, same_bars):
        csv, ours = _pair(data_dir, bt_frame, "2006-day-001.txt", None, sessionend=dt.time(17, 30))

        same_bars(bt_run([csv]).rows, bt_run([ours]).rows)

    def test_naive_intraday_frame_is_read_in_tzinput(self, data_dir, bt_frame, bt_run, same_bars):
        kwargs = {"tzinput": "Europe/Berlin", **MIN5}
        path = str(data_dir / "2006-min-005.txt")
        csv = bt.feeds.BacktraderCSVData(dataname=path, **kwargs)
        naive = bt_frame("2006-min-005.txt", "5min").tz_localize(None)
        ours = TradeDataFeed(dataname=naive, **kwargs)

        same_bars(bt_run([csv]).rows, bt_run([ours]).rows)

    @pytest.mark.parametrize("tz", [None, "US/Eastern"])
    def test_aware_frame_in_true_utc_matches_csv_read_with_tzinput(
        self, data_dir, bt_frame, bt_run, same_bars, tz
    ):
        kwargs = {"tzinput": "Europe/Berlin", "tz": tz, **MIN5}
        path = str(data_dir / "2006-min-005.txt")
        csv = bt.feeds.BacktraderCSVData(dataname=path, **kwargs)
        berlin = bt_frame("2006-min-005.txt", "5min").tz_localize(None)
        utc = berlin.tz_localize("Europe/Berlin").tz_convert("UTC")
        ours = TradeDataFeed(dataname=utc, **kwargs)

        same_bars(bt_run([csv]).rows, bt_run([ours]).rows)


@pytest.mark.parametrize("how", ["resample", "replay"])
def test_a_feed_added_and_resampled_in_one_cerebro(
    data_dir, bt_frame, same_bars, recorder, how, all_combos
):
    def rows(feed: Any, combo: dict[str, Any]) -> list:
        cerebro = bt.Cerebro(stdstats=False, **combo)
        cerebro.adddata(feed)
        getattr(cerebro, f"{how}data")(feed, timeframe=bt.TimeFrame.Minutes, compression=60)
        cerebro.addstrategy(recorder)
        return cerebro.run()[0].rows

    for combo in (all_combos[2], all_combos[-1]):  # preload+runonce, neither
        csv, ours = _pair(data_dir, bt_frame, "2006-min-005.txt", "5min", **MIN5)

        same_bars(rows(csv, combo), rows(ours, combo))
