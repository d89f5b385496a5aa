"""End to end: bars fetched from the exchange simulator through ccxt, exported, read by DuckDB."""

# ruff: noqa: F811 - the simulator fixtures are imported, then requested by name

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from parquethelpers import duck_frame

from tests.adapters.ccxt_conftest_fixtures import (
    sim,  # noqa: F401 - fixture
    sim_server,  # noqa: F401 - fixture
)
from tradedata.manager import DataManager
from tradedata.sim.simulator import ExchangeSimulator

duckdb = pytest.importorskip("duckdb")


def test_fetched_bars_reach_duckdb_under_their_venue(sim: ExchangeSimulator, tmp_path: Path):
    end = sim.now().floor("h") - pd.Timedelta(hours=1)
    start = end - pd.Timedelta(days=3)
    with DataManager(cache_dir=tmp_path / "cache", providers={"binance": {"url": sim.url}}) as dm:
        fetched = dm.get_ohlcv("BTC/USDT", "1h", start, end, provider="binance")
        result = dm.export_parquet(tmp_path / "bars")
    assert result.written >= 1 and result.rows_written == len(fetched) == 73
    scanned = duckdb.sql(
        f"SELECT * FROM read_parquet('{tmp_path}/bars/**/*.parquet', hive_partitioning = true) "
        "WHERE source = 'binance' AND symbol = 'BTC/USDT' AND timeframe = '1h' ORDER BY timestamp"
    ).df()
    got = duck_frame(scanned, "BTC/USDT", "1h")
    pd.testing.assert_frame_equal(got, fetched[got.columns], check_freq=False)
    assert set(scanned["provider"]) == {"binance"}
