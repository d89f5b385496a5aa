"""Property tests: stitching across failing providers, and merging of overlapping writes.

Whatever pattern of failures two providers show, the series the manager stores equals the
source bar for bar, the coverage record says which provider served each bar, and nothing is
invented. Whatever order overlapping writes arrive in, the cache holds the last write of
each bar.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from contextlib import AbstractContextManager

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.memory_provider import MemoryProvider, synthetic
from tradedata.cache.opening import open_store
from tradedata.errors import SymbolNotFoundError, TemporaryProviderError
from tradedata.manager import DataManager

DATA = synthetic("2024-01-01", 600)
RULES = {"rules": {"crypto": {"primary": "memA", "backup": ["memB"]}}}
PROPS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
#: a fresh store per example: an embedded folder, or a PostgreSQL database (tests/conftest.py)
NewStore = Callable[[], AbstractContextManager[str]]


def _failing(pages: frozenset[int], permanent: bool):  # type: ignore[no-untyped-def]
    def fail(n: int) -> Exception | None:
        if n in pages:
            return SymbolNotFoundError("gone") if permanent else TemporaryProviderError("503")
        return None

    return fail


@PROPS
@given(
    a_fails=st.frozensets(st.integers(1, 8), max_size=6),
    b_fails=st.frozensets(st.integers(1, 8), max_size=2),
    permanent=st.booleans(),
    start=st.integers(0, 200),
    length=st.integers(1, 399),
)
def test_stitched_series_equals_source(
    new_store_spec: NewStore,
    a_fails: frozenset[int],
    b_fails: frozenset[int],
    permanent: bool,
    start: int,
    length: int,
) -> None:
    with new_store_spec() as spec, DataManager(store=spec, config=RULES) as dm:
        dm.add_provider(
            MemoryProvider(DATA, now="2024-01-02", name="memA", fail=_failing(a_fails, permanent))
        )
        dm.add_provider(
            MemoryProvider(DATA, now="2024-01-02", name="memB", fail=_failing(b_fails, False))
        )
        lo, hi = DATA.index[start], DATA.index[start + length]
        frame = dm.get_ohlcv("BTC/USDT", "1m", lo, hi, fallback="venues")
        # memB only fails transiently, so the opt-in failover always completes the range
        assert frame.attrs["unfetched"] == []
        pd.testing.assert_frame_equal(frame, DATA.loc[lo:hi], check_freq=False)
        # the labelled runs tile the frame; each venue's bars sit in its own series only
        runs = frame.attrs["sources"]
        assert sum(r["bars"] for r in runs) == len(frame)
        assert all(a["end"] < b["start"] for a, b in itertools.pairwise(runs))
        for run in runs:
            part = frame.loc[run["start"] : run["end"]]
            stored = dm.cache.read("BTC/USDT", "1m", run["start"], run["end"], source=run["source"])
            pd.testing.assert_frame_equal(part, stored, check_freq=False)
            for ts in part.index[:: max(1, len(part) // 3)]:
                owner = dm.cache.provider_at("BTC/USDT", "1m", ts, source=run["source"])
                assert owner == {"mema": "memA", "memb": "memB"}[run["source"]]
        assert {s.provider for s in dm.cache.coverage("BTC/USDT", "1m", source="memA")} <= {"memA"}
        assert {s.provider for s in dm.cache.coverage("BTC/USDT", "1m", source="memB")} <= {"memB"}


@PROPS
@given(
    writes=st.lists(
        st.tuples(st.integers(0, 550), st.integers(1, 50), st.floats(-0.5, 0.5)),
        min_size=1,
        max_size=6,
    )
)
def test_overlapping_writes_keep_the_last_value_of_each_bar(
    new_store_spec: NewStore,
    writes: list[tuple[int, int, float]],
) -> None:
    model: pd.Series | None = None
    with new_store_spec() as spec, open_store(spec) as cache:
        for i, (start, length, shift) in enumerate(writes):
            part = DATA.iloc[start : start + length].copy()
            part[["open", "high", "low", "close"]] += shift
            cache.write("BTC/USDT", "1m", part, provider=f"p{i}")
            kept = None if model is None else model[~model.index.isin(part.index)]
            model = (
                part["close"] if kept is None or kept.empty else pd.concat([kept, part["close"]])
            )
            model = model.sort_index()
        stored = cache.read("BTC/USDT", "1m")
    assert stored.index.is_unique and stored.index.is_monotonic_increasing
    assert model is not None
    pd.testing.assert_series_equal(stored["close"], model, check_names=False, check_freq=False)
