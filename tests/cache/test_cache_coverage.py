"""Coverage spans, missing ranges and provider lookup."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tradedata.cache import Cache, coverage
from tradedata.cache.coverage import Grid
from tradedata.errors import InvalidDateRangeError
from tradedata.model import parse_timeframe

T0 = pd.Timestamp("2024-01-01", tz="UTC")
MINUTE = 60 * 10**9


def at(minutes: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(minutes=minutes)


def test_a_fetched_range_without_bars_is_covered(cache: Cache) -> None:
    cache.add_coverage("AAPL", "1d", "2024-01-06", "2024-01-07", "yahoo")  # a weekend

    assert cache.missing_ranges("AAPL", "1d", "2024-01-06", "2024-01-07") == []
    assert cache.missing_ranges("AAPL", "1d", "2024-01-05", "2024-01-08") == [
        (pd.Timestamp("2024-01-05", tz="UTC"), pd.Timestamp("2024-01-05", tz="UTC")),
        (pd.Timestamp("2024-01-08", tz="UTC"), pd.Timestamp("2024-01-08", tz="UTC")),
    ]


def test_adjacent_spans_of_one_provider_merge(cache: Cache) -> None:
    cache.add_coverage("BTC/USDT", "1m", at(0), at(59), "binance", fetched_at="2024-02-01")
    cache.add_coverage("BTC/USDT", "1m", at(60), at(120), "binance", fetched_at="2024-02-02")

    spans = cache.coverage("BTC/USDT", "1m")

    assert len(spans) == 1
    assert (spans[0].start, spans[0].end, spans[0].provider) == (at(0), at(120), "binance")
    assert spans[0].fetched_at == pd.Timestamp("2024-02-02", tz="UTC")


def test_spans_of_other_providers_stay_apart_and_newer_wins(cache: Cache) -> None:
    cache.add_coverage("BTC/USDT", "1m", at(0), at(100), "binance")
    cache.add_coverage("BTC/USDT", "1m", at(50), at(150), "kraken")

    spans = [(s.start, s.end, s.provider) for s in cache.coverage("BTC/USDT", "1m")]

    assert spans == [(at(0), at(50) - pd.Timedelta(1), "binance"), (at(50), at(150), "kraken")]
    assert cache.provider_at("BTC/USDT", "1m", at(49)) == "binance"
    assert cache.provider_at("BTC/USDT", "1m", at(50)) == "kraken"
    assert cache.provider_at("BTC/USDT", "1m", at(151)) is None
    assert cache.missing_ranges("BTC/USDT", "1m", at(0), at(150)) == []


def test_missing_ranges_are_bar_aligned_holes(cache: Cache) -> None:
    cache.add_coverage("BTC/USDT", "1h", "2024-01-01 00:00", "2024-01-01 05:00", "a")
    cache.add_coverage("BTC/USDT", "1h", "2024-01-01 09:00", "2024-01-01 12:00", "a")

    holes = cache.missing_ranges("BTC/USDT", "1h", "2023-12-31 22:30", "2024-01-01 14:10")

    h = pd.Timestamp
    assert holes == [
        (h("2023-12-31 23:00", tz="UTC"), h("2023-12-31 23:00", tz="UTC")),
        (h("2024-01-01 06:00", tz="UTC"), h("2024-01-01 08:00", tz="UTC")),
        (h("2024-01-01 13:00", tz="UTC"), h("2024-01-01 14:00", tz="UTC")),
    ]


def test_remove_coverage_uncovers_whole_bars(cache: Cache) -> None:
    cache.add_coverage("BTC/USDT", "1m", at(0), at(100), "binance")

    cache.remove_coverage("BTC/USDT", "1m", at(90.5), at(100))  # from mid-bar 90

    spans = cache.coverage("BTC/USDT", "1m")
    assert [(s.start, s.end) for s in spans] == [(at(0), at(90))]
    assert cache.missing_ranges("BTC/USDT", "1m", at(0), at(100)) == [(at(91), at(100))]


def test_month_and_week_timeframes(cache: Cache) -> None:
    cache.add_coverage("BTC/USDT", "1M", "2024-01-01", "2024-03-01", "a")
    cache.add_coverage("BTC/USDT", "1w", "2024-01-01", "2024-01-15", "a")

    months = cache.missing_ranges("BTC/USDT", "1M", "2023-11-15", "2024-05-01")
    weeks = cache.missing_ranges("BTC/USDT", "1w", "2024-01-01", "2024-02-01")

    ts = pd.Timestamp
    assert months == [
        (ts("2023-12-01", tz="UTC"), ts("2023-12-01", tz="UTC")),
        (ts("2024-04-01", tz="UTC"), ts("2024-05-01", tz="UTC")),
    ]
    assert weeks == [(ts("2024-01-22", tz="UTC"), ts("2024-01-29", tz="UTC"))]


def test_month_coverage_near_the_last_representable_time(cache: Cache) -> None:
    cache.add_coverage("BTC/USDT", "1M", "2262-03-01", "2262-04-10", "a")

    cache.remove_coverage("BTC/USDT", "1M", "2262-03-05", "2262-04-10")  # next open: 2262-05

    ts = pd.Timestamp
    holes = cache.missing_ranges("BTC/USDT", "1M", "2262-03-01", "2262-04-10")
    assert holes == [(ts("2262-04-01", tz="UTC"), ts("2262-04-01", tz="UTC"))]


def test_coverage_needs_a_valid_range(cache: Cache) -> None:
    with pytest.raises(InvalidDateRangeError):
        cache.add_coverage("BTC/USDT", "1m", at(10), at(0), "a")
    with pytest.raises(InvalidDateRangeError):
        cache.missing_ranges("BTC/USDT", "1m", None, at(0))


def test_coverage_is_per_series(cache: Cache) -> None:
    cache.add_coverage("BTC/USDT", "1m", at(0), at(10), "a")

    assert cache.coverage("BTC/USDT", "1h") == []
    assert cache.coverage("ETH/USDT", "1m") == []
    assert cache.missing_ranges("ETH/USDT", "1m", at(0), at(1)) == [(at(0), at(1))]


# -- properties ------------------------------------------------------------------------------

_PROVIDERS = st.sampled_from(["a", "b", "c"])
_OFFSET = st.integers(0, 240).map(lambda m: m * MINUTE) | st.integers(0, 240 * 60).map(
    lambda s: s * 10**9
)
_OP = st.tuples(st.sampled_from(["add", "add", "remove"]), _OFFSET, _OFFSET, _PROVIDERS)
_MINUTE_OPENS = range(0, 241 * MINUTE, MINUTE)  # every bar open the 1m ops can reach


def _grid_model(ops: list[tuple[str, int, int, str]], opens: Iterable[int]) -> dict[int, str]:
    """What each bar open should say after ``ops``: its provider, or absent."""
    model: dict[int, str] = {}
    for kind, a, b, provider in ops:
        lo, hi = min(a, b), max(a, b)
        for t in opens:
            if lo <= t <= hi and kind == "add":
                model[t] = provider
            elif lo <= t <= hi:
                model.pop(t, None)
    return model


def _check(
    spans: list[coverage.Span],
    model: dict[int, str],
    request: tuple[int, int],
    grid: Grid,
    opens: Sequence[int],
) -> None:
    """Spans agree with ``model`` on every bar open; ``missing`` partitions the request.

    ``opens`` must hold every bar open from before the first to after the last instant used.
    """
    lo, hi = min(request), max(request)
    for (s1, e1, p1, _), (s2, _, p2, _) in itertools.pairwise(spans):
        assert s1 <= e1 < s2  # sorted, disjoint
        if p1 == p2:  # else they would have been merged: a bar open lies between them
            assert any(e1 < t < s2 for t in opens)
    for t in opens:
        assert coverage.provider_at(spans, t) == model.get(t)
    holes = coverage.missing(spans, lo, hi, grid)
    for (_, b1), (a2, _) in itertools.pairwise(holes):
        assert b1 < a2
    on_grid = set(opens)
    for a, b in holes:
        assert lo <= a <= b <= hi and a in on_grid and b in on_grid
        assert all(e < a or s > b for s, e, _, _ in spans)  # never overlaps coverage
    for t in opens:
        if lo <= t <= hi:
            in_hole = any(a <= t <= b for a, b in holes)
            assert in_hole != (t in model)  # missing + covered == requested, disjoint


def _apply(ops: list[tuple[str, int, int, str]], grid: Grid) -> list[coverage.Span]:
    spans: list[coverage.Span] = []
    for fetched, (kind, a, b, provider) in enumerate(ops):
        lo, hi = min(a, b), max(a, b)
        if kind == "add":
            spans = coverage.add_span(spans, lo, hi, provider, fetched, grid)
        else:
            spans = coverage.remove_span(spans, lo, hi, grid)
    return spans


@settings(max_examples=300, deadline=None)
@given(ops=st.lists(_OP, max_size=12), request=st.tuples(_OFFSET, _OFFSET))
@example(ops=[("add", 0, MINUTE, "a"), ("remove", 10**9, 10**9, "a")], request=(0, 0))
@example(  # as Hypothesis found it: removing an instant that holds no bar open left two pieces
    ops=[("add", 0, 0, "a")] * 6
    + [("add", 0, 1 * MINUTE, "a"), ("remove", 1000000000, 1000000000, "a")],
    request=(0, 0),
)
def test_span_algebra_partitions_every_request(
    ops: list[tuple[str, int, int, str]], request: tuple[int, int]
) -> None:
    grid = Grid(parse_timeframe("1m"))

    spans = _apply(ops, grid)

    _check(spans, _grid_model(ops, _MINUTE_OPENS), request, grid, _MINUTE_OPENS)


DAY = 86_400 * 10**9
#: An instant as (bar index, nudge in ns from that bar's open); a nudge may pass a 3d bar.
_BAR_INSTANT = st.tuples(
    st.integers(0, 9), st.sampled_from([-1, 0, 1]) | st.integers(0, 7 * DAY - 1)
)
_BAR_OP = st.tuples(
    st.sampled_from(["add", "add", "remove"]), _BAR_INSTANT, _BAR_INSTANT, _PROVIDERS
)


@pytest.mark.parametrize("timeframe", ["1w", "2w", "1M", "3d"])
@settings(max_examples=100, deadline=None)
@given(ops=st.lists(_BAR_OP, max_size=8), request=st.tuples(_BAR_INSTANT, _BAR_INSTANT))
@example(  # a month covered, then one instant inside it (no bar open) removed: it stays whole
    ops=[("add", (0, 0), (1, 0), "a"), ("remove", (0, DAY), (0, DAY), "a")],
    request=((0, 0), (1, 0)),
)
@example(  # a sub-bar fetch of another provider between two bars of one provider
    ops=[
        ("add", (0, 0), (2, 0), "a"),
        ("add", (1, -1), (1, -1), "b"),
        ("remove", (1, 1), (2, 0), "c"),
    ],
    request=((0, -1), (3, 1)),
)
def test_span_algebra_on_week_and_month_grids(
    timeframe: str,
    ops: list[tuple[str, tuple[int, int], tuple[int, int], str]],
    request: tuple[tuple[int, int], tuple[int, int]],
) -> None:
    tf = parse_timeframe(timeframe)
    grid = Grid(tf)
    # Bar 0 opens mid-November 2023 so months of 28-31 days (leap February) are all reached.
    first = tf.floor(pd.Timestamp("2023-11-15", tz="UTC"))
    bars = tf.bar_opens(first - tf.delta * 2, first + tf.delta * 14)
    opens = [int(t.value) for t in bars]
    base = opens.index(int(first.value))

    def ns(instant: tuple[int, int]) -> int:
        return opens[base + instant[0]] + instant[1]

    flat = [(kind, ns(a), ns(b), provider) for kind, a, b, provider in ops]

    spans = _apply(flat, grid)

    _check(spans, _grid_model(flat, opens), (ns(request[0]), ns(request[1])), grid, opens)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(_OP, max_size=6), request=st.tuples(_OFFSET, _OFFSET))
def test_cache_coverage_api_partitions_every_request(
    tmp_path_factory: pytest.TempPathFactory,
    ops: list[tuple[str, int, int, str]],
    request: tuple[int, int],
) -> None:
    with Cache(Path(tmp_path_factory.mktemp("cov"))) as store:
        for kind, a, b, provider in ops:
            lo, hi = T0 + pd.Timedelta(min(a, b)), T0 + pd.Timedelta(max(a, b))
            if kind == "add":
                store.add_coverage("BTC/USDT", "1m", lo, hi, provider)
            else:
                store.remove_coverage("BTC/USDT", "1m", lo, hi)
        lo, hi = T0 + pd.Timedelta(min(request)), T0 + pd.Timedelta(max(request))
        holes = store.missing_ranges("BTC/USDT", "1m", lo, hi)
        spans = store.coverage("BTC/USDT", "1m")
        base = T0.value

    internal = [(s.start.value - base, s.end.value - base, s.provider, 0) for s in spans]
    grid = Grid(parse_timeframe("1m"))
    _check(internal, _grid_model(ops, _MINUTE_OPENS), request, grid, _MINUTE_OPENS)
    expected = coverage.missing(internal, min(request), max(request), Grid(parse_timeframe("1m")))
    assert [(a.value - base, b.value - base) for a, b in holes] == expected
