"""Extreme input gets one line and exit code 2, and writes nothing (issue 12).

Every case of the adversarial pass has a test here: through the ``tradedata`` command in a
subprocess (stdout empty, stderr one line, exit code 2, every file of the cache unchanged) and
through the API (a :class:`TradeDataError`, the cache unchanged). Hypothesis then walks the
whole input surface: dates, timeframes, symbols, config values, YAML and CSV bytes.
"""

# ruff: noqa: F811 - the simulator fixtures are imported, then requested by name

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import resource
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.adapters.ccxt_conftest_fixtures import (
    sim,  # noqa: F401 - fixture
    sim_server,  # noqa: F401 - fixture
)
from tests.support.memory_provider import MemoryProvider, synthetic
from tradedata.config import load_config, provider_settings
from tradedata.csvio import read_csv
from tradedata.errors import (
    ConfigurationError,
    DataValidationError,
    InputError,
    InvalidDateRangeError,
    InvalidTimeframeError,
    ProviderError,
    TradeDataError,
)
from tradedata.manager import DataManager
from tradedata.model import parse_range, parse_timeframe

ROOT = Path(__file__).resolve().parent.parent
HEADER = "timestamp,open,high,low,close,volume\n"


def snapshot(directory: Path) -> dict[str, str]:
    """A hash of every file under ``directory`` (SQLite's shared-memory index excepted: every
    reader writes its read marks there, it holds no data)."""
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and not p.name.endswith("-shm")
    }


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    """A cache holding one small series (closed again, so no process holds it)."""
    cache_dir = tmp_path / "cache"
    with DataManager(cache_dir=cache_dir, config={}) as dm:
        dm.import_frame(synthetic("2024-01-01", 48, freq="1h"), "BTC/USDT", "1h")
    return cache_dir


def _limit_memory() -> None:  # a run that grows without bound fails fast instead of swapping
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tradedata", *args],
        capture_output=True,
        text=True,
        env=full,
        cwd=ROOT,
        timeout=120,
        preexec_fn=_limit_memory,
    )


def assert_one_line_exit_2(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr


# -- the command line ------------------------------------------------------------------------

_YAML = {
    "binary": bytes(range(256)) * 4,
    "cache_dir_int": b"cache_dir: 12345\n",
    "url_int": b"providers:\n  binance: {url: 12345}\n",
    "options_text": b'providers:\n  binance: {options: "x"}\n',
    "timeout_inf": b"providers:\n  binance: {timeout: .inf}\n",
    "malformed": b"rules: [1, 2\nproviders: {\n  binance: [\n",
    "size_inf": b"cache_max_size_gb: .inf\n",
}


@pytest.mark.parametrize("case", sorted(_YAML))
def test_a_bad_config_file_is_one_line(filled: Path, tmp_path: Path, case: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(_YAML[case])
    before = snapshot(filled)

    done = run_cli(
        "--cache-dir",
        str(filled),
        "--config",
        str(path),
        "fetch",
        "BTC/USDT",
        "1h",
        "--start",
        "2024-01-01",
        "--end",
        "2024-01-02",
        "--provider",
        "binance",
    )

    assert_one_line_exit_2(done)
    assert snapshot(filled) == before


@pytest.mark.parametrize(
    "env",
    [
        {"CACHE_MAX_SIZE_GB": "inf"},
        {"CACHE_MAX_SIZE_GB": "1e400"},
        {"CACHE_MAX_SIZE_GB": "nan"},
        {"DATA_CACHE_DIR": "~nosuchuser/x"},
    ],
    ids=["size-inf", "size-1e400", "size-nan", "home-of-nobody"],
)
def test_a_bad_environment_is_one_line(filled: Path, env: dict[str, str]) -> None:
    args = ["show", "BTC/USDT", "1h"]
    if "DATA_CACHE_DIR" not in env:
        args = ["--cache-dir", str(filled), *args]
    before = snapshot(filled)

    assert_one_line_exit_2(run_cli(*args, env=env))
    assert snapshot(filled) == before


@pytest.mark.parametrize(
    "args",
    [
        ["fetch", "BTC/USDT", "1h", "--start", "2262-04-10", "--end", "2262-04-11"],
        ["fetch", "BTC/USDT", "1h", "--start", "2262-04-10"],
        ["fetch", "BTC/USDT", "1h", "--start", "0001-01-01", "--end", "2024-01-01"],
        ["fetch", "BTC/USDT", "1d", "--start", "2200-01-01", "--end", "2200-02-01"],
        ["fetch", "BTC/USDT", "99999999999999999999999m", "--start", "2024-01-01"],
        ["fetch", "BTC/USDT", "1000000m", "--start", "2024-01-01", "--end", "2024-01-02"],
        ["fetch", "BTC/USDT", "600000M", "--start", "2024-01-01", "--end", "2024-01-02"],
        ["fetch", "BTC/USDT", "1000000d", "--start", "2024-01-01", "--end", "2024-01-02"],
        ["show", "BTC/USDT", "1000000d"],
    ],
    ids=[
        "2262-range",
        "2262-start",
        "year-1",
        "year-2200",
        "tf-huge",
        "tf-1000000m",
        "tf-600000M",
        "tf-1000000d",
        "show-1000000d",
    ],
)
def test_extreme_dates_and_timeframes_are_one_line(filled: Path, args: list[str]) -> None:
    before = snapshot(filled)

    done = run_cli("--cache-dir", str(filled), *args, "--provider", "cache")

    assert_one_line_exit_2(done)
    assert snapshot(filled) == before


def test_a_range_in_the_future_says_so(filled: Path) -> None:
    done = run_cli(
        "--cache-dir",
        str(filled),
        "fetch",
        "BTC/USDT",
        "1d",
        "--start",
        "2200-01-01",
        "--end",
        "2200-02-01",
    )

    assert_one_line_exit_2(done)
    assert "future" in done.stderr


def _csv(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "name,body",
    [
        ("epoch", "9999999999999,1,2,0.5,1.5,10\n"),
        ("epoch-early", "1700000000000,1,2,0.5,1.5,10\n9999999999999,1,2,0.5,1.5,10\n"),
        ("big-field", "2024-01-01," + "1" * 140_000 + ",2,0.5,1.5,10\n"),
        ("short-row", "2024-01-01,1,2,0.5,1.5,10\n2024-01-02,1,2,0.5\n"),
        ("three-fields", "2024-01-01,1,2\n"),
        ("empty-close", "2024-01-01,1,2,0.5,,10\n"),
    ],
    ids=["epoch", "epoch-early", "big-field", "short-row", "three-fields", "empty-close"],
)
def test_a_bad_csv_is_one_line_and_writes_nothing(
    filled: Path, tmp_path: Path, name: str, body: str
) -> None:
    path = _csv(tmp_path, f"{name}.csv", HEADER + body)
    before = snapshot(filled)

    done = run_cli("--cache-dir", str(filled), "import", str(path), "NEW/USDT", "1d")

    assert_one_line_exit_2(done)
    assert snapshot(filled) == before


def test_importing_an_endless_file_stops_at_a_limit(filled: Path) -> None:
    before = snapshot(filled)

    done = run_cli("--cache-dir", str(filled), "import", "/dev/zero", "NEW/USDT", "1d")

    assert_one_line_exit_2(done)
    assert snapshot(filled) == before


@pytest.mark.parametrize(
    "args",
    [
        ["--port", "99999"],
        ["--port", "-1"],
        ["--port", "http"],
        ["--speed", "inf"],
        ["--speed", "1e308"],
        ["--generate", "100000000"],
        ["--latency", "nan"],
        ["--ws-update", "0"],
        ["--duration", "inf"],
    ],
    ids=lambda a: " ".join(a),
)
def test_sim_with_impossible_options_is_one_line(args: list[str]) -> None:
    assert_one_line_exit_2(run_cli("sim", *args, "--duration", "1"))


@pytest.mark.parametrize("days", ["1e9", "inf", "nan", "0"])
def test_download_with_absurd_days_is_one_line(sim: Any, filled: Path, days: str) -> None:
    before = snapshot(filled)

    done = run_cli(
        "--cache-dir",
        str(filled),
        "download",
        "--symbols",
        "BTC/USDT",
        "--timeframes",
        "1h",
        "--days",
        days,
        "--no-progress",
        env={"TRADEDATA_BINANCE_URL": sim.url},
    )

    assert_one_line_exit_2(done)
    assert snapshot(filled) == before


def test_download_of_a_future_range_says_so(sim: Any, filled: Path) -> None:
    done = run_cli(
        "--cache-dir",
        str(filled),
        "download",
        "--symbols",
        "BTC/USDT",
        "--start",
        "2200-01-01",
        "--end",
        "2200-02-01",
        "--no-progress",
        env={"TRADEDATA_BINANCE_URL": sim.url},
    )

    assert_one_line_exit_2(done)
    assert "future" in done.stderr


# -- the API ---------------------------------------------------------------------------------


@pytest.fixture
def dm(filled: Path) -> Iterator[DataManager]:
    manager = DataManager(cache_dir=filled, config={"rules": {"crypto": {"primary": "memA"}}})
    manager.add_provider(
        MemoryProvider(synthetic("2024-01-01", 3000), now="2024-01-03", name="memA")
    )
    yield manager
    manager.close()


@pytest.mark.parametrize(
    "start,end",
    [
        (dt.datetime(1, 1, 1), "2024-01-01"),
        (dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31)),
        ("2024-01-01", dt.datetime(9999, 12, 31)),
        (10**20, None),
        ("2200-01-01", "2200-02-01"),
        ("2262-04-10", "2262-04-11"),
    ],
)
def test_get_ohlcv_refuses_unholdable_dates(
    dm: DataManager, filled: Path, start: Any, end: Any
) -> None:
    before = snapshot(filled)

    with pytest.raises(InvalidDateRangeError):
        dm.get_ohlcv("BTC/USDT", "1h", start, end)

    assert snapshot(filled) == before


@pytest.mark.parametrize("tf", ["1000000d", "1000000m", "600000M", "99999999999999999999999m"])
def test_absurd_timeframes_are_refused(dm: DataManager, tf: str) -> None:
    with pytest.raises(InvalidTimeframeError, match="longer than a year"):
        dm.get_ohlcv("BTC/USDT", tf, "2024-01-01", "2024-01-02")


def test_longest_timeframes_still_parse() -> None:
    assert [parse_timeframe(t).name for t in ("366d", "52w", "12M", "1M")] == [
        "366d",
        "52w",
        "12M",
        "1M",
    ]


def test_import_frame_with_a_missing_timestamp_writes_nothing(
    dm: DataManager, filled: Path
) -> None:
    frame = synthetic("2024-02-01", 10, freq="1h")
    frame.index = pd.DatetimeIndex([pd.NaT, *frame.index[1:]], name="timestamp")
    before = snapshot(filled)

    with pytest.raises(DataValidationError, match="NaT"):
        dm.import_frame(frame, "ETH/USDT", "1h")

    assert snapshot(filled) == before  # no orphan value file either


def test_a_failing_quality_function_leaves_no_orphan_file(dm: DataManager, filled: Path) -> None:
    def broken(part: pd.DataFrame) -> dict:
        if part.index[0].year == 2024:
            raise DataValidationError("refused")
        return {"score": 1.0}

    before = snapshot(filled)
    with pytest.raises(DataValidationError):  # 2023 was encoded and stored before 2024 failed
        dm.cache.write(
            "ETH/USDT",
            "1h",
            synthetic("2023-12-31 20:00", 10, freq="1h"),
            source="x",
            quality=broken,
        )
    assert snapshot(filled) == before


# -- properties over the whole input surface -------------------------------------------------

_LIMITS = [pd.Timestamp.min, pd.Timestamp.max, pd.Timestamp("1677-09-22"), dt.datetime(1, 1, 1)]
dates = st.one_of(
    st.none(),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.dates(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(["2024-01-01", "2262-04-11", "1677-09-21", "now", "", "2024-13-01"]),
    st.sampled_from(_LIMITS),
)
timeframes = st.one_of(
    st.sampled_from(["1m", "1h", "1d", "1w", "1M", "3M", "12M", "366d", "367d", "0m", "-1h"]),
    st.from_regex(r"\A\s?[0-9]{0,30}\s?[A-Za-z]{0,8}\s?\Z"),
    st.text(max_size=12),
    st.integers(),
    st.none(),
)
symbols = st.one_of(
    st.sampled_from(["BTC/USDT", "BTCUSDT", "AAPL", "7203.T", "ETH/USDT:USDT", "a|b", "/", ""]),
    st.text(max_size=25),
    st.binary(max_size=10),
    st.none(),
)
_PROPS = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _quietly(call: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call()


@_PROPS
@given(symbol=symbols, tf=timeframes, start=dates, end=dates)
def test_get_ohlcv_returns_bars_or_a_trade_data_error(
    dm: DataManager, filled: Path, symbol: Any, tf: Any, start: Any, end: Any
) -> None:
    before = snapshot(filled)
    try:
        frame = _quietly(lambda: dm.get_ohlcv(symbol, tf, start, end, provider="cache"))
    except TradeDataError as exc:
        assert "\n" not in str(exc)
        if not isinstance(exc, ProviderError):  # refused input: nothing written
            assert snapshot(filled) == before
        return
    assert isinstance(frame, pd.DataFrame)
    assert frame.index.is_monotonic_increasing and frame.index.is_unique


@_PROPS
@given(start=dates, end=dates, tf=timeframes)
def test_parsing_and_cache_ranges_never_raise_anything_else(
    dm: DataManager, start: Any, end: Any, tf: Any
) -> None:
    try:
        parse_range(start, end)
        timeframe = parse_timeframe(tf)
        dm.cache.missing_ranges("BTC/USDT", timeframe.name, start, end)
        _quietly(lambda: dm.cache.read("BTC/USDT", timeframe.name, start, end))
    except TradeDataError:
        pass


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from([".inf", "1e400", "-1", "0", "http://127.0.0.1:1"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_provider = st.dictionaries(
    st.sampled_from(["url", "ws_url", "api_key", "secret", "sandbox", "timeout", "options", "x"]),
    _values,
    max_size=4,
)
configs = st.fixed_dictionaries(
    {},
    optional={
        "cache_max_size_gb": _values,
        "providers": st.one_of(
            _values,
            st.dictionaries(st.sampled_from(["binance", "fmp", "1"]), _provider, max_size=2),
        ),
        "fundamentals": _values,
        "rules": _values,
        "unknown": _values,
    },
)


@_PROPS
@given(config=configs)
def test_config_values_give_a_config_or_a_configuration_error(config: dict) -> None:
    try:
        loaded = load_config(config)
        made = [provider_settings(str(name), loaded) for name in loaded.providers]
    except ConfigurationError as exc:
        assert "\n" not in str(exc)
        return
    size = loaded.cache_max_size_gb
    assert size is None or (math.isfinite(size) and size > 0)
    for got in made:  # what a provider is built from is usable, or was refused above
        assert got.url is None or isinstance(got.url, str)
        assert got.ws_url is None or isinstance(got.ws_url, str)
        assert math.isfinite(got.timeout) and got.timeout > 0
        assert isinstance(got.options, dict)


@_PROPS
@given(text=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_any_config_file_gives_a_config_or_a_configuration_error(
    tmp_path: Path, text: bytes
) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(text)
    try:
        load_config(path)
    except ConfigurationError as exc:
        assert "\n" not in str(exc)


_field = st.one_of(
    st.sampled_from(["1", "2.5", "-3", "", "null", "nan", "inf", "1e400", "x", '"', "9" * 20]),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=6),
)
_stamp = st.one_of(
    st.sampled_from(
        [
            "2024-01-01",
            "2024-01-01T00:00:00Z",
            "1700000000",
            "1700000000000",
            "9999999999999",
            "0000000000",
            "2262-04-12",
            "1600-01-01",
            "",
            "x",
        ]
    ),
    st.text(max_size=12),
)
_row = st.tuples(_stamp, st.lists(_field, min_size=0, max_size=8)).map(
    lambda r: ",".join([r[0], *r[1]])
)
csv_bodies = st.one_of(
    st.lists(_row, max_size=6).map(lambda rows: (HEADER + "\n".join(rows)).encode()),
    st.binary(max_size=200),
    st.lists(_row, max_size=4).map(
        lambda rows: ("Date,Open,High,Low,Close,Adj Close,Volume\n" + "\n".join(rows)).encode()
    ),
)


@_PROPS
@given(body=csv_bodies, tf=st.sampled_from(["1m", "1h", "1d", "1w", "1M"]))
def test_any_csv_bytes_import_or_give_a_trade_data_error(
    dm: DataManager, filled: Path, tmp_path: Path, body: bytes, tf: str
) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(body)
    before = snapshot(filled)
    try:
        _quietly(lambda: dm.import_csv(path, "CSV/USDT", tf))
    except TradeDataError as exc:
        assert "\n" not in str(exc)
        assert snapshot(filled) == before
        return
    frame = read_csv(path, tf)
    assert not frame[["open", "high", "low", "close"]].isna().any().any()  # no half bars
    assert np.isfinite(frame.index.asi8).all()


def test_input_errors_are_value_errors_too() -> None:
    assert issubclass(InputError, ValueError)  # callers catching ValueError keep working


@_PROPS
@given(
    tf=st.one_of(st.sampled_from(["1m", "5m", "1h", "1d", "1w", "1M", "2h"]), timeframes),
    start=st.one_of(
        dates, st.datetimes(min_value=dt.datetime(2023, 12, 30), max_value=dt.datetime(2024, 1, 4))
    ),
    end=st.one_of(
        dates, st.datetimes(min_value=dt.datetime(2023, 12, 30), max_value=dt.datetime(2024, 1, 4))
    ),
)
def test_fetching_returns_bars_or_a_trade_data_error(
    dm: DataManager, filled: Path, tf: Any, start: Any, end: Any
) -> None:
    before = snapshot(filled)
    try:
        frame = _quietly(lambda: dm.get_ohlcv("ETH/USDT", tf, start, end))
    except TradeDataError as exc:
        assert "\n" not in str(exc)
        if isinstance(exc, (InputError, ConfigurationError)):
            assert snapshot(filled) == before
        return
    assert frame.index.is_monotonic_increasing and frame.index.is_unique
    assert not frame[["open", "high", "low", "close"]].isna().any().any()
