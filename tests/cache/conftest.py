"""Fixtures for the cache tests: a fresh Cache, and realistic bar frames."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from cachehelpers import make_bars

from tradedata.cache import Cache


@pytest.fixture
def bars() -> Callable[..., pd.DataFrame]:
    """The :func:`cachehelpers.make_bars` factory."""
    return make_bars


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Cache]:
    """A Cache over an empty temporary directory."""
    store = Cache(tmp_path / "cache")
    yield store
    store.close()
