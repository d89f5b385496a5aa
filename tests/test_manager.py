"""DataManager: cache-first fetching, coverage, failover, open candle, imports, bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.support.memory_provider import MemoryProvider, synthetic
from tradedata.csvio import read_csv
from tradedata.errors import (
    AllProvidersFailedError,
    DataValidationError,
    InvalidDateRangeError,
    InvalidTimeframeError,
    SymbolNotFoundError,
    TemporaryProviderError,
)
from tradedata.manager import DataManager, get_data_manager

RULES = {"rules": {"crypto": {"primary": "memA", "backup": ["memB"]}}}


@pytest.fixture
def manager(store_spec: str) -> Iterator[DataManager]:
    """A DataManager over an empty store of each kind (embedded folder, PostgreSQL URL)."""
    dm = DataManager(store=store_spec)
    yield dm
    dm.close()


def _dm(store_spec: str, *providers: MemoryProvider) -> DataManager:
    dm = DataManager(store=store_spec, config=RULES)
    for prov in providers:
        dm.add_provider(prov)
    return dm


def test_fetches_only_the_holes(store_spec: str) -> None:
    data = synthetic("2024-01-01", 1000)
    prov = MemoryProvider(data, now="2024-01-02", name="memA")
    dm = _dm(store_spec, prov)
    first = dm.get_ohlcv("BTC/USDT", "1m", "2024-01-01 05:00", "2024-01-01 08:19")
    assert len(first) == 200
    pages_before = prov.pages
    full = dm.get_ohlcv("BTC/USDT", "1m", "2024-01-01", "2024-01-01 16:39")
    pd.testing.assert_frame_equal(full, data, check_freq=False)
    # 300 bars before and 500 after the cached block (+2 re-checked): 3 + 6 pages, not 10
    assert prov.pages - pages_before <= 9
    pages_before = prov.pages
    dm.get_ohlcv("BTC/USDT", "1m", "2024-01-01", "2024-01-01 16:39")
    assert prov.pages == pages_before  # all covered now
    assert full.attrs["provider"] == "memA"
    assert full.attrs["quality"].score == 1.0


def test_open_candle_is_not_stored(store_spec: str) -> None:
    data = synthetic("2024-01-01", 100)
    dm = _dm(store_spec, MemoryProvider(data, now="2024-01-01 01:00:30", name="memA"))
    frame = dm.get_ohlcv("BTC/USDT", "1m", "2024-01-01", "2024-01-01 02:00")
    assert frame.index[-1] == pd.Timestamp("2024-01-01 00:59", tz="UTC")
    stored = dm.cache.read("BTC/USDT", "1m", source="memA")  # memA's bars are its own series
    assert stored.index[-1] == pd.Timestamp("2024-01-01 00:59", tz="UTC")


def _dead_after_3(data: pd.DataFrame) -> MemoryProvider:
    return MemoryProvider(
        data,
        now="2024-01-02",
        name="memA",
        fail=lambda n: TemporaryProviderError("down") if n > 3 else None,
    )


def test_failover_to_another_venue_is_opt_in(store_spec: str) -> None:
    """memA and memB are two venues: memB's bars never continue memA's series unasked."""
    data = synthetic("2024-01-01", 1000)
    backup = MemoryProvider(data, now="2024-01-02", name="memB")
    dm = _dm(store_spec, _dead_after_3(data), backup)
    with pytest.warns(UserWarning, match="could not fetch"):
        frame = dm.get_ohlcv("BTC/USDT", "1m", "2024-01-01", "2024-01-01 16:39")
    assert frame.attrs["source"] == "mema" and frame.attrs["provider"] == "memA"
    pd.testing.assert_frame_equal(frame, data.iloc[: len(frame)], check_freq=False)
    assert len(frame) < len(data) and frame.attrs["unfetched"]
    assert backup.pages == 0  # the other venue was not asked
    assert not dm.cache.has("BTC/USDT", "1m", source="memB")


def test_failover_mid_request_with_fallback_venues_labels_and_keeps_series_apart(
    store_spec: str, cache_dir: Path
) -> None:
    data = synthetic("2024-01-01", 1000)
    dm = _dm(store_spec, _dead_after_3(data), MemoryProvider(data, now="2024-01-02", name="memB"))
    frame = dm.get_ohlcv("BTC/USDT", "1m", "2024-01-01", "2024-01-01 16:39", fallback="venues")
    pd.testing.assert_frame_equal(frame, data, check_freq=False)
    assert frame.attrs["provider"] == "memA+memB" and frame.attrs["unfetched"] == []
    spans = frame.attrs["sources"]
    assert [s["source"] for s in spans] == ["mema", "memb"]
    assert sum(s["bars"] for s in spans) == len(frame)
    assert spans[1]["start"] == frame.index[spans[0]["bars"]] and spans[1]["end"] == frame.index[-1]
    # each venue's bars are stored in its own series, never in the other's
    own = dm.cache.read("BTC/USDT", "1m", source="memA")
    other = dm.cache.read("BTC/USDT", "1m", source="memB")
    assert len(own) == spans[0]["bars"] and own.index[-1] < other.index[0]
    assert dm.cache.provider_at("BTC/USDT", "1m", data.index[50], source="memA") == "memA"
    assert dm.cache.provider_at("BTC/USDT", "1m", data.index[900], source="memA") is None
    assert dm.cache.provider_at("BTC/USDT", "1m", data.index[900], source="memB") == "memB"
    # the quality report scores the mix
    report = frame.attrs["quality"]
    assert report.score < 1.0 and any("mixed sources" in e for e in report.validation_errors)
    # the rule setting does the same as the keyword
    rules = {"rules": {"crypto": {"primary": "memA", "backup": ["memB"], "fallback": "venues"}}}
    dm2 = DataManager(cache_dir=cache_dir / "two", config=rules)
    dm2.add_provider(_dead_after_3(data))
    dm2.add_provider(MemoryProvider(data, now="2024-01-02", name="memB"))
    again = dm2.get_ohlcv("BTC/USDT", "1m", "2024-01-01", "2024-01-01 16:39")
    pd.testing.assert_frame_equal(again, data, check_freq=False)
    assert [s["source"] for s in again.attrs["sources"]] == ["mema", "memb"]


def test_unfetchable_part_is_reported_not_filled(store_spec: str) -> None:
    data = synthetic("2024-01-01", 300)
    dm = _dm(store_spec, MemoryProvider(data, now="2024-01-02", name="memA"))
    dm.get_ohlcv("BTC/USDT", "1m", "2024-01-01", "2024-01-01 04:59")
    failing = MemoryProvider(data, now="2024-01-02", name="memA",
                             fail=lambda n: SymbolNotFoundError("gone"))  # fmt: skip
    dm.add_provider(failing)
    dm.add_provider(MemoryProvider(data, now="2024-01-02", name="memB",
                                   fail=lambda n: SymbolNotFoundError("gone")))  # fmt: skip
    with pytest.warns(UserWarning, match="could not fetch"):
        frame = dm.get_ohlcv("BTC/USDT", "1m", "2024-01-01", "2024-01-01 09:59")
    assert len(frame) == 300  # nothing invented for 05:00..09:59
    assert frame.attrs["unfetched"]


def test_nothing_anywhere_raises(store_spec: str) -> None:
    data = synthetic("2024-01-01", 10)
    dm = _dm(
        store_spec,
        MemoryProvider(
            data, now="2024-01-02", name="memA", fail=lambda n: SymbolNotFoundError("x")
        ),
        MemoryProvider(
            data, now="2024-01-02", name="memB", fail=lambda n: SymbolNotFoundError("x")
        ),
    )
    with pytest.raises(AllProvidersFailedError):
        dm.get_ohlcv("BTC/USDT", "1m", "2024-01-01", "2024-01-01 01:00")


def test_recent_bars_are_rechecked_on_update(store_spec: str) -> None:
    data = synthetic("2024-01-01", 200)
    prov = MemoryProvider(data, now="2024-01-01 02:00:00", name="memA")
    dm = _dm(store_spec, prov)
    dm.get_ohlcv("BTC/USDT", "1m", "2024-01-01", "2024-01-01 03:19")
    last = pd.Timestamp("2024-01-01 01:59", tz="UTC")
    corrected = data.copy()
    corrected.loc[last, "volume"] = 12345.0  # the exchange corrected its last bar
    prov.data = corrected
    prov._now = pd.Timestamp("2024-01-01 03:30", tz="UTC")
    dm.get_ohlcv("BTC/USDT", "1m", "2024-01-01", "2024-01-01 03:19")
    assert dm.cache.read("BTC/USDT", "1m", source="memA").loc[last, "volume"] == 12345.0


@pytest.mark.filterwarnings("error")
def test_import_csv_roundtrip(manager: DataManager, data_dir: Path) -> None:
    report = manager.import_csv(data_dir / "orcl-2014.txt", "ORCL", "1d")
    frame = manager.get_ohlcv("ORCL", "1d", provider="cache")
    expected = read_csv(data_dir / "orcl-2014.txt", "1d")
    pd.testing.assert_frame_equal(frame, expected, check_freq=False)
    assert report.score == pytest.approx(frame.attrs["quality"].score)
    ranged = manager.get_ohlcv("ORCL", "1d", "2014-03-01", "2014-03-31", provider="cache")
    assert ranged.index[0] >= pd.Timestamp("2014-03-01", tz="UTC") and len(ranged) == 21


def test_import_conflicting_duplicates_writes_nothing(manager: DataManager) -> None:
    frame = synthetic("2024-01-01", 5)
    clash = frame.iloc[[2]].copy()
    clash["close"] += 1
    with pytest.raises(DataValidationError, match="conflicting"):
        manager.import_frame(pd.concat([frame, clash]), "BTC/USDT", "1m", "test")
    assert manager.cache.read("BTC/USDT", "1m").empty


def test_exact_duplicates_are_dropped(manager: DataManager) -> None:
    frame = synthetic("2024-01-01", 5)
    manager.import_frame(pd.concat([frame, frame.iloc[[1]]]), "BTC/USDT", "1m", "test")
    assert len(manager.cache.read("BTC/USDT", "1m")) == 5


def test_bad_input_is_typed_and_writes_nothing(manager: DataManager) -> None:
    with pytest.raises(InvalidDateRangeError):
        manager.get_ohlcv("BTC/USDT", "1h", "2024-02-01", "2024-01-01")
    with pytest.raises(InvalidTimeframeError):
        manager.get_ohlcv("BTC/USDT", "7x", "2024-01-01", "2024-01-02")
    assert manager.cache.series() == []


def test_singleton_and_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATA_CACHE_DIR", str(tmp_path / "c"))
    dm = get_data_manager()
    assert dm is get_data_manager()
    assert Path(dm.cache_dir) == tmp_path / "c"


def test_cache_only_warning_names_the_real_holes(manager: DataManager, data_dir: Path) -> None:
    manager.import_csv(data_dir / "orcl-2014.txt", "ORCL", "1d")
    with pytest.warns(UserWarning) as caught:
        frame = manager.get_ohlcv("ORCL", "1d", "2013-12-30", "2014-03-31", provider="cache")
    assert frame.attrs["unfetched"] == [
        (pd.Timestamp("2013-12-30", tz="UTC"), pd.Timestamp("2014-01-01", tz="UTC"))
    ]
    assert "2013-12-30" in str(caught[0].message) and "2014-03" not in str(caught[0].message)
