"""Fixtures for the cache tests: a fresh Cache, and realistic bar frames."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest
from cachehelpers import make_bars

from tradedata.cache import Cache


@pytest.fixture
def bars() -> Callable[..., pd.DataFrame]:
    """The :func:`cachehelpers.make_bars` factory."""
    return make_bars


@pytest.fixture
def cache(store: Cache) -> Cache:
    """An empty store: the embedded Cache, and the PostgreSQL store (see tests/conftest.py)."""
    return store
