"""Helpers for the widget tests: sample data, a recording DataManager, frontend messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tests.support.memory_provider import synthetic
from tradedata.manager import DataManager

DATA_DIR = Path(__file__).resolve().parents[1] / "data"

#: The sample cache's series: (symbol, timeframe).
ORCL = ("ORCL", "1d")
ES = ("ES", "1m")
BTC = ("BTC/USDT", "1h")


def damaged_hourly() -> pd.DataFrame:
    """30 days of clean hourly BTC/USDT bars with two gaps (5 and 2 bars) and one spike."""
    frame = synthetic("2024-03-01", 30 * 24, freq="1h", seed=3)
    spike = frame.index[400]
    frame.loc[spike, ["high", "close"]] = frame.loc[spike, "close"] * 1.4
    frame.loc[spike, "open"] = frame.loc[spike, "close"]
    drop = frame.index[100:105].append(frame.index[500:502])
    return frame.drop(drop)


class RecordingManager(DataManager):
    """A DataManager that records ``(method, args, kwargs)`` of the calls widgets make."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def named(self, method: str) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        """The recorded calls of one method."""
        return [(a, k) for m, a, k in self.calls if m == method]

    def get_ohlcv(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        self.calls.append(("get_ohlcv", args, kwargs))
        return super().get_ohlcv(*args, **kwargs)

    def fetch_missing(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(("fetch_missing", args, kwargs))
        return super().fetch_missing(*args, **kwargs)

    def series(self) -> list[Any]:
        self.calls.append(("series", (), {}))
        return super().series()

    def delete(self, *args: Any, **kwargs: Any) -> int:
        self.calls.append(("delete", args, kwargs))
        return super().delete(*args, **kwargs)


def fill_sample_cache(dm: DataManager) -> None:
    """ORCL 1d (clean Yahoo data), ES 1m (backtrader's minute file) and a damaged BTC/USDT 1h."""
    dm.import_csv(DATA_DIR / "orcl-2014.txt", *ORCL)
    dm.import_csv(DATA_DIR / "2006-01-02-volume-min-001.txt", *ES)
    dm.import_frame(damaged_hourly(), *BTC, source="sample")


def relayout(fig: Any, data: dict[str, Any]) -> None:
    """Deliver a relayout message exactly as the browser side of a FigureWidget sends it."""
    fig._js2py_relayout = {"relayout_data": data, "source_view_id": "test-view"}


def x_of(fig: Any) -> pd.DatetimeIndex:
    """The candle trace's x values as UTC times."""
    return pd.DatetimeIndex(np.asarray(fig.data[0].x)).tz_localize("UTC")
