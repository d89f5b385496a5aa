"""Export to the plain-file tree and import back, losslessly."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cachehelpers import assert_same_bits, make_bars

from tradedata.cache import Cache
from tradedata.errors import CacheError, CSVFormatError


def _fill(cache: Cache) -> dict[str, pd.DataFrame]:
    btc = make_bars("2022-12-31 20:00", periods=600, freq="1min", seed=3)
    btc.iloc[5, 4] = np.nan
    btc.iloc[6, 2] = -0.0
    aapl = make_bars("2023-01-03", periods=300, freq="1D", adj_close=True, seed=4)
    aapl["volume"] = np.random.default_rng(1).random(300) * 1e7  # full-precision floats
    perp = make_bars("2024-03-01", periods=50, freq="1h", seed=5)
    cache.write("BTC/USDT", "1m", btc, provider="binance", provider_info={"ccxt": "4.5"})
    cache.write("BTC/USDT", "1m", btc.iloc[100:110] * 1.5, provider="kraken")
    cache.write("AAPL", "1d", aapl, provider="yahoo", quality=lambda f: {"score": 0.75})
    cache.write("BTC/USDT:USDT", "1h", perp, provider="bybit")
    cache.add_coverage("BTC/USDT", "1m", btc.index[0], btc.index[-1], "binance", "2024-05-01")
    cache.add_coverage("BTC/USDT", "1m", btc.index[100], btc.index[109], "kraken", "2024-05-02")
    cache.add_coverage("AAPL", "1d", "2023-01-01", "2023-12-31 23:00", "yahoo")
    cache.add_coverage("AAPL", "1d", "2021-06-01", "2021-06-30", "yahoo")  # no bars at all
    cache.set_fundamentals("AAPL", {"pe": 30.25, "sector": "Tech"}, ttl=3600)
    cache.set_fundamentals("BTC/USDT", {"supply": 21e6}, ttl=None)
    return {"btc": btc, "aapl": aapl, "perp": perp}


def _series_state(cache: Cache) -> dict:
    out = {}
    for info in cache.series():
        metas = [cache.metadata(info.symbol, info.timeframe, y) for y in info.years]
        for meta in metas:
            assert meta is not None
            for key in ("bytes", "checksum"):
                meta.pop(key)
        out[(info.symbol, info.timeframe)] = (info.bars, metas)
    return out


def test_export_writes_the_tree_layout(cache: Cache, tmp_path: Path) -> None:
    _fill(cache)

    count = cache.export_tree(tmp_path / "tree")

    root = tmp_path / "tree"
    assert count == 4  # BTC 2022 and 2023, AAPL 2023, perp 2024
    assert (root / "ohlcv/BTC_USDT/1m/2022.csv.gz").is_file()
    assert (root / "ohlcv/BTC_USDT_USDT/1h/2024.metadata.json").is_file()
    meta = json.loads((root / "ohlcv/BTC_USDT/1m/2022.metadata.json").read_text())
    assert meta["symbol"] == "BTC/USDT" and meta["timeframe"] == "1m" and meta["year"] == 2022
    assert meta["checksum"].startswith("sha256:") and meta["file"] == "2022.csv.gz"
    assert {c["provider"] for c in meta["coverage"]} == {"binance", "kraken"}
    header = gzip.decompress((root / "ohlcv/AAPL/1d/2023.csv.gz").read_bytes()).splitlines()[0]
    assert header == b"timestamp,open,high,low,close,volume,adj_close"
    assert json.loads((root / "fundamentals/BTC_USDT.json").read_text())["key"] == "BTC/USDT"
    assert json.loads((root / "ohlcv/AAPL/1d/2021.metadata.json").read_text())["bars"] == 0


def test_export_then_import_is_lossless(tmp_path: Path) -> None:
    with Cache(tmp_path / "a") as source:
        frames = _fill(source)
        source.export_tree(tmp_path / "tree")
        state = _series_state(source)
        coverage = {
            key: source.coverage(*key)
            for key in [("BTC/USDT", "1m"), ("AAPL", "1d"), ("BTC/USDT:USDT", "1h")]
        }
        btc = source.read("BTC/USDT", "1m")

    with Cache(tmp_path / "b") as target:
        imported = target.import_tree(tmp_path / "tree")

        assert imported == 4
        assert_same_bits(target.read("BTC/USDT", "1m"), btc)
        assert_same_bits(target.read("AAPL", "1d"), frames["aapl"])
        assert_same_bits(target.read("BTC/USDT:USDT", "1h"), frames["perp"])
        assert _series_state(target) == state
        for key, spans in coverage.items():
            assert target.coverage(*key) == spans
        assert target.provider_at("BTC/USDT", "1m", btc.index[105]) == "kraken"
        assert target.get_fundamentals("AAPL") == {"pe": 30.25, "sector": "Tech"}
        assert target.get_fundamentals("BTC/USDT") == {"supply": 21e6}


def _exported(cache: Cache, tmp_path: Path) -> Path:
    _fill(cache)
    cache.export_tree(tmp_path / "tree")
    return tmp_path / "tree"


def _rewrite_csv(path: Path, edit) -> None:  # type: ignore[no-untyped-def]
    text = gzip.decompress(path.read_bytes()).decode()
    data = gzip.compress(edit(text).encode())
    path.write_bytes(data)
    meta_path = path.with_name(path.name.replace(".csv.gz", ".metadata.json"))
    meta = json.loads(meta_path.read_text())
    import hashlib

    meta["checksum"] = "sha256:" + hashlib.sha256(data).hexdigest()
    meta_path.write_text(json.dumps(meta))


@pytest.mark.parametrize(
    ("damage", "error"),
    [
        ("checksum", CacheError),
        ("json", CacheError),
        ("timeframe", CacheError),
        ("no_metadata", CacheError),
        ("bars", CacheError),
        ("csv_text", CSVFormatError),
        ("csv_year", CSVFormatError),
        ("csv_order", CSVFormatError),
        ("fundamentals", CacheError),
    ],
)
def test_malformed_trees_raise_and_write_nothing(
    cache: Cache, tmp_path: Path, damage: str, error: type[Exception]
) -> None:
    root = _exported(cache, tmp_path)
    btc = root / "ohlcv/BTC_USDT/1m/2023.csv.gz"
    meta_path = root / "ohlcv/BTC_USDT/1m/2023.metadata.json"
    meta = json.loads(meta_path.read_text())
    if damage == "checksum":
        data = bytearray(btc.read_bytes())
        data[len(data) // 2] ^= 0xFF
        btc.write_bytes(bytes(data))
    elif damage == "json":
        meta_path.write_text("{not json")
    elif damage == "timeframe":
        meta_path.write_text(json.dumps({**meta, "timeframe": "60min"}))
    elif damage == "no_metadata":
        meta_path.unlink()
    elif damage == "bars":
        meta_path.write_text(json.dumps({**meta, "bars": 3}))
    elif damage == "csv_text":
        _rewrite_csv(btc, lambda t: t.replace("\n2023-01-01 00:05:00+00:00,", "\nnot-a-date,"))
    elif damage == "csv_year":
        _rewrite_csv(btc, lambda t: t.replace("2023-01-01 03:00", "2025-01-01 03:00"))
    elif damage == "csv_order":
        lines = gzip.decompress(btc.read_bytes()).decode().splitlines()
        _rewrite_csv(btc, lambda t: "\n".join([lines[0], lines[2], lines[1], *lines[3:]]) + "\n")
    elif damage == "fundamentals":
        (root / "fundamentals/AAPL.json").write_text(json.dumps({"key": "AAPL", "data": 3}))

    with Cache(tmp_path / "fresh") as target:
        with pytest.raises(error):
            target.import_tree(root)

        assert target.info()["partitions"] == 0
        assert target.coverage("AAPL", "1d") == [] and target.fundamentals_keys() == []


def test_import_of_a_folder_that_is_no_tree(cache: Cache, tmp_path: Path) -> None:
    with pytest.raises(CacheError):
        cache.import_tree(tmp_path / "nothing-here")


def test_import_replaces_stored_partitions(cache: Cache, tmp_path: Path) -> None:
    root = _exported(cache, tmp_path)
    frame = cache.read("AAPL", "1d")
    cache.write("AAPL", "1d", frame * 2, provider="other")

    cache.import_tree(root)

    assert_same_bits(cache.read("AAPL", "1d"), frame)
