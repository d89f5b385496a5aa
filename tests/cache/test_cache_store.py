"""Writing, merging and reading partitions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cachehelpers import assert_same_bits, make_bars

from tradedata.cache import Cache, codec
from tradedata.errors import ConfigurationError, DataValidationError, InputError


def test_roundtrip_is_bit_exact_with_adj_close(cache: Cache) -> None:
    frame = make_bars("2023-12-30", periods=5000, freq="1min", adj_close=True)

    years = cache.write("AAPL", "1m", frame, provider="yahoo")
    back = cache.read("AAPL", "1m")

    assert years == [2023, 2024]
    assert_same_bits(back, frame)


def test_roundtrip_keeps_odd_floats(cache: Cache) -> None:
    frame = make_bars(periods=8)
    frame.iloc[0, 0] = np.nan
    frame.iloc[1, 1] = -0.0
    frame.iloc[2, 2] = 1e300
    frame.iloc[3, 3] = 5e-324
    frame.iloc[4, 4] = np.inf
    frame.iloc[5, 0] = 0.1 + 0.2

    cache.write("X/Y", "1m", frame, provider="p")

    assert_same_bits(cache.read("X/Y", "1m"), frame)


def test_rows_at_existing_timestamps_are_replaced(cache: Cache) -> None:
    first = make_bars(periods=100, seed=1)
    second = make_bars("2023-01-01 01:00", periods=100, seed=2)  # overlaps 40 bars
    cache.write("BTC/USDT", "1m", first, provider="binance")

    cache.write("BTC/USDT", "1m", second, provider="kraken")
    back = cache.read("BTC/USDT", "1m")

    expected = pd.concat([first.iloc[:60], second])
    assert_same_bits(back, expected)
    meta = cache.metadata("BTC/USDT", "1m", 2023)
    assert meta is not None
    assert meta["data_source"] == "mixed"
    assert meta["providers"] == [
        {"provider": "binance", "bars": 60},
        {"provider": "kraken", "bars": 100},
    ]
    assert meta["source_runs"] == [["binance", 60], ["kraken", 100]]


def test_replacing_every_row_drops_the_old_provider(cache: Cache) -> None:
    frame = make_bars(periods=50)
    cache.write("BTC/USDT", "1h", frame, provider="binance", provider_info={"a": 1})

    cache.write("BTC/USDT", "1h", frame * 2, provider="kraken", provider_info={"b": 2})

    meta = cache.metadata("BTC/USDT", "1h", 2023)
    assert meta is not None
    assert meta["data_source"] == "kraken"
    assert meta["provider_info"] == {"kraken": {"b": 2}}


def test_duplicate_timestamps_in_one_write_keep_the_last(cache: Cache) -> None:
    frame = make_bars(periods=5)
    dup = pd.concat([frame, frame.iloc[[2]] * 3])

    cache.write("BTC/USDT", "1m", dup, provider="p")

    back = cache.read("BTC/USDT", "1m")
    assert len(back) == 5
    assert back.iloc[2]["close"] == frame.iloc[2]["close"] * 3


def test_metadata_fields(cache: Cache) -> None:
    frame = make_bars(periods=10)
    seen = []

    def quality(partition: pd.DataFrame) -> dict:
        seen.append(len(partition))
        return {"score": 0.9, "validation_errors": ["x"], "gaps": 1, "duplicates": 0}

    cache.write(
        "BTC/USDT", "1m", frame, provider="binance", quality=quality, provider_info={"v": 1}
    )
    meta = cache.metadata("BTC/USDT", "1m", 2023)

    assert meta is not None
    assert seen == [10]
    assert meta["symbol"] == "BTC/USDT" and meta["timeframe"] == "1m" and meta["year"] == 2023
    assert meta["data_quality"]["score"] == 0.9
    assert meta["provider_info"] == {"binance": {"v": 1}}
    assert meta["bars"] == 10
    assert pd.Timestamp(meta["first"]) == frame.index[0]
    assert pd.Timestamp(meta["last"]) == frame.index[-1]
    assert meta["checksum"].startswith("crc32:")
    assert meta["created_at"] <= meta["updated_at"]


def test_created_at_survives_updates(cache: Cache) -> None:
    cache.write("BTC/USDT", "1m", make_bars(periods=3), provider="p")
    created = cache.metadata("BTC/USDT", "1m", 2023)["created_at"]  # type: ignore[index]

    cache.write("BTC/USDT", "1m", make_bars("2023-02-01", periods=3), provider="p")

    meta = cache.metadata("BTC/USDT", "1m", 2023)
    assert meta is not None and meta["created_at"] == created and meta["bars"] == 6


def test_quality_must_return_a_dict(cache: Cache) -> None:
    with pytest.raises(InputError):
        cache.write("BTC/USDT", "1m", make_bars(periods=3), provider="p", quality=lambda f: 1)  # type: ignore[arg-type,return-value]
    assert not cache.has("BTC/USDT", "1m")


def test_range_read_bounds_are_inclusive(cache: Cache) -> None:
    frame = make_bars(periods=600, freq="1h")
    cache.write("BTC/USDT", "1h", frame, provider="p")

    part = cache.read("BTC/USDT", "1h", frame.index[10], frame.index[20])

    assert_same_bits(part, frame.iloc[10:21])
    assert cache.read("BTC/USDT", "1h", "2030-01-01").empty
    assert_same_bits(cache.read("BTC/USDT", "1h", end=frame.index[5]), frame.iloc[:6])


@pytest.mark.embedded_only  # the embedded store's files and limits
def test_range_read_inflates_only_overlapping_months(
    cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = make_bars("2021-01-01", periods=3 * 365, freq="1D")  # three year partitions
    cache.write("BTC/USDT", "1d", frame, provider="p")
    calls: list[int] = []
    real = codec.inflate

    def counting(member: bytes | memoryview) -> bytes:
        calls.append(len(member))
        return real(member)

    monkeypatch.setattr(codec, "inflate", counting)

    march = cache.read("BTC/USDT", "1d", "2022-03-01", "2022-03-31")
    one_month = len(calls)
    calls.clear()
    cache.read("BTC/USDT", "1d", "2022-12-15", "2023-01-10")
    two_years = len(calls)
    calls.clear()
    cache.read("BTC/USDT", "1d")

    assert len(march) == 31 and one_month == 1
    assert two_years == 2  # December 2022 and January 2023
    assert len(calls) == 36


@pytest.mark.embedded_only  # the embedded store's files and limits
def test_range_read_opens_only_overlapping_partitions(cache: Cache) -> None:
    frame = make_bars("2021-01-01", periods=3 * 365, freq="1D")
    cache.write("BTC/USDT", "1d", frame, provider="p")
    opened: list[str] = []
    real = cache._db.open_data

    def spy(key: str):  # type: ignore[no-untyped-def]
        opened.append(key)
        return real(key)

    cache._db.open_data = spy  # type: ignore[method-assign]

    cache.read("BTC/USDT", "1d", "2022-06-01", "2022-06-30")

    assert len(opened) == 1 and "|2022|" in opened[0]


def test_has_years_delete_and_series(cache: Cache) -> None:
    cache.write("BTC/USDT", "1h", make_bars("2022-12-31", periods=48, freq="1h"), provider="a")
    cache.write("BTC/USDT", "1d", make_bars(periods=3, freq="1D"), provider="b")
    cache.write("ETH/USDT", "1d", make_bars(periods=3, freq="1D"), provider="b")

    assert cache.has("BTC/USDT", "1h") and not cache.has("BTC/USDT", "4h")
    assert cache.years("BTC/USDT", "1h") == [2022, 2023]
    infos = {(s.symbol, s.timeframe): s for s in cache.series()}
    assert set(infos) == {("BTC/USDT", "1h"), ("BTC/USDT", "1d"), ("ETH/USDT", "1d")}
    assert infos[("BTC/USDT", "1h")].bars == 48
    assert infos[("BTC/USDT", "1h")].years == (2022, 2023)
    assert infos[("BTC/USDT", "1h")].providers == ("a",)
    assert infos[("BTC/USDT", "1h")].bytes > 0

    assert cache.delete("BTC/USDT") == 3
    assert not cache.has("BTC/USDT", "1h") and cache.has("ETH/USDT", "1d")
    assert cache.delete("ETH/USDT", "1d") == 1
    assert cache.series() == [] and cache.info()["partitions"] == 0


def test_delete_removes_coverage(cache: Cache) -> None:
    cache.write("BTC/USDT", "1h", make_bars(periods=5, freq="1h"), provider="a")
    cache.add_coverage("BTC/USDT", "1h", "2023-01-01", "2023-01-02", "a")

    cache.delete("BTC/USDT", "1h")

    assert cache.coverage("BTC/USDT", "1h") == []


def test_write_with_coverage_records_both(cache: Cache) -> None:
    frame = make_bars(periods=5, freq="1h")

    cache.write("BTC/USDT", "1h", frame, provider="a", coverage=("2023-01-01", "2023-01-01 06:00"))

    assert cache.missing_ranges("BTC/USDT", "1h", "2023-01-01", "2023-01-01 06:00") == []
    assert cache.provider_at("BTC/USDT", "1h", "2023-01-01 03:00") == "a"


def test_empty_frame_writes_nothing(cache: Cache) -> None:
    assert cache.write("BTC/USDT", "1h", make_bars(periods=0), provider="a") == []
    assert not cache.has("BTC/USDT", "1h")
    assert cache.read("BTC/USDT", "1h").empty


def test_bad_inputs_raise_input_errors(cache: Cache) -> None:
    with pytest.raises(InputError):
        cache.write("A|B", "1h", make_bars(periods=2), provider="a")
    with pytest.raises(InputError):
        cache.write("BTC/USDT", "1h", make_bars(periods=2), provider="")
    with pytest.raises(InputError):
        cache.write("BTC/USDT", "7x", make_bars(periods=2), provider="a")
    with pytest.raises(DataValidationError):
        cache.write("BTC/USDT", "1h", pd.DataFrame({"open": [1.0]}), provider="a")
    with pytest.raises(InputError):
        cache.read("BTC/USDT", "1h", "2024-02-01", "2024-01-01")


@pytest.mark.embedded_only  # the embedded store's files and limits
def test_info_and_clear(cache: Cache) -> None:
    cache.write("BTC/USDT", "1h", make_bars(periods=5, freq="1h"), provider="a")
    cache.set_fundamentals("AAPL", {"pe": 30}, ttl=60)

    info = cache.info()
    cache.clear()

    assert info["series"] == 1 and info["partitions"] == 1 and info["fundamentals"] == 1
    assert info["directory"] == str(cache.directory) and info["size_bytes"] > 0
    assert info["max_size_bytes"] == 20 * 10**9 and info["quarantined"] == 0
    assert cache.info()["partitions"] == 0 and cache.get_fundamentals("AAPL") is None


def test_env_vars_choose_directory_and_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_CACHE_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("CACHE_MAX_SIZE_GB", "1.5")

    with Cache() as env_cache:
        assert env_cache.directory == tmp_path / "from-env"
        assert env_cache.max_size_bytes == 1_500_000_000
    with Cache(tmp_path / "arg", max_size_gb=2) as arg_cache:
        assert arg_cache.directory == tmp_path / "arg" and arg_cache.max_size_bytes == 2 * 10**9

    monkeypatch.setenv("CACHE_MAX_SIZE_GB", "lots")
    with pytest.raises(ConfigurationError):
        Cache(tmp_path / "x")
    with pytest.raises(InputError):
        Cache(tmp_path / "x", max_size_gb=-1)


def test_default_directory_is_the_platform_cache_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    from tradedata.cache import default_cache_dir

    monkeypatch.delenv("DATA_CACHE_DIR", raising=False)

    assert default_cache_dir() == Path(platformdirs.user_cache_dir("tradedata"))


def test_two_instances_share_one_directory(tmp_path: Path) -> None:
    frame = make_bars(periods=20)
    with Cache(tmp_path) as writer, Cache(tmp_path) as reader:
        writer.write("BTC/USDT", "1m", frame, provider="a")
        assert_same_bits(reader.read("BTC/USDT", "1m"), frame)


@pytest.mark.embedded_only  # the embedded store's files and limits
def test_a_write_reencodes_only_the_months_it_touches(cache: Cache) -> None:
    frame = make_bars("2023-01-01", periods=8760, freq="1h")
    cache.write("BTC/USDT", "1h", frame, provider="a")
    before = cache.partition_file("BTC/USDT", "1h", 2023).read_bytes()  # type: ignore[union-attr]
    old = {
        m[0]: m for m in cache._db.get_json(cache._db.meta_key("BTC/USDT", "1h", 2023))["members"]
    }
    march = frame.loc["2023-03-10":"2023-03-12"] * 1.01

    cache.write("BTC/USDT", "1h", march, provider="b")

    after = cache.partition_file("BTC/USDT", "1h", 2023).read_bytes()  # type: ignore[union-attr]
    new = {
        m[0]: m for m in cache._db.get_json(cache._db.meta_key("BTC/USDT", "1h", 2023))["members"]
    }
    for month in range(1, 13):
        o, n = old[month], new[month]
        same = before[o[1] : o[1] + o[2]] == after[n[1] : n[1] + n[2]]
        assert same == (month != 3), month
    expected = frame.copy()
    expected.loc[march.index] = march
    assert_same_bits(cache.read("BTC/USDT", "1h"), expected)


def test_bars_outside_the_nanosecond_range_are_refused(cache: Cache) -> None:
    frame = make_bars("2262-04-01", periods=2, freq="1D")

    with pytest.raises(DataValidationError):
        cache.write("BTC/USDT", "1d", frame, provider="a")


@pytest.mark.embedded_only  # the embedded store's files and limits
def test_partition_file_points_at_the_data(cache: Cache) -> None:
    cache.write("BTC/USDT", "1h", make_bars(periods=5, freq="1h"), provider="a")

    path = cache.partition_file("BTC/USDT", "1h", 2023)

    assert path is not None and path.is_file() and cache.directory in path.parents
    assert path.read_bytes()[:2] == b"\x1f\x8b"  # gzip magic
    assert cache.partition_file("BTC/USDT", "1h", 2020) is None
