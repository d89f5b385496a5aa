"""Spark reads the dataset (optional: runs only where pyspark and a Java runtime are installed).

``pyspark`` is not a test dependency (it is large and starts a JVM); the README shows the same
reads.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from parquethelpers import SERIES, fill_cache

from tradedata.parquet.export import export_parquet

pyspark_sql = pytest.importorskip("pyspark.sql")
if shutil.which("java") is None:
    pytest.skip("Spark needs a Java runtime", allow_module_level=True)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_spark_discovers_the_partitions_and_decodes_the_values(tmp_path: Path):
    with fill_cache(tmp_path / "cache") as cache:
        export_parquet(tmp_path / "bars", cache=cache)
        expected = cache.read("BTC/USDT", "1m", "2024-01-01")
    spark = (
        pyspark_sql.SparkSession.builder.master("local[1]")
        .appName("tradedata-test")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    try:
        frame = spark.read.parquet(str(tmp_path / "bars"))
        types = dict(frame.dtypes)
        assert types["timestamp"] == "timestamp" and types["year"] == "int"
        rows = frame.filter("symbol = 'BTC/USDT' AND timeframe = '1m' AND year = 2024")
        closes = [r["close"] for r in rows.orderBy("timestamp").collect()]
        assert closes == list(expected["close"])
        pairs = {(r["symbol"], r["timeframe"]) for r in frame.collect()}
        assert pairs == {(symbol, tf) for _, symbol, tf, *_ in SERIES}
        binance = spark.read.option("basePath", str(tmp_path / "bars")).parquet(
            str(tmp_path / "bars" / "source=binance")
        )
        assert binance.count() == 240 and "symbol" in binance.columns
    finally:
        spark.stop()
