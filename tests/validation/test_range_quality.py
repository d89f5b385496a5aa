"""A cached range's quality report is joined from its partitions' stored reports, exactly.

``get_ohlcv`` on cached bars must not validate the whole frame again (that cost three times
the read); the report it hands out must still be what validating the frame finds, across the
seams between year partitions: gaps, stale and zero-volume runs crossing a new year.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradedata.judging import Judge
from tradedata.manager import DataManager
from tradedata.validation import validate
from tradedata.validation.report import QualityReport

SYMBOL = "BTC/USDT"


def hourly(start: str, end: str, seed: int = 3) -> pd.DataFrame:
    index = pd.date_range(start, end, freq="1h", tz="UTC", name="timestamp")
    rng = np.random.default_rng(seed)
    close = np.round(100 * np.exp(np.cumsum(rng.normal(0, 0.002, len(index)))), 4)
    open_ = np.concatenate(([100.0], close[:-1]))
    high = np.maximum(open_, close) * 1.001
    low = np.minimum(open_, close) * 0.999
    volume = rng.uniform(1, 5, len(index))
    data = {"open": open_, "high": high, "low": low, "close": close, "volume": volume}
    return pd.DataFrame(data, index=index)


def flatten(frame: pd.DataFrame, first: str, last: str) -> None:
    """Make bars first..last stale: flat at the close of the bar before."""
    rows = (frame.index >= pd.Timestamp(first, tz="UTC")) & (
        frame.index <= pd.Timestamp(last, tz="UTC")
    )
    before = frame["close"].to_numpy()[np.flatnonzero(rows)[0] - 1]
    for column in ("open", "high", "low", "close"):
        frame.loc[rows, column] = before


def damaged() -> pd.DataFrame:
    frame = hourly("2022-12-20", "2024-01-10")
    frame = frame.drop(frame.loc["2022-12-31 22:00":"2023-01-01 02:00"].index)  # gap over a seam
    flatten(frame, "2023-12-31 18:00", "2024-01-01 05:00")  # 6 + 6 stale bars: one run of 12
    frame.loc["2023-12-31 22:00":"2024-01-01 01:00", "volume"] = 0.0  # 2 + 2 zero-volume bars
    frame.loc["2023-06-01 12:00", "high"] = frame.loc["2023-06-01 12:00", "low"] * 0.5
    return frame


def same_report(got: QualityReport, want: QualityReport, outliers: bool = True) -> None:
    """Equal reports; with ``outliers=False`` outliers (judged within each year partition,
    not against the whole range: see tradedata.validation.combine) may differ."""
    if not outliers and got.outliers != want.outliers:
        got.checks["outliers"], want.checks["outliers"] = 0, 0
        got.outliers = want.outliers = []
        got.score = want.score = 0.0
        want.validation_errors = [e for e in want.validation_errors if "outlier" not in e]
        got.validation_errors = [e for e in got.validation_errors if "outlier" not in e]
    assert got.checks == want.checks
    assert got.gaps == want.gaps
    assert (got.expected_bars, got.bars) == (want.expected_bars, want.bars)
    assert (got.start, got.end) == (want.start, want.end)
    assert got.outliers == want.outliers and got.ohlc_violations == want.ohlc_violations
    assert got.validation_errors == want.validation_errors
    assert got.score == want.score


@pytest.fixture
def dm(cache_dir: Path):
    with DataManager(cache_dir=cache_dir) as manager:
        yield manager


@pytest.mark.parametrize(
    "start, end",
    [
        (None, None),  # three whole partitions
        ("2022-12-25", "2024-01-05"),  # partial partitions at both ends
        ("2023-01-01", "2023-12-31 23:00"),  # exactly one partition
    ],
)
def test_the_joined_report_is_the_frames_report(dm, start, end) -> None:
    dm.import_frame(damaged(), SYMBOL, "1h")

    frame = dm.get_ohlcv(SYMBOL, "1h", start, end, provider="cache")

    want = validate(frame.copy(), "1h", calendar="24/7")
    same_report(frame.attrs["quality"], want)
    assert frame.attrs["quality"].symbol == SYMBOL


def test_the_seams_are_exact(dm) -> None:
    dm.import_frame(damaged(), SYMBOL, "1h")

    report = dm.get_ohlcv(SYMBOL, "1h", provider="cache").attrs["quality"]

    gap = report.gaps[0]
    assert (gap.start, gap.missing) == (pd.Timestamp("2022-12-31 22:00", tz="UTC"), 5)
    assert report.checks["stale"] == 12 and report.checks["zero_volume"] == 4
    assert report.checks["ohlc_violations"] == 1


def test_a_warm_read_validates_nothing_again(dm, monkeypatch) -> None:
    dm.import_frame(hourly("2022-06-01", "2024-06-01"), SYMBOL, "1h")
    rows: list[int] = []
    real = Judge.validate

    def counting(self, frame, symbol, tf, source=None):  # type: ignore[no-untyped-def]
        rows.append(len(frame))
        return real(self, frame, symbol, tf, source)

    monkeypatch.setattr(Judge, "validate", counting)

    frame = dm.get_ohlcv(SYMBOL, "1h", provider="cache")

    assert rows == [] and len(frame) > 17_000
    assert frame.attrs["quality"].score == 1.0


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    drop=st.lists(st.integers(-30, 30), max_size=12),
    flat=st.tuples(st.integers(-20, 0), st.integers(0, 20)),
    zero=st.tuples(st.integers(-5, 0), st.integers(0, 5)),
)
def test_damage_around_a_seam_is_counted_as_validate_counts_it(
    tmp_path_factory, drop, flat, zero
) -> None:
    frame = hourly("2023-12-25", "2024-01-08", seed=len(drop))
    seam = int(np.searchsorted(frame.index, pd.Timestamp("2024-01-01", tz="UTC")))
    index = frame.index
    if flat[1] - flat[0] > 1:
        flatten(frame, str(index[seam + flat[0]]), str(index[seam + flat[1] - 1]))
    frame.iloc[seam + zero[0] : seam + zero[1], frame.columns.get_loc("volume")] = 0.0
    frame = frame.drop(index[[seam + d for d in set(drop)]])
    with DataManager(cache_dir=tmp_path_factory.mktemp("c")) as dm:
        dm.import_frame(frame, SYMBOL, "1h")
        got = dm.get_ohlcv(SYMBOL, "1h", provider="cache")

    same_report(got.attrs["quality"], validate(got.copy(), "1h", calendar="24/7"), False)
