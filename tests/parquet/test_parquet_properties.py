"""Property: after any writes and deletes in the cache, an incremental export mirrors it."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from parquethelpers import make_bars

from tradedata.cache import Cache
from tradedata.parquet.export import export_parquet

pa_ds = pytest.importorskip("pyarrow.dataset")

_SERIES = [("binance", "BTC/USDT", "1h"), ("bybit", "ETH/USDT", "1h"), ("yahoo", "AAPL", "1d")]
_step = st.one_of(
    st.tuples(
        st.just("write"),
        st.sampled_from(range(len(_SERIES))),
        st.integers(0, 900),  # days after 2022-11-01: crosses year partitions
        st.integers(1, 60),  # bars
        st.sampled_from(["binance", "bybit", "yahoo", "okx"]),  # which provider delivers them
        st.integers(0, 10_000),  # seed
    ),
    st.tuples(st.just("delete"), st.sampled_from(range(len(_SERIES)))),
)


def _dataset(dest: Path) -> dict[tuple[str, str], pd.DataFrame]:
    table = pa_ds.dataset(dest, format="parquet", partitioning="hive").to_table()
    frame = table.to_pandas()
    out = {}
    for (symbol, tf), rows in frame.groupby(["symbol", "timeframe"], observed=True):
        index = pd.DatetimeIndex(rows["timestamp"], name="timestamp").as_unit("ns")
        cols = ["open", "high", "low", "close", "volume"]
        out[(str(symbol), str(tf))] = pd.DataFrame(
            rows[cols].to_numpy(), index=index, columns=cols
        ).sort_index()
    return out


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.lists(_step, min_size=1, max_size=4), min_size=1, max_size=4))
def test_incremental_exports_mirror_the_cache(rounds: list[list[tuple]]):
    with tempfile.TemporaryDirectory() as tmp, Cache(Path(tmp) / "cache") as cache:
        dest = Path(tmp) / "bars"
        for steps in rounds:
            for step in steps:
                _, symbol, tf = _SERIES[step[1]]
                if step[0] == "delete":
                    cache.delete(symbol, tf)
                    continue
                _, _, day, bars, provider, seed = step
                start = pd.Timestamp("2022-11-01") + pd.Timedelta(days=day)
                freq = "1h" if tf == "1h" else "1D"
                cache.write(
                    symbol, tf, make_bars(str(start), bars, freq, seed=seed), source=provider
                )
            result = export_parquet(dest, cache=cache)
            assert result.skipped == ()
            again = export_parquet(dest, cache=cache)
            assert again.written == 0 and again.removed == 0
            got = _dataset(dest) if any(dest.rglob("*.parquet")) else {}
            stored = {
                (s.symbol, s.timeframe): cache.read(s.symbol, s.timeframe) for s in cache.series()
            }
            assert set(got) == set(stored)
            for key, frame in stored.items():
                pd.testing.assert_frame_equal(got[key], frame, check_freq=False)
