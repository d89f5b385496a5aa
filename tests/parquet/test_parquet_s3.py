"""The Parquet export to S3: a real S3 API server on loopback (moto's server mode).

moto's ``ThreadedMotoServer`` answers the S3 REST API over HTTP on 127.0.0.1; s3fs talks to it
exactly as to AWS (signed requests, multipart uploads, server-side copy for the rename).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from parquethelpers import SERIES, duck_frame, fill_cache, make_bars

from tradedata.cache import Cache
from tradedata.cli import main
from tradedata.errors import ExportError
from tradedata.parquet.export import export_parquet
from tradedata.parquet.layout import MANIFEST

moto_server = pytest.importorskip("moto.server")
s3fs = pytest.importorskip("s3fs")
duckdb = pytest.importorskip("duckdb")
dd = pytest.importorskip("dask.dataframe")

_KEYS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(endpoint: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Any:
    """An s3fs filesystem on the loopback server with a fresh bucket; AWS_* env set."""
    for name, value in _KEYS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": endpoint}, skip_instance_cache=True)
    bucket = "bars-" + request.node.name.replace("_", "-")[:40].strip("-").lower()
    fs.mkdir(bucket)
    fs.bucket = bucket
    return fs


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Cache]:
    with fill_cache(tmp_path / "cache") as cache:
        yield cache


def _options(endpoint: str) -> dict[str, Any]:
    return {"client_kwargs": {"endpoint_url": endpoint}}


def test_s3_dataset_reads_back_in_duckdb_and_dask(cache: Cache, s3: Any, endpoint: str):
    url = f"s3://{s3.bucket}/bars"
    result = export_parquet(url, cache=cache, storage_options=_options(endpoint))
    assert (result.written, result.partitions) == (6, 6)
    s3.invalidate_cache()
    keys = s3.find(f"{s3.bucket}/bars")
    assert (
        f"{s3.bucket}/bars/source=binance/symbol=BTC%2FUSDT/timeframe=1m/year=2024/part-0.parquet"
        in keys
    )
    assert not [k for k in keys if "_tmp-" in k]  # every temporary object renamed away

    con = duckdb.connect()
    con.register_filesystem(s3)  # DuckDB reads through s3fs: no httpfs download needed offline
    scanned = con.sql(
        f"SELECT * FROM read_parquet('{url}/**/*.parquet', hive_partitioning = true) "
        "ORDER BY symbol, timeframe, timestamp"
    ).df()
    for source, symbol, tf, *_ in SERIES:
        got = duck_frame(scanned, symbol, tf)
        expected = cache.read(symbol, tf, source=source)
        pd.testing.assert_frame_equal(got, expected, check_freq=False)

    frame = dd.read_parquet(
        url,
        filters=[("source", "==", "bybit"), ("symbol", "==", "ETH/USDT:USDT")],
        storage_options=_options(endpoint),
    )
    assert frame.npartitions == 1
    got = frame.compute()
    assert list(got["close"]) == list(cache.read("ETH/USDT:USDT", "1h", source="bybit")["close"])


def test_s3_export_is_incremental(cache: Cache, s3: Any, endpoint: str):
    url = f"s3://{s3.bucket}/bars"
    export_parquet(url, cache=cache, storage_options=_options(endpoint))
    again = export_parquet(url, cache=cache, storage_options=_options(endpoint))
    assert (again.written, again.unchanged) == (0, 6)
    bars = make_bars("2023-02-01", 3, "1D", seed=5)
    cache.write("AAPL", "1d", bars, source="consolidated", provider="yahoo")
    cache.delete("BTC/USDT", "1m")
    result = export_parquet(url, cache=cache, storage_options=_options(endpoint))
    assert (result.written, result.removed, result.partitions) == (1, 2, 4)
    s3.invalidate_cache()
    manifest = json.loads(s3.cat_file(f"{s3.bucket}/bars/{MANIFEST}"))
    assert not [k for k in manifest["partitions"] if "BTC" in k]
    assert not [k for k in s3.find(f"{s3.bucket}/bars") if "BTC" in k]


def test_cli_exports_to_s3_with_the_endpoint_from_the_environment(
    cache: Cache, s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture
):
    directory = str(cache.directory)
    cache.close()
    url = f"s3://{s3.bucket}/cli"
    assert main(["--cache-dir", directory, "export", "parquet", url, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["written"] == 6 and summary["dest"] == url
    assert main(["--cache-dir", directory, "export", "parquet", url]) == 0
    assert "0 partitions written" in capsys.readouterr().out


def test_an_unreachable_s3_endpoint_is_an_export_error_without_secrets(
    cache: Cache, monkeypatch: pytest.MonkeyPatch
):
    for name, value in _KEYS.items():
        monkeypatch.setenv(name, value)
    options = {
        "client_kwargs": {"endpoint_url": "http://127.0.0.1:9"},  # discard port: refused
        "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 2},
        "skip_instance_cache": True,
        "retries": 1,
    }
    options["secret"] = "option-secret-value"  # s3fs takes key/secret as options too
    options["key"] = "testing"
    with pytest.raises(ExportError) as info:
        export_parquet("s3://nowhere-bucket/bars", cache=cache, storage_options=options)
    assert "cannot create the dataset folder" in str(info.value)
    chain: BaseException | None = info.value
    while chain is not None:  # nowhere in the whole chain
        text = f"{chain!s} {chain!r} {chain.__dict__}"
        assert "testing-secret" not in text and "option-secret-value" not in text
        chain = chain.__cause__ or chain.__context__
