"""Damaged partitions are quarantined, reported and fetched again; size-limit eviction."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from cachehelpers import assert_same_bits, make_bars

from tradedata.cache import Cache, CacheCorruptionWarning

SYM, TF = "BTC/USDT", "1h"
#: damage to partition files and the size limit are the embedded store's (PostgreSQL keeps rows
#: in pages it checks itself, and has no size limit)
pytestmark = pytest.mark.embedded_only


def _three_years(cache: Cache) -> pd.DataFrame:
    frame = make_bars("2021-01-01", periods=3 * 8760, freq="1h")
    cache.write(SYM, TF, frame, provider="binance")
    cache.add_coverage(SYM, TF, frame.index[0], frame.index[-1], "binance")
    return frame


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x5A
    path.write_bytes(bytes(data))


def _garbage(path: Path) -> None:
    path.write_bytes(b"this is not gzip at all" * 10)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-100])


def _delete(path: Path) -> None:
    path.unlink()


def _bad_checksum(cache: Cache) -> None:
    key = cache._db.meta_key(SYM, TF, 2022)
    meta = cache._db.get_json(key)
    meta["checksum"] = "crc32:00000000"
    cache._db.set_json(key, meta)


def _bad_metadata(cache: Cache) -> None:
    cache._db.dc.set(cache._db.meta_key(SYM, TF, 2022), "{truncated json")


@pytest.mark.parametrize(
    "damage",
    [_flip, _garbage, _truncate, _delete, "checksum", "metadata"],
    ids=["flipped-bytes", "not-gzip", "truncated", "file-missing", "bad-checksum", "bad-json"],
)
def test_a_damaged_partition_is_quarantined_and_refetchable(
    cache: Cache,
    damage: Callable[[Path], None] | str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    frame = _three_years(cache)
    path = cache.partition_file(SYM, TF, 2022)
    assert path is not None
    if damage == "checksum":
        _bad_checksum(cache)
    elif damage == "metadata":
        _bad_metadata(cache)
    else:
        damage(path)  # type: ignore[operator]

    with pytest.warns(CacheCorruptionWarning), caplog.at_level(logging.WARNING):
        back = cache.read(SYM, TF)

    assert_same_bits(back, frame[frame.index.year != 2022])
    assert "damaged" in caplog.text
    assert cache.years(SYM, TF) == [2021, 2023]
    assert cache.missing_ranges(SYM, TF, frame.index[0], frame.index[-1]) == [
        (pd.Timestamp("2022-01-01", tz="UTC"), pd.Timestamp("2022-12-31 23:00", tz="UTC"))
    ]
    damages = cache.verify()
    assert [(d.symbol, d.timeframe, d.year) for d in damages] == [(SYM, TF, 2022)]
    quarantine = cache.directory / "quarantine"
    assert list(quarantine.glob("BTC_USDT/1h/2022-*.metadata.json"))
    if damage not in (_delete, "metadata"):
        assert damages[0].path is not None and damages[0].path.is_file()
        assert quarantine in damages[0].path.parents
    assert cache.info()["quarantined"] == 1
    assert cache.clear_quarantine() == 1 and cache.verify() == []

    cache.write(SYM, TF, frame[frame.index.year == 2022], provider="binance")  # fetched again
    assert cache.years(SYM, TF) == [2021, 2022, 2023]
    assert_same_bits(cache.read(SYM, TF), frame)


def test_a_one_month_read_detects_damage_in_that_month(cache: Cache) -> None:
    frame = _three_years(cache)
    path = cache.partition_file(SYM, TF, 2022)
    meta = cache._db.get_json(cache._db.meta_key(SYM, TF, 2022))
    month, offset, length = meta["members"][5][:3]  # June
    data = bytearray(path.read_bytes())  # type: ignore[union-attr]
    data[offset + length // 2] ^= 0xFF
    path.write_bytes(bytes(data))  # type: ignore[union-attr]

    with pytest.warns(CacheCorruptionWarning):
        june = cache.read(SYM, TF, "2022-06-01", "2022-06-30 23:00")

    assert month == 6 and june.empty
    assert cache.years(SYM, TF) == [2021, 2023]
    assert len(cache.read(SYM, TF)) == len(frame) - 8760


def test_verify_finds_damage_nobody_read(cache: Cache) -> None:
    _three_years(cache)
    _flip(cache.partition_file(SYM, TF, 2021))  # type: ignore[arg-type]

    damages = cache.verify()

    assert [d.year for d in damages] == [2021]
    assert "checksum" in damages[0].reason or "unreadable" in damages[0].reason
    assert cache.years(SYM, TF) == [2022, 2023]
    assert cache.verify() == damages  # reported again later, not re-quarantined


def test_verify_on_a_healthy_cache_finds_nothing(cache: Cache) -> None:
    _three_years(cache)

    assert cache.verify() == []
    assert cache.years(SYM, TF) == [2021, 2022, 2023]


def test_verify_removes_leftovers_of_interrupted_writes(cache: Cache) -> None:
    _three_years(cache)
    db = cache._db
    db.put_data(db.data_key(SYM, TF, 2022, "orphan"), b"x" * 1000)  # written, never committed
    db.dc.set(db.atime_key(SYM, TF, 2030), 1.0)
    stray = db.path / "ab" / "cd" / "stray.val"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"left by a killed writer")

    assert cache.verify() == []

    assert not list(db.keys("d|BTC/USDT|1h|2022|orphan")) and not list(
        db.keys("a|BTC/USDT|1h|2030")
    )
    assert not stray.exists()
    assert len(cache.read(SYM, TF)) == 3 * 8760


# -- eviction --------------------------------------------------------------------------------


def _year_frame(year: int) -> pd.DataFrame:
    return make_bars(f"{year}-01-01", periods=8760, freq="1h", seed=year, adj_close=True)


def test_least_recently_used_partitions_are_evicted_whole(tmp_path: Path) -> None:
    frames = {year: _year_frame(year) for year in (2020, 2021, 2022, 2023)}
    with Cache(tmp_path) as unlimited:
        for year in (2020, 2021, 2022):
            unlimited.write(SYM, TF, frames[year], provider="binance")
            unlimited.add_coverage(SYM, TF, f"{year}-01-01", f"{year}-12-31 23:00", "binance")
        unlimited.read(SYM, TF, "2020-03-01", "2020-03-02")  # 2020 is now more recent than 2021
        used = unlimited.info()["size_bytes"]
        one = unlimited.metadata(SYM, TF, 2020)["bytes"]  # type: ignore[index]

    with Cache(tmp_path, max_size_gb=(used + one // 2) / 1e9) as limited:
        limited.write(SYM, TF, frames[2023], provider="binance")
        limited.add_coverage(SYM, TF, "2023-01-01", "2023-12-31 23:00", "binance")

        assert limited.years(SYM, TF) == [2020, 2022, 2023]
        assert limited.info()["size_bytes"] <= limited.max_size_bytes
        assert limited.missing_ranges(SYM, TF, "2020-01-01", "2023-12-31 23:00") == [
            (pd.Timestamp("2021-01-01", tz="UTC"), pd.Timestamp("2021-12-31 23:00", tz="UTC"))
        ]
        expected = pd.concat([frames[2020], frames[2022], frames[2023]])
        assert_same_bits(limited.read(SYM, TF), expected)


def test_eviction_never_drops_what_was_just_written(tmp_path: Path) -> None:
    with Cache(tmp_path, max_size_gb=1e-9) as tiny:  # smaller than any partition
        tiny.write(SYM, TF, _year_frame(2020), provider="a")
        tiny.write(SYM, TF, _year_frame(2021), provider="a")

        assert tiny.years(SYM, TF) == [2021]
