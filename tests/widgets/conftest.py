"""Fixtures for the widget tests: a real DataManager over a temporary cache of sample data."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.support.memory_provider import synthetic
from tests.widgets.widget_helpers import RecordingManager, fill_sample_cache
from tradedata.manager import DataManager


@pytest.fixture(scope="session")
def sample_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache directory holding the sample series, built once; tests use copies of it."""
    path = tmp_path_factory.mktemp("sample") / "cache"
    with DataManager(cache_dir=path) as dm:
        fill_sample_cache(dm)
    return path


@pytest.fixture
def sample_manager(sample_cache: Path, tmp_path: Path) -> Iterator[RecordingManager]:
    """A recording manager over this test's own copy of the sample cache."""
    path = tmp_path / "cache"
    shutil.copytree(sample_cache, path)
    dm = RecordingManager(cache_dir=path)
    yield dm
    dm.close()


@pytest.fixture(scope="session")
def minute_year() -> pd.DataFrame:
    """A year of 1-minute bars (525,600 rows); tests must not modify it."""
    frame = synthetic("2023-01-01", 365 * 1440, freq="1min", seed=11)
    frame.attrs["timeframe"] = "1m"
    return frame
