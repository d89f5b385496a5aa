"""``tradedata cache delete SYMBOL`` removes what ``show``/``get_ohlcv`` read: the source the
rules pick for the symbol (at each timeframe), not a fixed default; an explicit source wins.
Run over both stores (embedded folder and PostgreSQL)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradedata.cache.opening import open_store
from tradedata.cli import main

ROOT = Path(__file__).resolve().parent.parent
CRYPTO_RULES = "rules:\n  crypto: {primary: bybit, backup: [binance]}\n"
#: Tiingo's intraday bars are IEX-only (its daily ones consolidated): per-timeframe sources
STOCK_RULES = (
    "providers:\n  tiingo: {api_key: k}\n  fmp: {api_key: k}\n"
    "rules:\n"
    "  stock_intraday: {primary: tiingo, backup: [], timeframes: [1h]}\n"
    "  stock_daily: {primary: fmp, backup: [], timeframes: [1d]}\n"
)


def _bars(freq: str, periods: int) -> pd.DataFrame:
    index = pd.date_range("2024-03-04 14:00", periods=periods, freq=freq, tz="UTC")
    close = 100 + np.arange(periods, dtype="float64")
    return pd.DataFrame(
        {"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": 10.0},
        index=index.rename("timestamp"),
    )


def _fill(spec: str, symbol: str, series: list[tuple[str, str, str]]) -> None:
    with open_store(spec) as store:
        for source, tf, freq in series:
            frame = _bars(freq, 5)
            store.write(symbol, tf, frame, source=source, provider=source,
                        coverage=(frame.index[0], frame.index[-1]))  # fmt: skip


def _left(spec: str, symbol: str) -> set[tuple[str, str]]:
    with open_store(spec) as store:
        return {(s.source, s.timeframe) for s in store.series() if s.symbol == symbol}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(CRYPTO_RULES)
    return path


def _cli(spec: str, config: Path, *args: str) -> list[str]:
    return ["--store", spec, "--config", str(config), *args]


def test_delete_removes_the_source_the_rules_pick(
    store_spec: str, config: Path, capsys: pytest.CaptureFixture
) -> None:
    _fill(store_spec, "BTC/USDT", [("binance", "1d", "1D"), ("bybit", "1d", "1D")])
    assert main(_cli(store_spec, config, "show", "BTC/USDT", "1d")) == 0
    assert "source bybit" in capsys.readouterr().out  # what the user sees

    assert main(_cli(store_spec, config, "cache", "delete", "BTC/USDT", "1d")) == 0

    out = capsys.readouterr().out.strip()
    assert out == "deleted BTC/USDT 1d: 1 partition(s), source bybit"
    assert _left(store_spec, "BTC/USDT") == {("binance", "1d")}


def test_delete_of_every_timeframe_takes_each_timeframes_source(
    store_spec: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    config = tmp_path / "stocks.yaml"
    config.write_text(STOCK_RULES)
    series = [("iex", "1h", "1h"), ("consolidated", "1h", "1h"), ("consolidated", "1d", "1D")]
    _fill(store_spec, "AAPL", series)

    assert main(_cli(store_spec, config, "cache", "delete", "AAPL")) == 0

    out = capsys.readouterr().out.strip()
    assert out == (
        "deleted AAPL (every timeframe): 2 partition(s), sources consolidated (1d), iex (1h)"
    )
    assert _left(store_spec, "AAPL") == {("consolidated", "1h")}


@pytest.mark.parametrize(
    "spelling",
    [
        ["BINANCE:BTC/USDT"],
        ["BTC/USDT", "--exchange", "binance"],
        ["BTC/USDT", "--source", "binance"],
    ],
)
def test_a_named_source_still_wins(
    store_spec: str, config: Path, capsys: pytest.CaptureFixture, spelling: list[str]
) -> None:
    _fill(store_spec, "BTC/USDT", [("binance", "1d", "1D"), ("bybit", "1d", "1D")])

    assert main(_cli(store_spec, config, "cache", "delete", *spelling)) == 0

    out = capsys.readouterr().out.strip()
    assert out == "deleted BINANCE:BTC/USDT (every timeframe): 1 partition(s), source binance"
    assert _left(store_spec, "BTC/USDT") == {("bybit", "1d")}


def test_nothing_in_the_rules_source_is_one_line_naming_the_cached_ones(
    store_spec: str, config: Path
) -> None:
    _fill(store_spec, "BTC/USDT", [("binance", "1d", "1D")])
    args = _cli(store_spec, config, "cache", "delete", "BTC/USDT", "1d")

    proc = subprocess.run(
        [sys.executable, "-m", "tradedata", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip

    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (
        "error: nothing cached for BTC/USDT 1d in source bybit, the one the rules pick; "
        "cached in binance (name one with --exchange or BINANCE:BTC/USDT)\n"
    )
    assert _left(store_spec, "BTC/USDT") == {("binance", "1d")}


def test_cache_info_lists_every_source(
    store_spec: str, config: Path, capsys: pytest.CaptureFixture
) -> None:
    _fill(store_spec, "BTC/USDT", [("binance", "1d", "1D"), ("bybit", "1d", "1D")])

    assert main(_cli(store_spec, config, "cache", "info", "--json")) == 0

    info = json.loads(capsys.readouterr().out)
    assert sorted(s["source"] for s in info["series"]) == ["binance", "bybit"]
