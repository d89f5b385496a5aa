"""Fixtures for the backtrader feed tests: backtrader's sample files as frames, a bar recorder.

The comparisons follow backtrader's own test suite (``tests/testcommon.py``): the same data
objects run under every ``runonce`` x ``preload`` x ``exactbars`` (-2, -1, False) combination.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

#: The 12 cerebro settings backtrader's testcommon.runtest loops over.
COMBOS: list[dict[str, Any]] = [
    {"preload": preload, "runonce": runonce, "exactbars": exactbars}
    for preload in (True, False)
    for runonce in (True, False)
    for exactbars in (-2, -1, False)
]
COMBO_IDS = [
    f"preload={c['preload']}-runonce={c['runonce']}-exbar={c['exactbars']}" for c in COMBOS
]


#: backtrader's sample data is the Euro Stoxx 50 index: this brings the Xetra calendar.
SAMPLE_SYMBOL = "^STOXX50E"


def read_bt_csv(path: Path, bar: pd.Timedelta | None = None) -> pd.DataFrame:
    """A backtrader CSV as a tradedata frame (the test's own reader, independent of csvio).

    Intraday files stamp bars at their end, so ``bar`` (the bar length) is subtracted to get
    open times; daily and longer files keep their dates (a date inside the bar's period).
    ``openinterest`` is kept; ``attrs["symbol"]`` names the index, for its trading calendar.
    """
    raw = pd.read_csv(path, header=None, skiprows=1, dtype=str)
    if raw.shape[1] == 8:  # Date,Time,... (the 1-minute file has Time only in its rows)
        stamps, values = raw[0] + " " + raw[1], raw.iloc[:, 2:]
    else:
        stamps, values = raw[0], raw.iloc[:, 1:]
    values = values.astype("float64")
    values.columns = ["open", "high", "low", "close", "volume", "openinterest"]
    index = pd.DatetimeIndex(pd.to_datetime(stamps, format="mixed"), name="timestamp")
    if bar is not None:
        index = index - bar
    values.index = index.tz_localize("UTC")
    values.attrs["symbol"] = SAMPLE_SYMBOL
    return values


@pytest.fixture
def bt_frame(data_dir: Path) -> Callable[..., pd.DataFrame]:
    """``bt_frame(name, bar=None)``: a sample file from tests/data as a tradedata frame."""

    def make(name: str, bar: str | None = None) -> pd.DataFrame:
        return read_bt_csv(data_dir / name, None if bar is None else pd.Timedelta(bar))

    return make


@pytest.fixture(params=COMBOS, ids=COMBO_IDS)
def combo(request: pytest.FixtureRequest) -> dict[str, Any]:
    """One of backtrader's 12 test combinations of cerebro settings."""
    return dict(request.param)


@pytest.fixture
def all_combos() -> list[dict[str, Any]]:
    """All 12 combinations, for tests that reuse one feed object across runs."""
    return [dict(c) for c in COMBOS]


class Recorder(bt.Strategy):
    """Records every bar each data delivers (all lines, len) and optional indicator values."""

    params = (("indicator", None), ("indargs", {}))

    def __init__(self) -> None:
        self.ind = None
        if self.p.indicator is not None:
            self.ind = self.p.indicator(self.data, **self.p.indargs)
        self.rows: list[tuple[float, ...]] = []

    def next(self) -> None:
        row: list[float] = []
        for data in self.datas:
            row += [len(data), data.datetime[0], data.open[0], data.high[0], data.low[0]]
            row += [data.close[0], data.volume[0], data.openinterest[0]]
        if self.ind is not None:
            row += [line[0] for line in self.ind.lines]
        self.rows.append(tuple(row))


def run_cerebro(
    datas: Iterable[Any],
    how: str = "add",
    strategy: type[bt.Strategy] = Recorder,
    how_kwargs: dict[str, Any] | None = None,
    strategy_kwargs: dict[str, Any] | None = None,
    **cerebro_kwargs: Any,
) -> Any:
    """Run one cerebro over ``datas`` (added, resampled or replayed); return the strategy."""
    cerebro = bt.Cerebro(stdstats=False, **cerebro_kwargs)
    for data in datas:
        if how == "resample":
            cerebro.resampledata(data, **(how_kwargs or {}))
        elif how == "replay":
            cerebro.replaydata(data, **(how_kwargs or {}))
        else:
            cerebro.adddata(data)
    cerebro.addstrategy(strategy, **(strategy_kwargs or {}))
    return cerebro.run()[0]


def rows_array(rows: list[tuple[float, ...]]) -> np.ndarray:
    """Recorded rows as a 2-D float array (NaN-aware comparisons)."""
    return np.array(rows, dtype="float64").reshape(len(rows), -1)


def assert_same_bars(expected: list[tuple[float, ...]], actual: list[tuple[float, ...]]) -> None:
    """Bit-identical bars (NaN equals NaN); reports the first differing bar."""
    assert len(actual) == len(expected), f"{len(actual)} bars, expected {len(expected)}"
    if not expected:
        return
    exp, act = rows_array(expected), rows_array(actual)
    same = (exp == act) | (np.isnan(exp) & np.isnan(act))
    if not same.all():
        bad = int(np.flatnonzero(~same.all(axis=1))[0])
        raise AssertionError(f"bar {bad} differs: {actual[bad]} != {expected[bad]}")


@pytest.fixture
def recorder() -> type[Recorder]:
    """The bar-recording strategy class."""
    return Recorder


@pytest.fixture
def bt_run() -> Callable[..., Any]:
    """``bt_run(datas, how="add", strategy=Recorder, how_kwargs=None, strategy_kwargs=None,
    **cerebro_kwargs)``."""
    return run_cerebro


@pytest.fixture
def same_bars() -> Callable[[list[tuple[float, ...]], list[tuple[float, ...]]], None]:
    """``same_bars(expected_rows, actual_rows)``: assert bit-identical recorded bars."""
    return assert_same_bars
