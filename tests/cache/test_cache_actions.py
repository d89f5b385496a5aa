"""The cache's corporate-actions records: stored per symbol, healed, exported and imported."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tradedata.actions import CorporateActions
from tradedata.cache import Cache
from tradedata.errors import CacheError


def _nvda() -> CorporateActions:
    utc = pd.DatetimeIndex(["2021-07-20", "2024-06-10"]).tz_localize("UTC")
    return CorporateActions(
        pd.Series([4.0, 10.0], index=utc),
        pd.Series([0.04, 0.01], index=utc),
        checked_at=pd.Timestamp("2024-07-01", tz="UTC"),
        source="polygon",
    )


def test_a_record_is_kept_per_symbol(cache: Cache) -> None:
    cache.set_actions("NVDA", _nvda())

    assert cache.get_actions("NVDA") == _nvda()
    assert cache.get_actions("AAPL") is None
    assert cache.actions_symbols() == ["NVDA"]
    assert cache.delete_actions("NVDA") and cache.get_actions("NVDA") is None


@pytest.mark.embedded_only  # damages the embedded store's own record
def test_a_damaged_record_is_dropped_so_it_is_fetched_again(cache: Cache) -> None:
    cache.set_actions("NVDA", _nvda())
    cache._db.dc.set(cache._db.actions_key("NVDA"), '{"splits": [["not a date", 2]]}')

    assert cache.get_actions("NVDA") is None
    assert cache.actions_symbols() == []


def test_export_and_import_keep_the_records(cache: Cache, tmp_path: Path) -> None:
    cache.set_actions("NVDA", _nvda())
    cache.set_fundamentals("NVDA", {"pe": 50}, ttl=None)
    cache.export_tree(tmp_path / "tree")

    with Cache(tmp_path / "other") as other:
        other.import_tree(tmp_path / "tree")
        assert other.get_actions("NVDA") == _nvda()


def test_a_malformed_record_in_a_tree_is_refused_before_anything_is_written(
    cache: Cache, tmp_path: Path
) -> None:
    cache.set_fundamentals("X", {"a": 1}, ttl=None)
    cache.export_tree(tmp_path / "tree")
    (tmp_path / "tree" / "actions").mkdir()
    (tmp_path / "tree" / "actions" / "NVDA.json").write_text('{"splits": []}')

    with Cache(tmp_path / "other") as other:
        with pytest.raises(CacheError, match="malformed tree file"):
            other.import_tree(tmp_path / "tree")
        assert other.fundamentals_keys() == []
