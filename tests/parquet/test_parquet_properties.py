"""Property: after any writes and deletes in the cache, an incremental export mirrors it."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parquethelpers import make_bars

from tradedata.cache import Cache
from tradedata.parquet.export import export_parquet

pa_ds = pytest.importorskip("pyarrow.dataset")

#: (symbol, timeframe, the sources it may be stored under)
_SERIES = [
    ("BTC/USDT", "1h", ("binance", "bybit")),
    ("ETH/USDT", "1h", ("binance", "bybit")),
    ("AAPL", "1d", ("consolidated", "iex")),
]
_step = st.tuples(
    st.sampled_from(["write", "write", "delete"]),
    st.sampled_from(range(len(_SERIES))),
    st.integers(0, 1),  # which of the series' sources
    st.integers(0, 900),  # days after 2022-11-01: crosses year partitions
    st.integers(1, 60),  # bars
    st.sampled_from([None, "okx", "yahoo"]),  # the provider (None: the source itself)
    st.integers(0, 10_000),  # seed
)


def _dataset(dest: Path) -> dict[tuple[str, str, str], pd.DataFrame]:
    if not any(dest.rglob("*.parquet")):
        return {}
    frame = pa_ds.dataset(dest, format="parquet", partitioning="hive").to_table().to_pandas()
    out = {}
    for (source, symbol, tf), rows in frame.groupby(["source", "symbol", "timeframe"]):
        index = pd.DatetimeIndex(rows["timestamp"], name="timestamp").as_unit("ns")
        cols = ["open", "high", "low", "close", "volume"]
        data = pd.DataFrame(rows[cols].to_numpy(), index=index, columns=cols)
        out[(str(source), str(symbol), str(tf))] = data.sort_index()
    return out


@settings(max_examples=12, deadline=None)
@given(st.lists(st.lists(_step, min_size=1, max_size=4), min_size=1, max_size=4))
def test_incremental_exports_mirror_the_cache(rounds: list[list[tuple]]):
    with tempfile.TemporaryDirectory() as tmp, Cache(Path(tmp) / "cache") as cache:
        dest = Path(tmp) / "bars"
        for steps in rounds:
            for action, index, which, day, bars, provider, seed in steps:
                symbol, tf, sources = _SERIES[index]
                if action == "delete":
                    cache.delete(symbol, tf, source=sources[which])
                    continue
                start = pd.Timestamp("2022-11-01") + pd.Timedelta(days=day)
                frame = make_bars(str(start), bars, "1h" if tf == "1h" else "1D", seed=seed)
                cache.write(symbol, tf, frame, source=sources[which], provider=provider)
            result = export_parquet(dest, cache=cache)
            assert result.skipped == ()
            again = export_parquet(dest, cache=cache)
            assert again.written == 0 and again.removed == 0
            stored = {
                (s.source, s.symbol, s.timeframe): cache.read(
                    s.symbol, s.timeframe, source=s.source
                )
                for s in cache.series()
            }
            got = _dataset(dest)
            assert set(got) == set(stored)
            for key, frame in stored.items():
                pd.testing.assert_frame_equal(got[key], frame, check_freq=False)
