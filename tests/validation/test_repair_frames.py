"""repair(): sorting, dropping what cannot be bars, deduplicating, optional gap filling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from valhelpers import clean_series

from tradedata.errors import InvalidTimeframeError
from tradedata.model import empty_frame
from tradedata.validation import FILLED, repair, validate


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_clean_series_is_returned_unchanged_as_a_new_frame() -> None:
    frame = clean_series(50)

    out = repair(frame)

    pd.testing.assert_frame_equal(out, frame)
    assert out is not frame and FILLED not in out.columns
    out.iloc[0, 0] = -1.0
    assert frame.iloc[0, 0] > 0  # no shared data


def test_sorts_and_drops_exact_duplicates() -> None:
    frame = clean_series(20)
    messy = pd.concat([frame.iloc[10:], frame.iloc[:10], frame.iloc[[4, 4]]])

    out = repair(messy)

    pd.testing.assert_frame_equal(out, frame)


def test_conflicting_duplicates_keep_the_last_valid_row() -> None:
    frame = clean_series(10)
    later = frame.iloc[[3]].copy()
    later[["high", "close"]] = later[["high", "close"]] * 1.001
    broken = frame.iloc[[3]].copy()
    broken["close"] = np.nan

    out = repair(pd.concat([frame, later, broken]))

    assert out.loc[frame.index[3], "close"] == later["close"].iloc[0]
    assert len(out) == 10


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("close", np.nan),
        ("open", np.inf),
        ("low", -1.0),
        ("high", 0.0),
        ("volume", np.nan),
        ("volume", -1.0),
    ],
)
def test_drops_rows_with_invalid_values(column: str, value: float) -> None:
    frame = clean_series(10)
    frame.iloc[6, frame.columns.get_loc(column)] = value

    out = repair(frame)

    assert len(out) == 9 and frame.index[6] not in out.index


def test_drops_ohlc_violations() -> None:
    frame = clean_series(10)
    frame.iloc[2, frame.columns.get_loc("high")] = frame["low"].iloc[2] * 0.5

    out = repair(frame)

    assert frame.index[2] not in out.index
    assert validate(out, "1m").checks["ohlc_violations"] == 0


def test_does_not_fill_gaps_by_default() -> None:
    frame = clean_series(10).drop(_ts("2024-01-01 00:04"))

    out = repair(frame, "1m")

    assert len(out) == 9 and FILLED not in out.columns
    assert validate(out, "1m").checks["missing_bars"] == 1


def test_fill_gaps_forward_fills_close_and_flags_rows() -> None:
    frame = clean_series(10).drop([_ts("2024-01-01 00:04"), _ts("2024-01-01 00:05")])
    previous_close = frame.loc[_ts("2024-01-01 00:03"), "close"]

    out = repair(frame, "1m", fill_gaps=True)

    filled = out[out[FILLED]]
    assert list(filled.index) == [_ts("2024-01-01 00:04"), _ts("2024-01-01 00:05")]
    assert (filled[["open", "high", "low", "close"]] == previous_close).all().all()
    assert (filled["volume"] == 0).all()
    assert out[FILLED].dtype == bool and out[FILLED].sum() == 2
    assert validate(out, "1m").checks["missing_bars"] == 0


def test_fill_gaps_follows_the_calendar() -> None:
    days = pd.DatetimeIndex(["2024-07-02", "2024-07-03", "2024-07-08"], tz="UTC")
    frame = clean_series(3, "1d").set_axis(days.rename("timestamp"))
    frame["adj_close"] = frame["close"] * 0.5

    out = repair(frame, "1d", fill_gaps=True, calendar="XNYS")

    assert list(out.index[out[FILLED]]) == [_ts("2024-07-05")]  # not the 4th, not the weekend
    assert out.loc[_ts("2024-07-05"), "adj_close"] == frame["adj_close"].iloc[1]


def test_fill_gaps_keeps_unknown_volume_unknown() -> None:
    frame = clean_series(6).drop(_ts("2024-01-01 00:02"))
    frame["volume"] = np.nan

    out = repair(frame, "1m", fill_gaps=True)

    assert len(out) == 6 and out["volume"].isna().all()


def test_fill_gaps_infers_timeframe() -> None:
    frame = clean_series(12, "1h").drop(_ts("2024-01-01 05:00"))

    out = repair(frame, fill_gaps=True)

    assert list(out.index[out[FILLED]]) == [_ts("2024-01-01 05:00")]


def test_fill_gaps_needs_a_timeframe() -> None:
    with pytest.raises(InvalidTimeframeError):
        repair(clean_series(1), fill_gaps=True)


def test_daily_rows_on_the_same_session_are_duplicates() -> None:
    days = pd.DatetimeIndex(["2024-07-01", "2024-07-01 13:30", "2024-07-02"], tz="UTC")
    frame = clean_series(3, "1d").set_axis(days.rename("timestamp"))

    assert len(repair(frame)) == 3  # without a timeframe rows are matched by timestamp
    out = repair(frame, "1d", calendar="XNYS")
    assert list(out.index) == [_ts("2024-07-01 13:30"), _ts("2024-07-02")]


def test_keeps_attrs_and_leaves_input_untouched() -> None:
    frame = clean_series(20).iloc[::-1]
    frame.iloc[0, 3] = np.nan
    frame.attrs.update(symbol="BTC/USDT", provider="binance")
    before = frame.copy()

    out = repair(frame, "1m", fill_gaps=True)

    pd.testing.assert_frame_equal(frame, before)
    assert frame.attrs == {"symbol": "BTC/USDT", "provider": "binance"}
    assert out.attrs == frame.attrs and out.attrs is not frame.attrs


def test_filled_flags_survive_a_second_repair() -> None:
    frame = clean_series(10).drop(_ts("2024-01-01 00:04"))
    once = repair(frame, "1m", fill_gaps=True)

    twice = repair(once.iloc[::-1], "1m", fill_gaps=True)
    plain = repair(once, "1m")

    pd.testing.assert_frame_equal(twice, once)
    assert list(plain.index[plain[FILLED]]) == [_ts("2024-01-01 00:04")]


def test_empty_and_all_nan_frames() -> None:
    all_nan = clean_series(5)
    all_nan["close"] = np.nan

    assert repair(empty_frame()).empty
    assert repair(all_nan).empty
    assert repair(all_nan, "1m", fill_gaps=True).empty


def test_single_bar() -> None:
    frame = clean_series(1)

    pd.testing.assert_frame_equal(repair(frame), frame)
