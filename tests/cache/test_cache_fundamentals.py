"""Fundamentals entries with a time to live."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from tradedata.cache import Cache
from tradedata.errors import InputError


def test_set_get_roundtrip_converts_numpy_and_timestamps(cache: Cache) -> None:
    value = {
        "pe": np.float64(31.5),
        "shares": np.int64(15_000_000_000),
        "as_of": pd.Timestamp("2024-01-02", tz="UTC"),
        "nested": {"list": [1, 2.5, None], "nan": float("nan")},
    }

    cache.set_fundamentals("AAPL", value, ttl=3600)

    assert cache.get_fundamentals("AAPL") == {
        "pe": 31.5,
        "shares": 15_000_000_000,
        "as_of": "2024-01-02T00:00:00+00:00",
        "nested": {"list": [1, 2.5, None], "nan": None},
    }
    assert cache.fundamentals_keys() == ["AAPL"]


def test_entries_expire_after_their_ttl(cache: Cache) -> None:
    cache.set_fundamentals("AAPL", {"pe": 30}, ttl=0.2)
    cache.set_fundamentals("MSFT", {"pe": 35}, ttl=3600)
    assert cache.get_fundamentals("AAPL") == {"pe": 30}

    time.sleep(0.3)

    assert cache.get_fundamentals("AAPL") is None
    assert cache.get_fundamentals("MSFT") == {"pe": 35}
    assert cache.fundamentals_keys() == ["MSFT"]


def test_no_ttl_keeps_the_entry(cache: Cache) -> None:
    cache.set_fundamentals("AAPL", {"pe": 30}, ttl=None)

    assert cache.get_fundamentals("AAPL") == {"pe": 30}
    assert cache.fundamentals_expiry("AAPL") is None


def test_delete_and_overwrite(cache: Cache) -> None:
    cache.set_fundamentals("AAPL", {"pe": 30}, ttl=60)
    cache.set_fundamentals("AAPL", {"pe": 31}, ttl=60)
    assert cache.get_fundamentals("AAPL") == {"pe": 31}

    assert cache.delete_fundamentals("AAPL") is True
    assert cache.delete_fundamentals("AAPL") is False
    assert cache.get_fundamentals("AAPL") is None


def test_fundamentals_are_separate_from_bars(cache: Cache) -> None:
    cache.set_fundamentals("BTC/USDT", {"x": 1}, ttl=60)

    assert not cache.has("BTC/USDT", "1h") and cache.series() == []


@pytest.mark.parametrize("ttl", [0, -1, float("nan"), "10", True])
def test_bad_ttl_is_rejected(cache: Cache, ttl: object) -> None:
    with pytest.raises(InputError):
        cache.set_fundamentals("AAPL", {"pe": 1}, ttl=ttl)  # type: ignore[arg-type]


def test_values_must_be_json_dicts(cache: Cache) -> None:
    with pytest.raises(InputError):
        cache.set_fundamentals("AAPL", ["not", "a", "dict"], ttl=60)  # type: ignore[arg-type]
    with pytest.raises(InputError):
        cache.set_fundamentals("AAPL", {"bad": object()}, ttl=60)
    assert cache.get_fundamentals("AAPL") is None
