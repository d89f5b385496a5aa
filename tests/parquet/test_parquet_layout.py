"""Partition values: percent-encoded so DuckDB, pyarrow/Dask and Spark read the value back."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from parquethelpers import make_bars

from tradedata.cache import Cache
from tradedata.parquet.export import export_parquet
from tradedata.parquet.layout import PartitionKey, decode_value, encode_value, parse_manifest

pa_ds = pytest.importorskip("pyarrow.dataset")
duckdb = pytest.importorskip("duckdb")

_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)


@given(_text, st.booleans())
def test_encoding_round_trips_and_leaves_one_plain_path_segment(value: str, fold: bool):
    segment = encode_value(value, fold_case=fold)
    assert decode_value(segment) == value
    assert not set(segment) & set('/\\=:*?"<>| ')  # one folder name on every file system
    if fold:  # outside its %XX escapes, no upper-case letter is left
        assert not any("A" <= c <= "Z" for c in re.sub("%[0-9A-F]{2}", "", segment))


@given(_text)
def test_pyarrow_hive_partitioning_decodes_the_value(value: str):
    import pyarrow as pa

    part = pa_ds.HivePartitioning(pa.schema([("symbol", pa.string())]), segment_encoding="uri")
    expr = part.parse(f"root/symbol={encode_value(value)}/part-0.parquet")
    assert expr.equals(pa_ds.field("symbol") == value)


def test_case_only_differences_get_two_folders():
    minute = PartitionKey("binance", "BTC/USDT", "1m", 2024).path
    month = PartitionKey("binance", "BTC/USDT", "1M", 2024).path
    assert minute.lower() != month.lower()


@pytest.mark.parametrize(
    "symbol", ["BTC/USDT:USDT", "A B%20C", "x=y", "BRK-B", "7203.T", "€/ü", "..", "a\\b"]
)
def test_duckdb_reads_odd_symbols_back(symbol: str, tmp_path: Path):
    with Cache(tmp_path / "cache") as cache:
        cache.write(symbol, "1h", make_bars("2024-01-01", 3, "1h"), source="my-venue.x")
        export_parquet(tmp_path / "bars", cache=cache)
    rows = duckdb.sql(
        f"SELECT DISTINCT source, symbol FROM read_parquet('{tmp_path}/bars/**/*.parquet', "
        "hive_partitioning = true, hive_types = {'symbol': VARCHAR, 'source': VARCHAR})"
    ).fetchall()
    assert rows == [("my-venue.x", symbol)]


def test_a_manifest_of_another_format_is_not_trusted():
    assert parse_manifest(b"{not json") is None
    assert parse_manifest('{"format": "tradedata-parquet-0", "partitions": {}}') is None
    good = {"source": "binance", "symbol": "BTC/USDT", "timeframe": "1m", "year": 2024}
    key = "source=binance/symbol=BTC%2FUSDT/timeframe=1m/year=2024"
    body = {"format": "tradedata-parquet-1", "partitions": {key: good, "../../etc": good}}
    assert parse_manifest(json.dumps(body)) == {key: good}  # a key its fields do not give: out
    body["partitions"] = {key: {**good, "year": "2024"}}
    assert parse_manifest(json.dumps(body)) == {}
