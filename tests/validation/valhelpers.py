"""Helpers for the validation tests: clean generated series and readers for tests/data files.

The CSV readers are deliberately small (the real importer is tradedata.csvio); they only
turn backtrader's sample files into frames in the tradedata schema.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tradedata.model import frame_from_arrays, parse_timeframe

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
EPOCH_2024 = 1_704_067_200_000  # 2024-01-01 00:00 UTC in ms


def clean_series(
    n: int, timeframe: str = "1m", seed: int = 0, start_ms: int = EPOCH_2024
) -> pd.DataFrame:
    """A clean 24/7 series: aligned, unique, valid OHLC, positive volume, small returns.

    Returns stay within +-0.1% and every bar has a range (high > low), so no check fires:
    no outliers, no stale or zero-volume runs.
    """
    rng = np.random.default_rng(seed)
    step = parse_timeframe(timeframe).milliseconds
    times = start_ms + np.arange(n, dtype="int64") * step
    close = 100.0 * np.exp(np.cumsum(rng.uniform(-0.001, 0.001, n)))
    open_ = np.concatenate(([close[0] * 0.9995], close[:-1]))
    spread = rng.uniform(0.0002, 0.001, n)
    high = np.maximum(open_, close) * (1 + spread)
    low = np.minimum(open_, close) * (1 - spread)
    volume = rng.uniform(1.0, 10.0, n)
    return frame_from_arrays(times, open_, high, low, close, volume)


def read_daily(name: str) -> pd.DataFrame:
    """A daily/weekly/monthly sample file (Date,Open,High,Low,Close[,Adj Close],Volume...).

    Bars are labelled by their date at 00:00 UTC, as backtrader and providers do.
    """
    raw = pd.read_csv(DATA_DIR / name, parse_dates=["Date"])
    index = pd.DatetimeIndex(raw["Date"]).tz_localize("UTC").rename("timestamp")
    columns = {"Open": "open", "High": "high", "Low": "low", "Close": "close", "Volume": "volume"}
    if "Adj Close" in raw.columns:
        columns["Adj Close"] = "adj_close"
    frame = raw[list(columns)].rename(columns=columns).astype("float64")
    frame.index = index
    return frame


def read_intraday(name: str, minutes: int, tz: str) -> pd.DataFrame:
    """An intraday sample file (Date,Time,...), stamped in local time at the bar's close.

    backtrader labels an intraday bar with its end time; tradedata uses the open time in
    UTC, so the label is shifted back one bar and converted.
    """
    raw = pd.read_csv(DATA_DIR / name)
    local = pd.to_datetime(raw["Date"] + " " + raw["Time"]).dt.tz_localize(tz)
    opens = (local - pd.Timedelta(minutes=minutes)).dt.tz_convert("UTC")
    columns = {"Open": "open", "High": "high", "Low": "low", "Close": "close", "Volume": "volume"}
    frame = raw[list(columns)].rename(columns=columns).astype("float64")
    frame.index = pd.DatetimeIndex(opens, name="timestamp")
    return frame
