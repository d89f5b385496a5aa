"""validate(): edge cases, the report (JSON, text), the score formula and speed."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
from valhelpers import EPOCH_2024, clean_series

from tradedata.errors import DataValidationError, InputError, InvalidTimeframeError
from tradedata.model import empty_frame, frame_from_arrays
from tradedata.validation import CHECKS, WEIGHTS, Gap, QualityReport, compute_score, validate


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# -- edge cases ----------------------------------------------------------------------------------
def test_empty_frame() -> None:
    report = validate(empty_frame(), "1h")

    assert report.bars == 0 and report.expected_bars == 0 and report.gaps == []
    assert report.score == 0.0 and report.validation_errors == ["the frame has no bars"]
    assert report.start is None


def test_empty_frame_with_range_counts_everything_missing() -> None:
    report = validate(empty_frame(), "1h", start="2024-01-01", end="2024-01-01 05:00")

    assert report.gaps == [Gap(_ts("2024-01-01"), _ts("2024-01-01 05:00"), 6)]
    assert report.score == 0.0


def test_empty_frame_with_range_without_sessions_is_fine() -> None:
    report = validate(empty_frame(), "1d", "XNYS", start="2024-01-06", end="2024-01-07")

    assert report.expected_bars == 0 and report.score == 1.0


def test_single_bar() -> None:
    report = validate(clean_series(1), "1m")

    assert report.score == 1.0 and report.bars == report.expected_bars == 1


def test_unsorted_input_is_reported_and_checked_in_order() -> None:
    frame = clean_series(50)
    shuffled = frame.iloc[np.random.default_rng(1).permutation(50)]

    report = validate(shuffled, "1m")

    assert report.checks["unsorted"] > 0 and not report.is_clean
    assert report.score == 1.0  # order is not a data problem: repair sorts it
    assert report.checks["missing_bars"] == 0 and report.checks["outliers"] == 0


def test_all_nan_price_column() -> None:
    frame = clean_series(20)
    frame["close"] = np.nan

    report = validate(frame, "1m")

    assert report.checks["invalid_values"] == 20 and report.score == 0.0


def test_all_nan_volume_column_is_noted() -> None:
    frame = clean_series(20)
    frame["volume"] = np.nan

    report = validate(frame, "1m")

    assert report.checks["invalid_values"] == 0 and report.score == 1.0
    assert "volume is missing" in report.notes[0]


def test_missing_timestamps_are_invalid_rows() -> None:
    frame = clean_series(10)
    index = frame.index.to_series().copy()
    index.iloc[4] = pd.NaT
    frame.index = pd.DatetimeIndex(index, name="timestamp")

    report = validate(frame, "1m")

    assert report.checks["invalid_values"] == 1 and report.checks["missing_bars"] == 1


def test_naive_index_and_capitalised_columns_are_accepted() -> None:
    frame = clean_series(10)
    frame.index = frame.index.tz_localize(None)
    frame.columns = [c.capitalize() for c in frame.columns]

    assert validate(frame, "1m").score == 1.0


def test_missing_column_raises() -> None:
    with pytest.raises(DataValidationError):
        validate(clean_series(5).drop(columns="volume"), "1m")


def test_input_frame_is_not_modified() -> None:
    frame = clean_series(30).iloc[::-1]
    frame.iloc[3, 0] = np.nan
    before = frame.copy()

    validate(frame, "1m")

    pd.testing.assert_frame_equal(frame, before)


def test_timeframe_from_attrs_and_inferred() -> None:
    frame = clean_series(30, "5m").drop(pd.Timestamp("2024-01-01 00:10", tz="UTC"))

    inferred = validate(frame)
    frame.attrs["timeframe"] = "5m"
    from_attrs = validate(frame)

    assert inferred.timeframe == from_attrs.timeframe == "5m"
    assert inferred.checks["missing_bars"] == 1


def test_timeframe_cannot_be_inferred_from_one_bar() -> None:
    with pytest.raises(InvalidTimeframeError):
        validate(clean_series(1))


def test_bad_align_is_rejected() -> None:
    with pytest.raises(InputError):
        validate(clean_series(3), "1m", align="sideways")


# -- report --------------------------------------------------------------------------------------
def _damaged() -> pd.DataFrame:
    frame = clean_series(200).drop(
        pd.date_range("2024-01-01 01:00", periods=3, freq="1min", tz="UTC")
    )
    frame = pd.concat([frame, frame.iloc[[10]]]).sort_index(kind="stable")
    frame.iloc[50, frame.columns.get_loc("high")] = 1.0
    frame.iloc[60, frame.columns.get_loc("close")] = np.nan
    frame.attrs["symbol"] = "BTC/USDT"
    return frame


def test_report_json_round_trip() -> None:
    report = validate(_damaged(), "1m")

    text = json.dumps(report.to_dict())
    again = QualityReport.from_dict(json.loads(text))

    assert again == report
    assert json.loads(text)["gaps"][0] == {
        "start": "2024-01-01T01:00:00+00:00",
        "end": "2024-01-01T01:02:00+00:00",
        "missing": 3,
    }


def test_report_str_is_a_readable_summary() -> None:
    text = str(validate(_damaged(), "1m"))

    assert text.splitlines()[0] == "Quality report: BTC/USDT 1m on 24/7 calendar"
    for fragment in ("score", "3 missing bars in 1 gap", "1 duplicate row", "OHLC violation"):
        assert fragment in text


def test_clean_report_str() -> None:
    assert "no problems found" in str(validate(clean_series(10), "1m"))


# -- score ---------------------------------------------------------------------------------------
def test_score_formula() -> None:
    checks = dict.fromkeys(CHECKS, 0)
    checks.update(missing_bars=10, invalid_values=5, duplicates_exact=4)

    score = compute_score(checks, expected_bars=100)

    assert score == round(1 - (10 * 1.0 + 5 * 3.0 + 4 * 0.5) / 100, 4) == 0.73
    assert WEIGHTS["invalid_values"] == WEIGHTS["ohlc_violations"] == max(WEIGHTS.values())


def test_score_is_clamped_and_tiny_damage_is_not_perfect() -> None:
    checks = dict.fromkeys(CHECKS, 0)

    assert compute_score({**checks, "invalid_values": 1000}, 10) == 0.0
    assert compute_score({**checks, "zero_volume": 1}, 10**6) == 0.9999
    assert compute_score(checks, 0) == 1.0


def test_score_matches_report_checks() -> None:
    report = validate(_damaged(), "1m")

    assert report.score == compute_score(report.checks, report.expected_bars) < 1.0


# -- speed ---------------------------------------------------------------------------------------
def test_million_minute_bars_validate_well_under_a_second() -> None:
    n = 1_000_000
    rng = np.random.default_rng(0)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 5e-4, n)))
    open_ = np.concatenate(([close[0]], close[:-1]))
    high, low = np.maximum(open_, close) * 1.0002, np.minimum(open_, close) * 0.9998
    times = EPOCH_2024 + np.arange(n, dtype="int64") * 60_000
    frame = frame_from_arrays(times, open_, high, low, close, rng.uniform(1, 9, n))
    frame.attrs["symbol"] = "BTC/USDT"
    validate(frame.iloc[:1000], "1m")  # warm up imports

    timings = []
    for _ in range(3):
        began = time.perf_counter()
        report = validate(frame, "1m")
        timings.append(time.perf_counter() - began)

    assert report.score == 1.0 and report.expected_bars == n
    assert min(timings) < 1.0  # typically ~0.15 s; slack for a loaded machine


def test_problem_sentences_write_times_as_the_chart_axis_does() -> None:
    import numpy as np
    import pandas as pd

    from tradedata.validation import validate

    index = pd.date_range("2026-12-04", periods=48, freq="1h", tz="UTC", name="timestamp")
    close = np.linspace(100, 101, 48)
    frame = pd.DataFrame(
        {"open": close, "high": close + 0.1, "low": close - 0.1, "close": close, "volume": 1.0},
        index=index,
    ).drop(index[15:18])
    frame.loc[index[30], ["high", "close"]] = 150.0

    errors = " ".join(validate(frame, "1h", calendar="24/7").validation_errors)

    assert "from 2026-12-04 15:00 to 2026-12-04 17:00 UTC" in errors
    assert "first at 2026-12-05 06:00" in errors
    assert "+00:00" not in errors and "T15" not in errors
