"""Paging properties over a model exchange that takes every paging rule.

The real engine (:class:`~tradedata.fetching.FetchEngine` driving the provider page loop and
the page contract) fetches ranges from :class:`~tests.support.model_exchange.ModelExchange`
under random rules, trading gaps and zero-trade bars. Whatever the rules:

- no recorded coverage span holds a bar the model has and the engine did not store;
- every stored bar is the model's bar, unchanged (nothing invented);
- paging ends (bounded requests) and never asks a window wider than the exchange accepts;
- what the range lacks is in ``unfetched`` with a reason, never recorded as covered;
- a request failing mid-way keeps what was proven before it, and the next call resumes.

Under rules that can prove a range, the whole range is stored and covered, in at most the
minimum number of requests + 1, and a second call makes no request.
"""

from __future__ import annotations

import tempfile
import warnings

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.model_exchange import (
    HARD_CAP,
    ModelExchange,
    ModelProvider,
    index_of,
    optimal_requests,
    provable,
    ts,
)
from tradedata.adapters.paging import PagingRules
from tradedata.manager import DataManager

PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SYMBOL = "BTC/USDT"


@st.composite
def rules_strategy(draw: st.DrawFn, proven_only: bool = False) -> PagingRules:
    limit = draw(st.integers(2, 9))
    keeps = draw(
        st.sampled_from(["oldest", "newest"] if proven_only else ["oldest", "newest", "unknown"])
    )
    sends_end = True if proven_only and keeps == "newest" else draw(st.booleans())
    window = draw(st.none() | st.integers(1, 3 * limit)) if sends_end else None
    return PagingRules(
        max_candles=limit,
        keeps=keeps,
        sends_end=sends_end,
        end_inclusive=draw(st.booleans()),
        max_window=window,
        history_bars=draw(st.none() | st.integers(1, 60)),
        history_reason=draw(st.sampled_from(["", "the model keeps only its latest bars"])),
        short_page_is_end=True if proven_only else draw(st.booleans()),
    )


@st.composite
def models(
    draw: st.DrawFn, proven_only: bool = False, failing: bool = False
) -> tuple[ModelExchange, int, int]:
    rules = draw(rules_strategy(proven_only))
    span = draw(st.integers(1, 70))
    gaps = draw(st.lists(st.tuples(st.integers(0, span), st.integers(1, 15)), max_size=4))
    missing = {i for start, length in gaps for i in range(start, start + length)}
    present = [i for i in range(span) if i not in missing]
    zero = frozenset(draw(st.lists(st.sampled_from(present), max_size=5)) if present else [])
    trusted = rules.short_page_is_end and rules.keeps != "unknown"
    cap = None if trusted else draw(st.none() | st.integers(1, rules.max_candles))
    model = ModelExchange(
        rules,
        present,
        now_index=span + draw(st.integers(0, 5)),
        zero=zero,
        truth=draw(st.sampled_from(["oldest", "newest"])),
        cap=cap,
        fail_at=draw(st.none() | st.integers(1, 6)) if failing else None,
    )
    lo = draw(st.integers(-5, span + 3))
    hi = draw(st.integers(lo, span + 8))
    return model, lo, hi


def _fetch(dm: DataManager, lo: int, hi: int):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dm.fetch_missing(SYMBOL, "1m", ts(lo), ts(hi), provider="model")


def _check_sound(dm: DataManager, model: ModelExchange, result) -> pd.DataFrame:
    stored = dm.cache.read(SYMBOL, "1m", source="model")
    for i in (index_of(t) for t in stored.index):  # nothing invented, nothing altered
        assert i in model.rows and i < model.now_index, f"bar {i} is not a closed model bar"
        assert tuple(stored.loc[ts(i)]) == model.rows[i]
    have = {index_of(t) for t in stored.index}
    # coverage is a claim the store backs
    for span in dm.cache.coverage(SYMBOL, "1m", source="model"):
        lost = [i for i in model.closed(index_of(span.start), index_of(span.end)) if i not in have]
        assert not lost, f"span {span.start}..{span.end} recorded without bars {lost}"
    assert model.requests < HARD_CAP
    assert not model.violations, model.violations
    for gone in result.unfetched:
        assert gone.reason, "an unfetched range without a reason"
    return stored


@PROPS
@given(models(failing=True))
def test_any_rules_record_only_what_the_store_holds(case: tuple[ModelExchange, int, int]) -> None:
    model, lo, hi = case
    with tempfile.TemporaryDirectory() as tmp, DataManager(cache_dir=tmp) as dm:
        dm.add_provider(ModelProvider(model))
        result = _fetch(dm, lo, hi)
        _check_sound(dm, model, result)
        covered = dm.cache.coverage(SYMBOL, "1m", source="model")
        for gone in result.unfetched:  # reported ranges are not recorded as fetched
            for span in covered:
                assert gone.end < span.start or gone.start > span.end
        before = model.requests
        again = _fetch(dm, lo, hi)  # asks only what is still unproven, and ends
        stored = _check_sound(dm, model, again)
        assert model.requests - before <= HARD_CAP
        if provable(model.rules):  # a failed request is made good by the next call
            assert [index_of(t) for t in stored.index] == model.closed(lo, hi)


@PROPS
@given(models(proven_only=True))
def test_provable_rules_fetch_everything_in_the_fewest_requests(
    case: tuple[ModelExchange, int, int],
) -> None:
    model, lo, hi = case
    assert provable(model.rules)
    with tempfile.TemporaryDirectory() as tmp, DataManager(cache_dir=tmp) as dm:
        dm.add_provider(ModelProvider(model))
        result = _fetch(dm, lo, hi)
        stored = _check_sound(dm, model, result)

        wanted = model.closed(lo, hi)
        assert [index_of(t) for t in stored.index] == wanted
        oldest = model.oldest_served
        for gone in result.unfetched:  # only the part older than the history depth
            assert index_of(gone.end) < oldest and "latest" in (gone.reason + " latest")
        assert model.requests <= optimal_requests(model, lo, hi) + 1

        before = model.requests
        again = _fetch(dm, lo, hi)
        if not result.unfetched:
            assert model.requests == before and again.complete
