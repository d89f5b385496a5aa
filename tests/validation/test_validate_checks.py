"""validate(): each check, the report, the score and edge cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from valhelpers import clean_series

from tradedata.errors import InputError
from tradedata.validation import CHECKS, Gap, validate


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# -- a clean series -------------------------------------------------------------------------------
def test_clean_series_scores_one() -> None:
    report = validate(clean_series(500), "1m")

    assert report.score == 1.0
    assert report.is_clean and report.validation_errors == []
    assert report.bars == report.expected_bars == 500
    assert set(report.checks) == set(CHECKS) and not any(report.checks.values())
    assert report.start == _ts("2024-01-01") and report.end == _ts("2024-01-01 08:19")


# -- gaps ----------------------------------------------------------------------------------------
def test_gap_reports_first_and_last_missing_open() -> None:
    frame = clean_series(100).drop(
        pd.date_range("2024-01-01 00:10", periods=5, freq="1min", tz="UTC")
    )

    report = validate(frame, "1m")

    assert report.gaps == [Gap(_ts("2024-01-01 00:10"), _ts("2024-01-01 00:14"), 5)]
    assert report.checks["gaps"] == 1 and report.checks["missing_bars"] == 5
    assert report.missing_bars == 5 and report.expected_bars == 100


def test_requested_range_counts_missing_head_and_tail() -> None:
    frame = clean_series(10)  # 00:00 .. 00:09

    report = validate(frame, "1m", start="2023-12-31 23:57", end="2024-01-01 00:11")

    assert report.gaps == [
        Gap(_ts("2023-12-31 23:57"), _ts("2023-12-31 23:59"), 3),
        Gap(_ts("2024-01-01 00:10"), _ts("2024-01-01 00:11"), 2),
    ]
    assert report.start == _ts("2023-12-31 23:57") and report.expected_bars == 15


def test_requested_range_inside_data_does_not_shrink_it() -> None:
    report = validate(clean_series(10), "1m", start="2024-01-01 00:05")

    assert report.start == _ts("2024-01-01") and report.expected_bars == 10


def test_start_after_end_is_rejected() -> None:
    with pytest.raises(InputError):
        validate(clean_series(5), "1m", start="2024-02-01", end="2024-01-01")


def test_calendar_from_symbol_attr() -> None:
    index = pd.DatetimeIndex(["2024-01-05", "2024-01-08"], tz="UTC")  # Friday, Monday
    frame = clean_series(2, "1d").set_axis(index.rename("timestamp"))
    frame.attrs["symbol"] = "EUR/USD"

    report = validate(frame, "1d")

    assert report.calendar == "24/5" and report.score == 1.0 and report.symbol == "EUR/USD"


def test_unknown_symbol_falls_back_to_24_7() -> None:
    index = pd.DatetimeIndex(["2024-01-05", "2024-01-08"], tz="UTC")
    frame = clean_series(2, "1d").set_axis(index.rename("timestamp"))
    frame.attrs["symbol"] = "??"

    report = validate(frame, "1d")

    assert report.calendar == "24/7" and report.checks["missing_bars"] == 2


def test_daily_bars_stamped_at_session_open_match_sessions() -> None:
    opens = pd.DatetimeIndex(["2024-07-01 13:30", "2024-07-02 13:30", "2024-07-03 13:30"], tz="UTC")
    frame = clean_series(3, "1d").set_axis(opens.rename("timestamp"))

    report = validate(frame, "1d", "XNYS")

    assert report.score == 1.0 and report.expected_bars == 3


def test_holiday_bar_is_off_calendar_and_missing_session_is_a_gap() -> None:
    days = pd.DatetimeIndex(["2024-07-03", "2024-07-04", "2024-07-08"], tz="UTC")
    frame = clean_series(3, "1d").set_axis(days.rename("timestamp"))

    report = validate(frame, "1d", "XNYS")

    assert report.checks["off_calendar"] == 1  # July 4th
    assert report.gaps == [Gap(_ts("2024-07-05"), _ts("2024-07-05"), 1)]


def test_exchange_intraday_epoch_aligned_bars_are_recognised() -> None:
    opens = pd.date_range("2024-07-01 13:00", "2024-07-01 19:00", freq="1h", tz="UTC")
    frame = clean_series(len(opens), "1h").set_axis(opens.rename("timestamp"))

    report = validate(frame, "1h", "XNYS")

    assert report.score == 1.0 and report.expected_bars == 7


def test_weekly_bars_labelled_on_friday_match_weeks() -> None:
    fridays = pd.date_range("2024-01-05", periods=8, freq="W-FRI", tz="UTC")
    frame = clean_series(8, "1w").set_axis(fridays.rename("timestamp"))

    report = validate(frame, "1w", "XNYS")

    assert report.score == 1.0 and report.expected_bars == 8


def test_monthly_gap() -> None:
    month_ends = pd.DatetimeIndex(["2024-01-31", "2024-02-29", "2024-04-30"], tz="UTC")
    frame = clean_series(3, "1M").set_axis(month_ends.rename("timestamp"))

    report = validate(frame, "1M", "XNYS")

    assert report.gaps == [Gap(_ts("2024-03-01"), _ts("2024-03-01"), 1)]


# -- duplicates, values, OHLC ----------------------------------------------------------------------
def test_exact_and_conflicting_duplicates() -> None:
    frame = clean_series(20)
    conflicting = frame.iloc[[7]].copy()
    conflicting["close"] *= 1.0001
    damaged = pd.concat([frame, frame.iloc[[3, 3]], conflicting]).sort_index(kind="stable")

    report = validate(damaged, "1m")

    assert report.checks["duplicates"] == 3
    assert report.checks["duplicates_exact"] == 2
    assert report.checks["duplicates_conflicting"] == 1
    assert report.duplicates == [frame.index[3], frame.index[7]]
    assert report.bars == 23 and report.checks["missing_bars"] == 0


@pytest.mark.parametrize(
    ("column", "value", "check"),
    [
        ("close", np.nan, "nan_values"),
        ("volume", np.nan, "nan_values"),
        ("high", np.inf, "inf_values"),
        ("low", -1.0, "negative_values"),
        ("volume", -5.0, "negative_values"),
        ("open", 0.0, "zero_prices"),
    ],
)
def test_invalid_values_are_counted(column: str, value: float, check: str) -> None:
    frame = clean_series(30)
    frame.iloc[12, frame.columns.get_loc(column)] = value

    report = validate(frame, "1m")

    assert report.checks[check] == 1 and report.checks["invalid_values"] == 1
    assert report.checks["ohlc_violations"] == 0  # an invalid row is not also a violation
    assert report.score < 1.0


def test_adj_close_may_be_nan_but_not_negative() -> None:
    frame = clean_series(10)
    frame["adj_close"] = frame["close"]
    frame.iloc[2, frame.columns.get_loc("adj_close")] = np.nan
    frame.iloc[3, frame.columns.get_loc("adj_close")] = -1.0

    report = validate(frame, "1m")

    assert report.checks["invalid_values"] == 1 and report.checks["negative_values"] == 1


@pytest.mark.parametrize(
    "change",
    [
        {"high": 50.0},  # high below open/close (and below low)
        {"low": 200.0},  # low above open/close
        {"high": 99.0, "low": 101.0, "open": 100.0, "close": 100.0},  # high < low
    ],
)
def test_ohlc_violations(change: dict[str, float]) -> None:
    frame = clean_series(30)
    for column, value in change.items():
        frame.iloc[5, frame.columns.get_loc(column)] = value

    report = validate(frame, "1m", outlier_threshold=float("inf"))

    assert report.checks["ohlc_violations"] == 1
    assert report.ohlc_violations == [frame.index[5]]


def test_rounding_noise_is_not_a_violation() -> None:
    frame = clean_series(5)
    top = max(frame["open"].iloc[1], frame["close"].iloc[1])
    frame.iloc[1, frame.columns.get_loc("high")] = top * (1 - 1e-12)

    assert validate(frame, "1m").checks["ohlc_violations"] == 0


# -- outliers, stale, zero volume -----------------------------------------------------------------
def test_spike_is_one_outlier() -> None:
    frame = clean_series(300)
    frame.iloc[150, :4] = frame.iloc[150, :4] * 1.5
    frame.iloc[150, frame.columns.get_loc("low")] = frame.iloc[149]["close"]  # keep OHLC valid

    report = validate(frame, "1m")

    assert report.outliers == [frame.index[150]]
    assert report.checks["outliers"] == 1


def test_level_shift_is_one_outlier_and_threshold_is_configurable() -> None:
    frame = clean_series(300)
    frame.iloc[200:, :4] = frame.iloc[200:, :4] * 1.2

    assert validate(frame, "1m").outliers == [frame.index[200]]
    assert validate(frame, "1m", outlier_threshold=1e6).checks["outliers"] == 0


def test_quiet_series_with_zero_mad_has_no_tick_outliers() -> None:
    frame = clean_series(200)
    flat = 1.0 + (np.arange(200) % 50 == 0) * 1e-4  # a stablecoin: one tick now and then
    for column in ("open", "close"):
        frame[column] = flat
    frame["high"], frame["low"] = flat * 1.0001, flat * 0.9999

    assert validate(frame, "1m").checks["outliers"] == 0


def test_stale_run_counts_its_bars() -> None:
    frame = clean_series(60)
    price = frame["close"].iloc[19]
    frame.iloc[20:32, :4] = price  # 12 flat bars repeating the previous close

    report = validate(frame, "1m")

    assert report.checks["stale"] == 12
    assert validate(frame, "1m", stale_run=13).checks["stale"] == 0


def test_short_flat_run_is_not_stale() -> None:
    frame = clean_series(60)
    frame.iloc[20:25, :4] = frame["close"].iloc[19]

    assert validate(frame, "1m").checks["stale"] == 0


def test_zero_volume_runs() -> None:
    frame = clean_series(40)
    frame.iloc[5:7, frame.columns.get_loc("volume")] = 0.0  # 2 bars: below the run length
    frame.iloc[20:24, frame.columns.get_loc("volume")] = 0.0  # 4 bars

    report = validate(frame, "1m")

    assert report.checks["zero_volume"] == 4
    assert validate(frame, "1m", zero_volume_run=2).checks["zero_volume"] == 6


def test_all_zero_volume_is_noted_not_penalised() -> None:
    frame = clean_series(40)
    frame["volume"] = 0.0

    report = validate(frame, "1m")

    assert report.score == 1.0 and "volume is 0 throughout" in report.notes[0]


def test_forex_week_shoulders_are_neither_gaps_nor_off_calendar() -> None:
    opens = pd.date_range("2024-01-05 12:00", "2024-01-08 03:00", freq="1h", tz="UTC")
    weekend = (opens.dayofweek == 5) | ((opens.dayofweek == 6) & (opens.hour < 21))
    frame = clean_series(int((~weekend).sum()), "1h").set_axis(opens[~weekend].rename("timestamp"))

    with_shoulders = validate(frame, "1h", "24/5")
    without = validate(frame[(frame.index.hour < 21) | (frame.index.dayofweek == 0)], "1h", "24/5")

    assert with_shoulders.score == 1.0 and with_shoulders.expected_bars == 9 + 4
    assert without.score == 1.0 and without.expected_bars == 13


def test_forex_saturday_bar_is_off_calendar() -> None:
    days = pd.DatetimeIndex(["2024-01-05", "2024-01-06", "2024-01-07", "2024-01-08"], tz="UTC")
    frame = clean_series(4, "1d").set_axis(days.rename("timestamp"))

    report = validate(frame, "1d", "24/5")

    assert report.checks["off_calendar"] == 1 and report.expected_bars == 2  # Sunday allowed
