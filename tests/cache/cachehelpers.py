"""Helpers shared by the cache tests (imported by name, like tests/validation/valhelpers.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_bars(
    start: str = "2023-01-01",
    periods: int = 1000,
    freq: str = "1min",
    *,
    seed: int = 1,
    adj_close: bool = False,
    price: float = 30_000.0,
) -> pd.DataFrame:
    """A random-walk OHLCV frame in the schema: 2-decimal prices, 5-decimal volumes."""
    rng = np.random.default_rng(seed)
    index = pd.date_range(start, periods=periods, freq=freq, tz="UTC", name="timestamp")
    close = np.round(price * np.exp(np.cumsum(rng.normal(0, 0.001, periods))), 2)
    open_ = np.concatenate(([price], close[:-1]))
    wick = np.abs(rng.normal(0, 0.0005, (2, periods)))
    data = {
        "open": open_,
        "high": np.round(np.maximum(open_, close) * (1 + wick[0]), 2),
        "low": np.round(np.minimum(open_, close) * (1 - wick[1]), 2),
        "close": close,
        "volume": np.round(rng.lognormal(2.0, 1.0, periods), 5),
    }
    if adj_close:
        data["adj_close"] = close * 0.987654321  # full-precision floats
    return pd.DataFrame(data, index=index)


def assert_same_bits(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Frames equal value for value, bit for bit (NaN, -0.0 and all)."""
    assert list(actual.columns) == list(expected.columns)
    assert actual.index.equals(expected.index)
    assert str(actual.index.tz) == "UTC" and actual.index.name == "timestamp"
    for col in expected.columns:
        a = actual[col].to_numpy(dtype=np.float64)
        b = expected[col].to_numpy(dtype=np.float64)
        assert np.array_equal(a.view(np.int64), b.view(np.int64)), col
