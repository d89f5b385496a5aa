"""Helpers shared by the Parquet tests (imported by name, like tests/cache/cachehelpers.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tradedata.cache import Cache

#: (source, symbol, timeframe, first bar, bars, freq): what :func:`fill_cache` stores.
SERIES = [
    ("binance", "BTC/USDT", "1m", "2023-12-31 22:00", 240, "1min"),  # spans 2023 and 2024
    ("bybit", "ETH/USDT:USDT", "1h", "2024-03-01", 100, "1h"),  # not the default venue
    ("consolidated", "AAPL", "1d", "2022-12-20", 30, "1D"),  # 2022 and 2023
    ("consolidated", "AAPL", "1M", "2021-01-01", 12, "MS"),  # one month bars: 1M next to 1m
]
#: the provider that delivers each source's bars (a venue's provider is the venue)
PROVIDER = {"consolidated": "yahoo"}


def provider_of(source: str) -> str:
    """The provider :func:`fill_cache` records for the bars of ``source``."""
    return PROVIDER.get(source, source)


def make_bars(start: str, periods: int, freq: str, *, seed: int = 1) -> pd.DataFrame:
    """A random-walk OHLCV frame in the schema (2-decimal prices)."""
    rng = np.random.default_rng(seed)
    index = pd.date_range(start, periods=periods, freq=freq, tz="UTC", name="timestamp")
    close = np.round(100 + np.cumsum(rng.normal(0, 1, periods)), 2)
    return pd.DataFrame(
        {
            "open": close - 0.5,
            "high": close + 1.0,
            "low": close - 1.0,
            "close": close,
            "volume": np.round(rng.uniform(1, 10, periods), 5),
        },
        index=index,
    )


def fill_cache(directory: Path) -> Cache:
    """A cache holding :data:`SERIES`, each written by its source."""
    cache = Cache(directory)
    for i, (source, symbol, tf, start, periods, freq) in enumerate(SERIES):
        bars = make_bars(start, periods, freq, seed=i)
        cache.write(symbol, tf, bars, source=source, provider=provider_of(source))
    return cache


def duck_frame(rows: Any, symbol: str, timeframe: str) -> pd.DataFrame:
    """DuckDB rows of one series (already ordered by time) as a schema frame."""
    frame = rows.df() if hasattr(rows, "df") else rows
    frame = frame[(frame["symbol"] == symbol) & (frame["timeframe"] == timeframe)]
    index = pd.DatetimeIndex(frame["timestamp"], name="timestamp").tz_convert("UTC")
    cols = ["open", "high", "low", "close", "volume"]
    return pd.DataFrame(frame[cols].to_numpy(), index=index.as_unit("ns"), columns=cols)
