"""The Parquet export to a folder: read back by DuckDB and Dask; incremental; atomic."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from parquethelpers import SERIES, duck_frame, fill_cache, make_bars, provider_of

import tradedata
from tradedata.cache import Cache
from tradedata.errors import ExportError
from tradedata.parquet import export as export_mod
from tradedata.parquet.export import export_parquet
from tradedata.parquet.layout import MANIFEST

duckdb = pytest.importorskip("duckdb")
dd = pytest.importorskip("dask.dataframe")


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    with fill_cache(tmp_path / "cache") as cache:
        yield cache


def _scan(dest: Path) -> pd.DataFrame:
    sql = (
        f"SELECT * FROM read_parquet('{dest}/**/*.parquet', hive_partitioning = true) "
        "ORDER BY source, symbol, timeframe, timestamp"
    )
    return duckdb.sql(sql).df()


def _files(dest: Path) -> dict[str, int]:
    """Every file under ``dest`` with its modification time (ns)."""
    return {str(p.relative_to(dest)): p.stat().st_mtime_ns for p in dest.rglob("*") if p.is_file()}


def test_duckdb_reads_every_bar_back_with_its_partition_values(cache: Cache, tmp_path: Path):
    dest = tmp_path / "bars"
    result = export_parquet(dest, cache=cache)
    assert (result.written, result.unchanged, result.removed) == (6, 0, 0)
    scanned = _scan(dest)
    for source, symbol, tf, *_ in SERIES:
        expected = cache.read(symbol, tf, source=source)
        got = duck_frame(scanned, symbol, tf)
        pd.testing.assert_frame_equal(got, expected, check_freq=False)
        rows = scanned[(scanned["symbol"] == symbol) & (scanned["timeframe"] == tf)]
        assert set(rows["source"]) == {source} and set(rows["provider"]) == {provider_of(source)}
        assert rows["adj_close"].isna().all()
        assert sorted(set(rows["year"])) == cache.years(symbol, tf, source=source)
    assert scanned["timestamp"].dt.tz is not None  # TIMESTAMP WITH TIME ZONE: absolute instants


def test_symbols_are_percent_encoded_and_1M_stays_apart_from_1m(cache: Cache, tmp_path: Path):
    dest = tmp_path / "bars"
    export_parquet(dest, cache=cache)
    folders = {p.relative_to(dest).as_posix() for p in dest.glob("*/*/*/*")}
    assert "source=binance/symbol=BTC%2FUSDT/timeframe=1m/year=2024" in folders
    assert "source=bybit/symbol=ETH%2FUSDT%3AUSDT/timeframe=1h/year=2024" in folders
    assert "source=consolidated/symbol=AAPL/timeframe=1%4D/year=2021" in folders
    assert set(_scan(dest)["timeframe"]) == {"1m", "1h", "1d", "1M"}


def test_files_are_zstd_with_utc_micro_timestamps(cache: Cache, tmp_path: Path):
    import pyarrow.parquet as pq

    dest = tmp_path / "bars"
    export_parquet(dest, cache=cache)
    path = dest / "source=binance/symbol=BTC%2FUSDT/timeframe=1m/year=2024/part-0.parquet"
    meta = pq.ParquetFile(path).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    schema = pq.read_schema(path)
    assert str(schema.field("timestamp").type) == "timestamp[us, tz=UTC]"
    assert schema.names == [
        "timestamp", "open", "high", "low", "close", "volume", "adj_close", "provider",
    ]  # fmt: skip
    assert schema.metadata[b"tradedata.symbol"] == b"BTC/USDT"


def test_dask_pushes_partition_filters_down(cache: Cache, tmp_path: Path):
    dest = tmp_path / "bars"
    export_parquet(dest, cache=cache)
    frame = dd.read_parquet(
        str(dest),
        filters=[("symbol", "==", "BTC/USDT"), ("timeframe", "==", "1m"), ("year", "==", 2024)],
    )
    assert frame.npartitions == 1  # only that one file is read
    got = frame.compute()
    expected = cache.read("BTC/USDT", "1m", "2024-01-01")
    assert len(got) == len(expected) == 120
    assert list(got["close"]) == list(expected["close"])
    assert set(got["symbol"].astype(str)) == {"BTC/USDT"}
    ts = pd.DatetimeIndex(got["timestamp"])
    assert str(ts.tz) == "UTC" and (ts.as_unit("ns") == expected.index).all()


def test_a_second_export_writes_nothing(cache: Cache, tmp_path: Path):
    dest = tmp_path / "bars"
    export_parquet(dest, cache=cache)
    before = _files(dest)
    result = export_parquet(dest, cache=cache)
    assert (result.written, result.unchanged, result.removed) == (0, 6, 0)
    assert _files(dest) == before  # not even the manifest is rewritten


def test_only_the_changed_partition_is_written_again(cache: Cache, tmp_path: Path):
    dest = tmp_path / "bars"
    export_parquet(dest, cache=cache)
    before = _files(dest)
    fresh = make_bars("2024-01-01 02:00", 60, "1min", seed=9)  # inside BTC/USDT 1m 2024
    cache.write("BTC/USDT", "1m", fresh, source="binance")
    result = export_parquet(dest, cache=cache)
    assert (result.written, result.unchanged, result.rows_written) == (1, 5, 180)
    after = _files(dest)
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed == {
        "source=binance/symbol=BTC%2FUSDT/timeframe=1m/year=2024/part-0.parquet",
        MANIFEST,
    }
    got = duck_frame(_scan(dest), "BTC/USDT", "1m")
    pd.testing.assert_frame_equal(got, cache.read("BTC/USDT", "1m"), check_freq=False)


def test_a_bar_from_another_provider_is_exported_with_its_provider(cache: Cache, tmp_path: Path):
    dest = tmp_path / "bars"
    export_parquet(dest, cache=cache)
    patch = make_bars("2024-01-01 00:10", 2, "1min", seed=3)
    cache.write("BTC/USDT", "1m", patch, source="binance", provider="okx")  # a repair, say
    assert export_parquet(dest, cache=cache).written == 1
    rows = _scan(dest).set_index("timestamp")
    okx = rows[rows["provider"] == "okx"]
    assert list(okx.index) == list(patch.index) and set(okx["source"]) == {"binance"}


def test_a_deleted_series_leaves_the_dataset_and_a_scoped_export_keeps_the_rest(
    cache: Cache, tmp_path: Path
):
    dest = tmp_path / "bars"
    export_parquet(dest, cache=cache)
    cache.delete("AAPL", "1d")
    scoped = export_parquet(dest, cache=cache, symbols=["BTC/USDT"])
    assert (scoped.written, scoped.removed, scoped.partitions) == (0, 0, 6)
    result = export_parquet(dest, cache=cache)
    assert (result.removed, result.partitions) == (2, 4)
    assert not (dest / "source=consolidated/symbol=AAPL/timeframe=1d").exists()
    assert "1d" not in set(_scan(dest)["timeframe"])
    manifest = json.loads((dest / MANIFEST).read_text())
    assert not [k for k in manifest["partitions"] if "timeframe=1d" in k]


def test_a_missing_file_is_written_again(cache: Cache, tmp_path: Path):
    dest = tmp_path / "bars"
    export_parquet(dest, cache=cache)
    lost = dest / "source=bybit/symbol=ETH%2FUSDT%3AUSDT/timeframe=1h/year=2024/part-0.parquet"
    lost.unlink()
    assert export_parquet(dest, cache=cache).written == 1
    assert lost.exists()


def test_a_failed_export_commits_nothing_new_and_a_rerun_resumes(
    cache: Cache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    dest = tmp_path / "bars"
    export_parquet(dest, cache=cache, symbols=["AAPL"])
    committed = (dest / MANIFEST).read_text()
    real = export_mod._write_table
    calls = []

    def failing(table, key, handle):
        calls.append(key)
        if len(calls) == 2:
            handle.write(b"half a file")
            raise OSError("disk full")
        real(table, key, handle)

    monkeypatch.setattr(export_mod, "_write_table", failing)
    with pytest.raises(ExportError, match="disk full"):
        export_parquet(dest, cache=cache)
    assert (dest / MANIFEST).read_text() == committed  # the manifest still names the old set
    names = [p.name for p in dest.rglob("*") if p.is_file()]
    assert set(names) == {"part-0.parquet", MANIFEST}  # no temporary file left behind
    monkeypatch.setattr(export_mod, "_write_table", real)
    result = export_parquet(dest, cache=cache)
    assert (result.written, result.unchanged) == (3, 3)  # the one that landed + the two left
    assert len(json.loads((dest / MANIFEST).read_text())["partitions"]) == 6


def test_full_rewrites_everything(cache: Cache, tmp_path: Path):
    dest = tmp_path / "bars"
    export_parquet(dest, cache=cache)
    assert export_parquet(dest, cache=cache, full=True).written == 6


def test_manager_and_package_names(tmp_path: Path):
    from tradedata.manager import DataManager

    with DataManager(cache_dir=tmp_path / "cache") as dm:
        dm.cache.write("BTC/USDT", "1h", make_bars("2024-01-01", 5, "1h"), source="binance")
        assert dm.export_parquet(tmp_path / "a").written == 1
        assert tradedata.export_parquet(tmp_path / "b", manager=dm).written == 1


def test_the_default_cache_is_the_configured_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATA_CACHE_DIR", str(tmp_path / "envcache"))
    with fill_cache(tmp_path / "envcache"):
        pass
    assert export_parquet(tmp_path / "bars").written == 6


def test_a_destination_that_cannot_be_written_is_an_export_error(cache: Cache, tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ExportError):
        export_parquet(blocker / "bars", cache=cache)


def test_a_partition_rewritten_while_being_read_is_read_again(
    cache: Cache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    real_read = cache.read
    late = make_bars("2024-01-01 05:00", 30, "1min", seed=11)

    def read_then_someone_writes(symbol, timeframe, start=None, end=None, *, source=None):
        frame = real_read(symbol, timeframe, start, end, source=source)
        if symbol == "BTC/USDT" and start.year == 2024 and not calls:
            calls.append(1)
            cache.write("BTC/USDT", "1m", late, source="binance")  # lands after our read
        return frame

    calls: list[int] = []
    monkeypatch.setattr(cache, "read", read_then_someone_writes)
    dest = tmp_path / "bars"
    assert export_parquet(dest, cache=cache).skipped == ()
    monkeypatch.setattr(cache, "read", real_read)
    got = duck_frame(_scan(dest), "BTC/USDT", "1m")
    assert late.index[-1] in got.index
    pd.testing.assert_frame_equal(got, cache.read("BTC/USDT", "1m"), check_freq=False)


def test_a_damaged_partition_is_skipped_and_its_exported_copy_kept(cache: Cache, tmp_path: Path):
    from tradedata.cache import CacheCorruptionWarning
    from tradedata.parquet.export import ExportWarning

    dest = tmp_path / "bars"
    export_parquet(dest, cache=cache)
    exported = _scan(dest)
    bars = make_bars("2023-02-01", 3, "1D", seed=5)
    cache.write("AAPL", "1d", bars, source="consolidated", provider="yahoo")
    path = cache.partition_file("AAPL", "1d", 2023, source="consolidated")
    path.write_bytes(b"\x00" * path.stat().st_size)  # the new version is damaged on disk
    with pytest.warns(ExportWarning, match="AAPL 1d 2023"), pytest.warns(CacheCorruptionWarning):
        result = export_parquet(dest, cache=cache)
    assert result.skipped == ("consolidated AAPL 1d 2023",) and result.written == 0
    pd.testing.assert_frame_equal(_scan(dest), exported)  # the last good copy stays readable
    manifest = json.loads((dest / MANIFEST).read_text())
    assert "source=consolidated/symbol=AAPL/timeframe=1d/year=2023" in manifest["partitions"]
    later = export_parquet(dest, cache=cache)  # quarantined, not deleted: the copy stays
    assert (later.removed, later.partitions) == (0, 6)
    pd.testing.assert_frame_equal(_scan(dest), exported)


def test_a_destination_that_is_no_path_is_an_input_error(cache: Cache):
    from tradedata.errors import InputError

    with pytest.raises(InputError):
        export_parquet(42, cache=cache)  # type: ignore[arg-type]
    with pytest.raises(InputError):
        export_parquet("  ", cache=cache)


def test_temporary_files_of_an_interrupted_export_are_cleaned_up(cache: Cache, tmp_path: Path):
    dest = tmp_path / "bars"
    export_parquet(dest, cache=cache)
    folder = dest / "source=binance/symbol=BTC%2FUSDT/timeframe=1m/year=2024"
    leftover = folder / "_tmp-0123-part-0.parquet.partial"
    leftover.write_bytes(b"half a file")
    assert export_parquet(dest, cache=cache).written == 0
    assert not leftover.exists() and (folder / "part-0.parquet").exists()
