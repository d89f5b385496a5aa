"""Stamps for backtrader: bit-exact ``date2num`` in bulk, and bar-open to bar-end mapping."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import pytz
from backtrader.utils import date2num, num2date
from hypothesis import given, settings
from hypothesis import strategies as st

import tradedata.feeds.backtrader.time as bt_time
from tradedata.feeds.backtrader.source import StampRule, session_last_day

EPOCH = dt.datetime(1970, 1, 1)
US = dt.timedelta(microseconds=1)
# 1600-01-01 .. 2800-01-01 in microseconds since the epoch (the fast path's range and beyond)
WIDE = st.integers(-11_676_096_000_000_000, 26_192_246_400_000_000)


def _reference(us: list[int]) -> list[float]:
    return [date2num(EPOCH + int(u) * US) for u in us]


@settings(max_examples=200, deadline=None)
@given(st.lists(WIDE, min_size=1, max_size=50))
def test_datenums_is_date2num_bit_for_bit(values):
    assert bt_time.datenums(np.array(values)).tolist() == _reference(values)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.integers(-2_000_000, 20_000_000), min_size=2, max_size=50), st.sampled_from([60, 1])
)
def test_datenums_on_whole_minutes_and_seconds(units, seconds):
    values = [u * seconds * 1_000_000 for u in units]

    assert bt_time.datenums(np.array(values)).tolist() == _reference(values)


def test_datenums_outside_the_fast_range_falls_back_to_date2num():
    values = [-62_135_596_800_000_000, 253_402_300_799_999_999]  # 0001-01-01, 9999-12-31

    assert bt_time.datenums(np.array(values)).tolist() == _reference(values)


def test_datenums_of_session_end_is_backtraders_daily_stamp():
    session_end = dt.datetime(2006, 1, 2, 23, 59, 59, 999990)
    us = (session_end - EPOCH) // US

    assert bt_time.datenums(np.array([us]))[0] == date2num(session_end)
    assert num2date(bt_time.datenums(np.array([us]))[0]).microsecond == 999989


@settings(max_examples=100, deadline=None)
@given(st.lists(WIDE, min_size=1, max_size=30))
def test_roundtrip_is_num2date_of_date2num(values):
    expected = [(num2date(date2num(EPOCH + u * US)) - EPOCH) // US for u in values]

    assert bt_time.roundtrip_us(np.array(values)).tolist() == expected


@pytest.mark.parametrize(
    "wall",
    [
        dt.datetime(2021, 6, 1, 12, 0),
        dt.datetime(2021, 11, 7, 1, 30),  # ambiguous in New York: standard time, as pytz
        dt.datetime(2021, 3, 14, 2, 30),  # inside the DST gap
    ],
)
def test_localize_follows_pytz_localize(wall):
    tz = pytz.timezone("America/New_York")
    expected = tz.localize(wall).astimezone(pytz.utc).replace(tzinfo=None)

    got = bt_time.localize_us(np.array([(wall - EPOCH) // US]), tz)

    assert EPOCH + int(got[0]) * US == expected


def _days(*dates: str) -> np.ndarray:
    return pd.DatetimeIndex(dates).asi8 // 86_400_000_000_000


def _dates(days: np.ndarray) -> list[str]:
    return [str(d) for d in pd.to_datetime(days, unit="D").date]


class TestDailyEndDays:
    def test_daily_bars_end_on_their_own_day(self):
        days = _days("2024-01-01", "2024-01-02")

        assert _dates(bt_time.daily_end_days(days, "d", 1)) == ["2024-01-01", "2024-01-02"]

    def test_weekly_open_times_end_on_the_last_day_of_the_week(self):
        days = _days("2024-01-01", "2024-01-08")  # Mondays

        assert _dates(bt_time.daily_end_days(days, "w", 1)) == ["2024-01-07", "2024-01-14"]

    def test_monthly_open_times_end_on_the_last_day_of_the_month(self):
        days = _days("2024-01-01", "2024-02-01")

        assert _dates(bt_time.daily_end_days(days, "M", 1)) == ["2024-01-31", "2024-02-29"]

    def test_epoch_aligned_multi_day_bars_end_on_their_last_day(self):
        days = _days("2023-12-31", "2024-01-03")  # epoch-aligned 3-day opens

        assert _dates(bt_time.daily_end_days(days, "d", 3)) == ["2024-01-02", "2024-01-05"]

    def test_a_date_inside_the_period_gives_the_same_end_as_its_open(self):
        days = _days("2024-01-01", "2024-01-05", "2024-01-07")  # Monday, Friday, Sunday

        ends = bt_time.daily_end_days(days, "w", 1)

        assert _dates(ends) == ["2024-01-07"] * 3

    def test_a_calendar_picks_the_last_session(self):
        days = _days("2006-04-10", "2006-04-13", "2006-04-17")

        ends = bt_time.daily_end_days(days, "w", 1, session_last_day("^STOXX50E"))

        assert _dates(ends) == ["2006-04-13", "2006-04-13", "2006-04-21"]  # Good Friday

    def test_a_bar_is_never_stamped_before_its_own_date(self):
        days = _days("2006-04-15")  # a Saturday label, after the week's last session

        ends = bt_time.daily_end_days(days, "w", 1, session_last_day("^STOXX50E"))

        assert _dates(ends) == ["2006-04-15"]

    def test_multi_week_and_multi_month_periods_are_epoch_aligned(self):
        two_weeks = bt_time.daily_end_days(_days("2006-01-09", "2006-01-13"), "w", 2)
        quarter = bt_time.daily_end_days(_days("2024-02-10"), "M", 3)

        assert _dates(two_weeks) == ["2006-01-15", "2006-01-15"]
        assert _dates(quarter) == ["2024-03-31"]


@pytest.mark.parametrize(
    ("symbol", "expected"),
    [("BTC/USDT", "2024-01-07"), ("EUR/USD", "2024-01-05"), ("AAPL", "2024-01-05")],
)
def test_session_last_day_follows_the_symbols_calendar(symbol, expected):
    days = _days("2024-01-01")

    ends = bt_time.daily_end_days(days, "w", 1, session_last_day(symbol))

    assert _dates(ends) == [expected]


class TestStampRule:
    def test_intraday_bars_are_stamped_at_their_close(self):
        index = pd.DatetimeIndex(["2006-01-02 09:00"], tz="UTC")

        stamps = StampRule.for_feed(4, 5, dt.time(23, 59, 59, 999990)).stamps(index)

        assert stamps.tolist() == [date2num(dt.datetime(2006, 1, 2, 9, 5))]

    def test_daily_bars_are_stamped_at_session_end(self):
        index = pd.DatetimeIndex(["2006-01-02"], tz="UTC")

        stamps = StampRule.for_feed(5, 1, dt.time(17, 30)).stamps(index)

        assert stamps.tolist() == [date2num(dt.datetime(2006, 1, 2, 17, 30))]

    def test_ticks_keep_their_time(self):
        index = pd.DatetimeIndex(["2015-09-23 20:57:42.146"], tz="UTC")

        stamps = StampRule.for_feed(1, 1, dt.time(23, 59)).stamps(index)

        assert stamps.tolist() == [date2num(dt.datetime(2015, 9, 23, 20, 57, 42, 146000))]

    def test_daily_bars_of_a_non_utc_index_keep_their_local_date(self):
        utc = pd.DatetimeIndex(["2024-01-04", "2024-01-05"], tz="UTC")
        tokyo = pd.DatetimeIndex(["2024-01-04", "2024-01-05"]).tz_localize("Asia/Tokyo")
        rule = StampRule.for_feed(5, 1, dt.time(23, 59, 59, 999990))

        assert rule.stamps(tokyo).tolist() == rule.stamps(utc).tolist()
