"""Optional columns in the store: open interest is kept, and partitions without it still read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tradedata.cache import Cache


def _bars(start: str, n: int, oi: bool) -> pd.DataFrame:
    index = pd.date_range(start, periods=n, freq="1D", tz="UTC", name="timestamp")
    data = {c: np.arange(n, dtype="float64") + 10 for c in ("open", "high", "low", "close")}
    data["volume"] = np.full(n, 5.0)
    if oi:
        data["open_interest"] = np.arange(n, dtype="float64") * 1000 + 1
    return pd.DataFrame(data, index=index)


def test_open_interest_round_trips_through_a_partition(cache_dir: Path) -> None:
    with Cache(cache_dir) as cache:
        cache.write("ES", "1d", _bars("2024-01-01", 60, oi=True), provider="csv")
        back = cache.read("ES", "1d")
    assert list(back.columns) == ["open", "high", "low", "close", "volume", "open_interest"]
    assert back["open_interest"].tolist() == [i * 1000 + 1.0 for i in range(60)]


def test_partitions_written_without_open_interest_still_read_and_merge(cache_dir: Path) -> None:
    with Cache(cache_dir) as cache:
        cache.write("ES", "1d", _bars("2023-12-01", 40, oi=False), provider="old")
        before = cache.read("ES", "1d")
        assert "open_interest" not in before.columns  # an old partition: OHLCV only
        cache.write("ES", "1d", _bars("2024-01-05", 10, oi=True), provider="csv")
        after = cache.read("ES", "1d")
    oi = after["open_interest"]
    assert len(after) == 45  # 2023-12-01 .. 2024-01-14: the new bars replace 01-05 .. 01-09
    assert oi.loc[:"2024-01-04"].isna().all()  # stored without it: unknown, never invented
    assert oi.loc["2024-01-05":].tolist() == [i * 1000 + 1.0 for i in range(10)]
    assert after.loc[:"2023-12-31", "close"].equals(before.loc[:"2023-12-31", "close"])


def test_open_interest_survives_export_and_import(tmp_path: Path) -> None:
    bars = _bars("2024-01-01", 30, oi=True)
    with Cache(tmp_path / "a") as cache:
        cache.write("ES", "1d", bars, provider="csv")
        cache.export_tree(tmp_path / "tree")
    with Cache(tmp_path / "b") as cache:
        cache.import_tree(tmp_path / "tree")
        back = cache.read("ES", "1d")
    assert back["open_interest"].tolist() == bars["open_interest"].tolist()
