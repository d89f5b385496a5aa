"""Series identity in the cache: (source, symbol, timeframe), the tree layout, and migration
of a cache written by the version before sources existed (run from its own source tree)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from cachehelpers import assert_same_bits, make_bars
from hypothesis import given, settings
from hypothesis import strategies as st

from tradedata.cache import Cache
from tradedata.cache.layout import SeriesInfo
from tradedata.errors import CacheError, InputError, InvalidSymbolError
from tradedata.identity import SeriesId, default_source, identify, split_source

ROOT = Path(__file__).resolve().parents[2]
#: The commit this work started from: its cache code keyed series by (symbol, timeframe).
BEFORE_IDENTITY = "bc600cf"


# -- spelling --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("BYBIT:BTC/USDT", ("bybit", "BTC/USDT")),
        ("bybit:BTC/USDT", ("bybit", "BTC/USDT")),
        ("Binance:BTCUSDT", ("binance", "BTCUSDT")),
        ("HITBTC:BTCUSDT", ("hitbtc", "BTCUSDT")),  # a venue id ending in a quote currency
        ("binanceusdm:BTC/USDT:USDT", ("binanceusdm", "BTC/USDT:USDT")),
        ("BTC/USDT", (None, "BTC/USDT")),
        ("BTC/USDT:USDT", (None, "BTC/USDT:USDT")),  # a perpetual's settle currency
        ("BTCUSDT:USDT", (None, "BTCUSDT:USDT")),
        ("7203.T", (None, "7203.T")),
        ("IEX:AAPL", ("iex", "AAPL")),
        ("AAPL", (None, "AAPL")),
    ],
)
def test_split_source(text: str, expected: tuple[str | None, str]) -> None:
    assert split_source(text) == expected


_VENUE = st.from_regex(r"[a-z][a-z0-9]{1,11}", fullmatch=True)
_CCY = st.sampled_from(["BTC", "ETH", "SOL", "DOGE", "XRP", "PEPE"])
_QUOTE = st.sampled_from(["USDT", "USDC", "BTC", "EUR"])
_SYMBOL = st.one_of(
    st.builds(lambda b, q: f"{b}/{q}", _CCY, _QUOTE),
    st.builds(lambda b, q: f"{b}/{q}:{q}", _CCY, _QUOTE),  # perpetuals
    st.from_regex(r"[A-Z]{1,5}(\.(T|L|DE|HK))?", fullmatch=True),  # equities
)


@settings(max_examples=200, deadline=None)
@given(venue=_VENUE, symbol=_SYMBOL, upper=st.booleans())
def test_prefix_spelling_round_trips(venue: str, symbol: str, upper: bool) -> None:
    """Any venue id prefixed to any symbol splits back into the two; no plain symbol (crypto
    perpetual or equity ticker) is ever read as a prefix."""
    assert split_source(f"{venue.upper() if upper else venue}:{symbol}") == (venue, symbol)
    assert split_source(symbol) == (None, symbol)
    assert identify(f"{venue}:{symbol}")[0] == venue


def test_identify_and_defaults() -> None:
    assert identify("bybit:btcusdt") == ("bybit", "BTC/USDT")
    assert identify("BTC/USDT", "KRAKEN") == ("kraken", "BTC/USDT")
    assert identify("BYBIT:BTC/USDT", "bybit") == ("bybit", "BTC/USDT")
    with pytest.raises(InputError, match="names source"):
        identify("BYBIT:BTC/USDT", "kraken")
    with pytest.raises(InvalidSymbolError):
        identify("BTC/USDT", "by|bit")
    assert default_source("BTC/USDT") == "binance" and default_source("7203.T") == "consolidated"
    assert str(SeriesId("bybit", "BTC/USDT", "1h")) == "BYBIT:BTC/USDT 1h"


# -- the store ---------------------------------------------------------------------------------
def test_sources_are_separate_series(cache: Cache) -> None:
    binance = make_bars("2024-01-01", periods=50, freq="1h", seed=1)
    bybit = make_bars("2024-01-01", periods=50, freq="1h", seed=2, price=30_100.0)
    cache.write("BTC/USDT", "1h", binance, provider="binance")  # default source
    cache.write("BTC/USDT", "1h", bybit, source="bybit", coverage=(bybit.index[0], bybit.index[-1]))
    assert_same_bits(cache.read("BTC/USDT", "1h"), binance)
    assert_same_bits(cache.read("BTC/USDT", "1h", source="binance"), binance)
    assert_same_bits(cache.read("BTC/USDT", "1h", source="BYBIT"), bybit)
    assert cache.sources("BTC/USDT") == ["binance", "bybit"]
    assert cache.provider_at("BTC/USDT", "1h", bybit.index[3], source="bybit") == "bybit"
    assert cache.provider_at("BTC/USDT", "1h", bybit.index[3]) is None
    listed = {(i.source, i.symbol, i.timeframe): i.bars for i in cache.series()}
    assert listed == {("binance", "BTC/USDT", "1h"): 50, ("bybit", "BTC/USDT", "1h"): 50}
    meta = cache.metadata("BTC/USDT", "1h", 2024, source="bybit")
    assert meta is not None and meta["symbol"] == "BTC/USDT" and meta["source"] == "bybit"
    assert cache.delete("BTC/USDT", source="bybit") == 1
    assert cache.sources("BTC/USDT") == ["binance"] and len(cache.read("BTC/USDT", "1h")) == 50


def test_provider_basis_table_matches_the_providers() -> None:
    from tradedata.adapters import STOCK_PROVIDERS, provider_class
    from tradedata.identity import PROVIDER_BASIS

    assert set(PROVIDER_BASIS) == set(STOCK_PROVIDERS) - {"coingecko"}  # crypto: a venue
    for name, basis in PROVIDER_BASIS.items():
        assert provider_class(name).capabilities.basis == basis, name


# -- the tree ---------------------------------------------------------------------------------
def _fill_sources(cache: Cache) -> dict[tuple[str | None, str, str], pd.DataFrame]:
    frames = {
        (None, "BTC/USDT", "1h"): make_bars("2023-12-31 12:00", periods=40, freq="1h", seed=1),
        ("bybit", "BTC/USDT", "1h"): make_bars("2023-12-31 12:00", periods=40, freq="1h", seed=2),
        ("coingecko", "BTC/USDT", "1h"): make_bars("2024-01-01", periods=10, freq="1h", seed=3),
        ("bybit", "BTC/USDT:USDT", "1m"): make_bars("2024-03-01", periods=90, seed=4),
        (None, "AAPL", "1d"): make_bars("2024-01-02", periods=30, freq="1D", seed=5),
        ("iex", "AAPL", "1d"): make_bars("2024-01-02", periods=30, freq="1D", seed=6),
    }
    for (source, symbol, tf), frame in frames.items():
        cache.write(symbol, tf, frame, source=source, coverage=(frame.index[0], frame.index[-1]))
    cache.add_coverage("AAPL", "1d", "2021-06-01", "2021-06-30", "alpaca", source="iex")  # no bars
    return frames


def _no_bytes(found: list[SeriesInfo]) -> list[SeriesInfo]:
    return [dataclasses.replace(info, bytes=0) for info in found]


def test_tree_round_trips_every_source(cache: Cache, tmp_path: Path) -> None:
    frames = _fill_sources(cache)
    assert cache.export_tree(tmp_path / "tree") == 8
    root = tmp_path / "tree" / "ohlcv"
    assert (root / "BTC_USDT/1h/2023.csv.gz").is_file()  # the default venue: the seed layout
    assert (root / "@bybit/BTC_USDT/1h/2024.csv.gz").is_file()
    assert (root / "@coingecko/BTC_USDT/1h/2024.csv.gz").is_file()
    assert (root / "@bybit/BTC_USDT_USDT/1m/2024.csv.gz").is_file()
    assert (root / "AAPL/1d/2024.csv.gz").is_file()
    assert (root / "@iex/AAPL/1d/2021.csv.gz").is_file()  # coverage with no bars
    record = json.loads((root / "@iex/AAPL/1d/2024.metadata.json").read_text())
    assert record["symbol"] == "AAPL" and record["source"] == "iex"

    with Cache(tmp_path / "copy") as copy:
        assert copy.import_tree(tmp_path / "tree") == 8
        for (source, symbol, tf), frame in frames.items():
            assert_same_bits(copy.read(symbol, tf, source=source), frame)
            assert copy.coverage(symbol, tf, source=source) == cache.coverage(
                symbol, tf, source=source
            )
        assert copy.sources("AAPL") == ["consolidated", "iex"]
        # the same series; bytes are each store's own encoding (embedded file vs database row)
        assert _no_bytes(copy.series()) == _no_bytes(cache.series())
        for info in cache.series():
            for year in info.years:
                assert (
                    copy.metadata(info.symbol, info.timeframe, year, source=info.source)["source"]
                    == info.source
                )


def test_tree_source_must_match_its_folder(cache: Cache, tmp_path: Path) -> None:
    _fill_sources(cache)
    cache.export_tree(tmp_path / "tree")
    path = tmp_path / "tree/ohlcv/@bybit/BTC_USDT/1h/2024.metadata.json"
    record = json.loads(path.read_text())
    record["source"] = "kraken"
    path.write_text(json.dumps(record))
    with Cache(tmp_path / "copy") as copy:
        with pytest.raises(CacheError, match="does not match the folder"):
            copy.import_tree(tmp_path / "tree")
        assert copy.series() == []  # checked before anything is written


# -- migration ----------------------------------------------------------------------------------
_OLD_WRITER = textwrap.dedent(
    """
    import json, sys
    import numpy as np, pandas as pd
    import tradedata.cache.store as store
    assert "store_name" not in open(store.__file__).read(), store.__file__  # the old code
    from tradedata.cache import Cache

    def bars(start, n, freq, seed):
        rng = np.random.default_rng(seed)
        idx = pd.date_range(start, periods=n, freq=freq, tz="UTC", name="timestamp")
        close = np.round(100 * np.exp(np.cumsum(rng.normal(0, 0.01, n))), 2)
        return pd.DataFrame({"open": close, "high": close * 1.01, "low": close * 0.99,
                             "close": close, "volume": rng.random(n) * 1e3}, index=idx)

    written = [
        ("BTC/USDT", "1h", "binance", bars("2023-12-30", 100, "1h", 1)),
        ("ETH/USDT", "1h", "kraken", bars("2024-01-01", 60, "1h", 2)),
        ("SOL/USDT", "1m", "binance", bars("2024-01-01", 50, "1min", 3)),
        ("SOL/USDT", "1m", "bybit", bars("2024-01-01 00:50", 50, "1min", 4)),
        ("AAPL", "1d", "yahoo", bars("2024-01-02", 40, "1D", 5)),
        ("MSFT", "1h", "alpaca", bars("2024-01-02 14:00", 30, "1h", 6)),
    ]
    out = sys.argv[1]
    with Cache(out + "/cache") as cache:
        for symbol, tf, provider, frame in written:
            cache.write(symbol, tf, frame, source=provider,
                        coverage=(frame.index[0], frame.index[-1]))
        cache.add_coverage("ETH/USDT", "1d", "2023-01-01", "2023-01-31", "kraken")  # no bars
        for info in cache.series():
            cache.read(info.symbol, info.timeframe).to_pickle(
                f"{out}/{info.symbol.replace('/', '_')}-{info.timeframe}.pkl")
        cache.export_tree(out + "/tree")
    """
)


@pytest.fixture(scope="module")
def old_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache written by the code of :data:`BEFORE_IDENTITY`, in a subprocess."""
    base = tmp_path_factory.mktemp("before-identity")
    src = base / "src"
    src.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", BEFORE_IDENTITY, "tradedata"],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        pytest.skip(f"commit {BEFORE_IDENTITY} is not in this checkout")
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
    env = {**os.environ, "PYTHONPATH": str(src)}
    subprocess.run(
        [sys.executable, "-c", _OLD_WRITER, str(base)],
        env=env,
        cwd=base,  # not this checkout: "" heads sys.path
        check=True,
        timeout=300,
    )
    return base


def test_a_cache_written_before_sources_opens_and_keeps_every_bar(
    old_cache: Path, tmp_path: Path
) -> None:
    import shutil

    work = tmp_path / "cache"
    shutil.copytree(old_cache / "cache", work)
    expected = {
        ("binance", "BTC/USDT", "1h"): "BTC_USDT-1h",
        ("kraken", "ETH/USDT", "1h"): "ETH_USDT-1h",  # kraken's bars: moved to kraken
        ("consolidated_splits", "AAPL", "1d"): "AAPL-1d",  # Yahoo's split-adjusted bars
        ("iex", "MSFT", "1h"): "MSFT-1h",  # alpaca's free feed: IEX volume
    }
    with Cache(work) as cache:
        listed = {(i.source, i.symbol, i.timeframe): i.bars for i in cache.series()}
        assert set(listed) == set(expected) | {
            ("binance", "SOL/USDT", "1m"),
            ("bybit", "SOL/USDT", "1m"),
        }
        for (source, symbol, tf), name in expected.items():
            before = pd.read_pickle(old_cache / f"{name}.pkl")
            assert_same_bits(cache.read(symbol, tf, source=source), before)
            assert listed[(source, symbol, tf)] == len(before)
            spans = cache.coverage(symbol, tf, source=source)
            assert spans and spans[0].start == before.index[0]
        assert cache.read("ETH/USDT", "1h").empty  # never the default venue's any more
        assert cache.read("AAPL", "1d").empty  # as-traded bars are fetched anew
        # the series the old failover mixed: each row back with its venue, none lost
        sol_before = pd.read_pickle(old_cache / "SOL_USDT-1m.pkl")
        binance = cache.read("SOL/USDT", "1m")
        bybit = cache.read("SOL/USDT", "1m", source="bybit")
        assert len(binance) == 50 and len(bybit) == 50
        assert_same_bits(pd.concat([binance, bybit]).sort_index(), sol_before)
        assert cache.provider_at("SOL/USDT", "1m", bybit.index[-1], source="bybit") == "bybit"
        assert cache.provider_at("SOL/USDT", "1m", bybit.index[-1]) is None
        # coverage of a range that had no bars goes with its provider too
        assert cache.coverage("ETH/USDT", "1d") == []
        assert [c.provider for c in cache.coverage("ETH/USDT", "1d", source="kraken")] == ["kraken"]
        aapl = cache.metadata("AAPL", "1d", 2024, source="consolidated_splits")
        assert aapl is not None and aapl["delivered_basis"] == {"yahoo": "splits"}
        msft = cache.metadata("MSFT", "1h", 2024, source="iex")
        assert msft is not None and msft["source"] == "iex"
        assert msft["delivered_basis"] == {"alpaca": "raw"}
        # new bars of another venue never continue the migrated series
        more = make_bars("2024-01-03", periods=5, freq="1h", seed=9)
        cache.write("ETH/USDT", "1h", more, source="bybit")
        assert len(cache.read("ETH/USDT", "1h", source="kraken")) == 60
        assert cache.verify() == []
    with Cache(work) as again:  # opening again changes nothing
        assert {(i.source, i.symbol, i.timeframe) for i in again.series()} == set(expected) | {
            ("bybit", "ETH/USDT", "1h"),
            ("binance", "SOL/USDT", "1m"),
            ("bybit", "SOL/USDT", "1m"),
        }
        again.export_tree(tmp_path / "tree")
    assert (tmp_path / "tree/ohlcv/@kraken/ETH_USDT/1h/2024.csv.gz").is_file()
    with Cache(tmp_path / "copy") as copy:
        copy.import_tree(tmp_path / "tree")
        for (source, symbol, tf), name in expected.items():
            assert_same_bits(
                copy.read(symbol, tf, source=source), pd.read_pickle(old_cache / f"{name}.pkl")
            )


def test_a_tree_exported_before_sources_imports_split_by_source(
    old_cache: Path, tmp_path: Path
) -> None:
    tree = old_cache / "tree"
    assert not list((tree / "ohlcv").glob("@*"))  # the old layout
    with Cache(tmp_path / "new") as cache:
        cache.import_tree(tree)
        listed = {(i.source, i.symbol, i.timeframe): i.bars for i in cache.series()}
        assert listed == {
            ("binance", "BTC/USDT", "1h"): 100,
            ("kraken", "ETH/USDT", "1h"): 60,
            ("binance", "SOL/USDT", "1m"): 50,
            ("bybit", "SOL/USDT", "1m"): 50,
            ("consolidated_splits", "AAPL", "1d"): 40,
            ("iex", "MSFT", "1h"): 30,
        }
        for name, (source, symbol, tf) in {
            "ETH_USDT-1h": ("kraken", "ETH/USDT", "1h"),
            "AAPL-1d": ("consolidated_splits", "AAPL", "1d"),
            "MSFT-1h": ("iex", "MSFT", "1h"),
        }.items():
            before = pd.read_pickle(old_cache / f"{name}.pkl")
            assert_same_bits(cache.read(symbol, tf, source=source), before)
        sol = pd.concat(
            [cache.read("SOL/USDT", "1m"), cache.read("SOL/USDT", "1m", source="bybit")]
        ).sort_index()
        assert_same_bits(sol, pd.read_pickle(old_cache / "SOL_USDT-1m.pkl"))
        bybit = cache.metadata("SOL/USDT", "1m", 2024, source="bybit")
        assert bybit is not None and bybit["providers"] == [{"provider": "bybit", "bars": 50}]
        assert [c.provider for c in cache.coverage("SOL/USDT", "1m", source="bybit")] == ["bybit"]
        assert [c.provider for c in cache.coverage("ETH/USDT", "1d", source="kraken")] == ["kraken"]
        assert cache.verify() == []


@pytest.mark.embedded_only  # damages a partition file: the PostgreSQL store keeps none
def test_damage_names_the_series_as_users_spell_it(cache: Cache) -> None:
    frame = make_bars("2024-01-01", periods=30, freq="1h")
    cache.write("BTC/USDT", "1h", frame, source="bybit")
    path = cache.partition_file("BTC/USDT", "1h", 2024, source="bybit")
    assert path is not None
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x5A
    path.write_bytes(bytes(data))
    (damage,) = cache.verify()
    assert (damage.symbol, damage.timeframe, damage.year) == ("BYBIT:BTC/USDT", "1h", 2024)
    assert cache.read("BTC/USDT", "1h", source="bybit").empty
    assert [d.symbol for d in cache.quarantined()] == ["BYBIT:BTC/USDT"]


def test_migration_never_moves_what_this_version_wrote(tmp_path: Path) -> None:
    from tradedata.cache.migrate import MARKER

    frame = make_bars("2024-01-02", periods=20, freq="1D")
    with Cache(tmp_path / "c") as cache:
        cache.write(
            "AAPL", "1d", frame, provider="yahoo", coverage=(frame.index[0], frame.index[-1])
        )
        cache._db.delete(MARKER)  # as if the marker were lost
    with Cache(tmp_path / "c") as cache:
        assert cache.sources("AAPL") == ["consolidated"]
        assert_same_bits(cache.read("AAPL", "1d"), frame)
        assert [c.provider for c in cache.coverage("AAPL", "1d")] == ["yahoo"]
