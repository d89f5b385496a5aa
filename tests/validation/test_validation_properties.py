"""Property tests (hypothesis) for validate() and repair()."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from valhelpers import clean_series

from tradedata.validation import FILLED, repair, validate

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TIMEFRAMES = st.sampled_from(["1m", "5m", "1h", "1d"])


@st.composite
def clean_frames(
    draw: st.DrawFn, min_size: int = 1, max_size: int = 150
) -> tuple[pd.DataFrame, str]:
    n = draw(st.integers(min_size, max_size))
    tf = draw(TIMEFRAMES)
    return clean_series(n, tf, seed=draw(st.integers(0, 2**16))), tf


def _positions(draw: st.DrawFn, n: int, low: int = 0, high: int | None = None) -> list[int]:
    high = n - 1 if high is None else high
    if high < low:
        return []
    return sorted(draw(st.sets(st.integers(low, high), max_size=max(0, min(20, high - low + 1)))))


@st.composite
def damaged_frames(draw: st.DrawFn) -> tuple[pd.DataFrame, str]:
    """A clean frame with random damage: removals, duplicates, bad values, violations, shuffle."""
    frame, tf = draw(clean_frames(min_size=2))
    n = len(frame)
    values = frame.to_numpy(copy=True)
    for row in _positions(draw, n):
        column = draw(st.integers(0, 4))
        values[row, column] = draw(st.sampled_from([np.nan, np.inf, -1.0, 0.0]))
    for row in _positions(draw, n):
        values[row, 1] = values[row, 2] * 0.5  # high far below low
    damaged = pd.DataFrame(values, index=frame.index, columns=frame.columns)
    removed = _positions(draw, n)
    dups = draw(st.lists(st.integers(0, n - 1), max_size=10))
    extra = damaged.iloc[dups].copy()
    if len(extra) and draw(st.booleans()):
        extra["close"] = extra["close"] * 1.0001  # conflicting copies
    damaged = pd.concat([damaged.drop(damaged.index[removed]), extra])
    order = draw(st.permutations(range(len(damaged))))
    return damaged.iloc[list(order)], tf


# -- validate --------------------------------------------------------------------------------------
@SETTINGS
@given(clean_frames())
def test_clean_series_scores_one(case: tuple[pd.DataFrame, str]) -> None:
    frame, tf = case

    report = validate(frame, tf)

    assert report.score == 1.0 and report.validation_errors == []
    assert report.expected_bars == report.bars == len(frame)


@SETTINGS
@given(clean_frames(min_size=3), st.data())
def test_removed_bars_are_the_gaps(case: tuple[pd.DataFrame, str], data: st.DataObject) -> None:
    frame, tf = case
    removed = data.draw(st.sets(st.integers(1, len(frame) - 2), max_size=len(frame) - 2))

    report = validate(frame.drop(frame.index[sorted(removed)]), tf)

    assert sum(g.missing for g in report.gaps) == len(removed) == report.checks["missing_bars"]
    missing = [t for g in report.gaps for t in pd.date_range(g.start, g.end, periods=g.missing)]
    assert sorted(missing) == list(frame.index[sorted(removed)])


@SETTINGS
@given(clean_frames(min_size=3), st.data())
def test_removed_head_and_tail_count_with_requested_range(
    case: tuple[pd.DataFrame, str], data: st.DataObject
) -> None:
    frame, tf = case
    head = data.draw(st.integers(0, len(frame) // 2))
    tail = data.draw(st.integers(0, len(frame) - head - 1))

    kept = frame.iloc[head : len(frame) - tail]
    report = validate(kept, tf, start=frame.index[0], end=frame.index[-1])

    assert report.checks["missing_bars"] == head + tail
    assert report.expected_bars == len(frame)


@SETTINGS
@given(clean_frames(), st.data())
def test_injected_duplicates_are_counted_exactly(
    case: tuple[pd.DataFrame, str], data: st.DataObject
) -> None:
    frame, tf = case
    exact = data.draw(st.lists(st.integers(0, len(frame) - 1), max_size=10))
    conflicting = data.draw(st.lists(st.integers(0, len(frame) - 1), max_size=10, unique=True))
    changed = frame.iloc[conflicting].copy()
    changed["volume"] += 1.0

    report = validate(pd.concat([frame, frame.iloc[exact], changed]), tf)

    assert report.checks["duplicates"] == len(exact) + len(conflicting)
    assert report.checks["duplicates_conflicting"] == len(conflicting)
    assert report.checks["missing_bars"] == 0
    assert len(report.duplicates) == len(set(exact) | set(conflicting))


@SETTINGS
@given(clean_frames(), st.data())
def test_injected_violations_and_invalid_values_are_counted_exactly(
    case: tuple[pd.DataFrame, str], data: st.DataObject
) -> None:
    frame, tf = case
    rows = data.draw(st.sets(st.integers(0, len(frame) - 1), max_size=len(frame)))
    split = data.draw(st.integers(0, len(rows)))
    violated, invalid = sorted(rows)[:split], sorted(rows)[split:]
    damaged = frame.copy()
    top = np.maximum(damaged["open"], damaged["close"])
    damaged.iloc[violated, 1] = top.iloc[violated] * 0.99  # high below max(open, close)
    damaged.iloc[invalid, 4] = -1.0  # negative volume

    report = validate(damaged, tf, outlier_threshold=float("inf"))

    assert report.checks["ohlc_violations"] == len(violated)
    assert report.checks["invalid_values"] == len(invalid)
    assert report.ohlc_violations == list(frame.index[violated])


def _sound_positions(frame: pd.DataFrame) -> list[int]:
    """Rows not damaged yet: valid values, low <= high, and a timestamp of their own."""
    values = frame[["open", "high", "low", "close", "volume"]]
    sound = values.gt(0).all(axis=1) & (frame["low"] <= frame["high"])
    sound &= ~frame.index.duplicated(keep=False)
    return list(np.flatnonzero(sound.to_numpy()))


@SETTINGS
@given(clean_frames(min_size=4), st.data())
def test_score_never_rises_with_damage(case: tuple[pd.DataFrame, str], data: st.DataObject) -> None:
    frame, tf = case
    span = {"start": frame.index[0], "end": frame.index[-1], "outlier_threshold": float("inf")}
    damaged = frame.copy()
    previous = validate(damaged, tf, **span).score
    for _ in range(data.draw(st.integers(1, 8))):
        sound = _sound_positions(damaged)
        if not sound:
            break
        row = data.draw(st.sampled_from(sound))
        action = data.draw(st.sampled_from(["remove", "duplicate", "nan", "violate"]))
        if action == "remove":
            damaged = damaged.drop(damaged.index[row])
        elif action == "duplicate":
            damaged = pd.concat([damaged, damaged.iloc[[row]]])
        elif action == "nan":
            damaged.iloc[row, 3] = np.nan
        else:
            damaged.iloc[row, 2] = damaged.iloc[row, 1] * 2  # low above high

        score = validate(damaged, tf, **span).score

        assert score <= previous, action
        previous = score


# -- repair ----------------------------------------------------------------------------------------
@SETTINGS
@given(damaged_frames())
def test_repair_output_is_sorted_unique_and_valid(case: tuple[pd.DataFrame, str]) -> None:
    frame, tf = case

    out = repair(frame, tf)

    assert out.index.is_monotonic_increasing and out.index.is_unique
    report = validate(out, tf)
    for check in ("duplicates", "invalid_values", "ohlc_violations", "unsorted"):
        assert report.checks[check] == 0, check


@SETTINGS
@given(damaged_frames())
def test_repair_never_invents_rows(case: tuple[pd.DataFrame, str]) -> None:
    frame, tf = case

    out = repair(frame, tf)

    assert set(out.index) <= set(frame.index) and len(out) <= len(frame)
    originals = frame[~frame.index.duplicated(keep="last")]
    common = out.index.intersection(originals.index)
    assert (out.loc[common, "close"].notna()).all()


@SETTINGS
@given(damaged_frames())
def test_filled_rows_are_exactly_the_gaps(case: tuple[pd.DataFrame, str]) -> None:
    frame, tf = case
    plain = repair(frame, tf)
    gaps = validate(plain, tf).gaps

    filled = repair(frame, tf, fill_gaps=True)

    expected = [t for g in gaps for t in pd.date_range(g.start, g.end, periods=g.missing)]
    assert list(filled.index[filled[FILLED]]) == sorted(expected)
    pd.testing.assert_frame_equal(filled[~filled[FILLED]].drop(columns=FILLED), plain)
    assert validate(filled, tf).checks["missing_bars"] == 0


@SETTINGS
@given(damaged_frames(), st.booleans())
def test_repair_is_idempotent(case: tuple[pd.DataFrame, str], fill: bool) -> None:
    frame, tf = case

    once = repair(frame, tf, fill_gaps=fill)
    twice = repair(once, tf, fill_gaps=fill)

    pd.testing.assert_frame_equal(twice, once)


@SETTINGS
@given(damaged_frames())
def test_repair_does_not_lower_the_score(case: tuple[pd.DataFrame, str]) -> None:
    frame, tf = case
    assume(len(frame) > 0)
    span = {"start": frame.index.min(), "end": frame.index.max()}

    before = validate(frame, tf, **span, outlier_threshold=float("inf"))
    after = validate(repair(frame, tf), tf, **span, outlier_threshold=float("inf"))

    assert after.score >= before.score
