"""Two real ccxt venues (Binance and Bybit, served by the simulator in their wire formats)
through the CLI: each symbol's series per venue, each venue's own prices."""

# ruff: noqa: F811 - the simulator fixtures are imported, then requested by name

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.adapters.ccxt_conftest_fixtures import (
    FAST_RETRY,
    sim,  # noqa: F401 - fixture
    sim_server,  # noqa: F401 - fixture
)
from tradedata.adapters.ccxt_ import CcxtProvider
from tradedata.cli import main
from tradedata.sim.simulator import ExchangeSimulator


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CcxtProvider, "retry_policy", FAST_RETRY)


def test_cli_fetches_and_shows_each_venue_apart(
    sim: ExchangeSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    for name in ("BINANCE", "BYBIT"):
        monkeypatch.setenv(f"TRADEDATA_{name}_URL", sim.url)
    end = sim.now().floor("h") - pd.Timedelta(hours=1)
    start = end - pd.Timedelta(hours=30)
    span = ["--start", start.isoformat(), "--end", end.isoformat(), "--json"]
    base = ["--cache-dir", str(tmp_path / "cache")]

    assert main([*base, "fetch", "BTC/USDT", "1h", *span]) == 0
    binance = json.loads(capsys.readouterr().out)
    assert main([*base, "fetch", "BYBIT:BTC/USDT", "1h", *span]) == 0
    bybit = json.loads(capsys.readouterr().out)
    assert (binance["source"], bybit["source"]) == ("binance", "bybit")
    assert (binance["provider"], bybit["provider"]) == ("binance", "bybit")
    assert binance["bars"] == bybit["bars"] == 31

    assert (
        main([*base, "show", "BTC/USDT", "1h", "--exchange", "bybit", "--json", "--rows", "1"]) == 0
    )
    shown = json.loads(capsys.readouterr().out)
    truth = sim.canonical("bybit", "BTC/USDT", "1h", start, end + pd.Timedelta(seconds=1))
    assert shown["rows"][0]["close"] == truth["close"].iloc[0]
    other = sim.canonical("binance", "BTC/USDT", "1h", start, end + pd.Timedelta(seconds=1))
    assert not truth["close"].equals(other["close"])  # two markets, two price series
    assert main([*base, "cache", "info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert sorted((s["source"], s["bars"]) for s in info["series"]) == [
        ("binance", 31),
        ("bybit", 31),
    ]


def test_cli_fallback_venues_fills_from_bybit_and_says_so(
    sim: ExchangeSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from tradedata.sim.faults import Faults

    for name in ("BINANCE", "BYBIT"):
        monkeypatch.setenv(f"TRADEDATA_{name}_URL", sim.url)
    end = sim.now().floor("h") - pd.Timedelta(hours=1)
    start = end - pd.Timedelta(hours=10)
    span = ["--start", start.isoformat(), "--end", end.isoformat(), "--json"]
    base = ["--cache-dir", str(tmp_path / "cache")]
    sim.set_faults(Faults(error_rate=1.0, paths=("/api/v3/",)))  # Binance is down

    assert main([*base, "fetch", "BTC/USDT", "1h", *span]) == 2  # no opt-in: nothing at all
    capsys.readouterr()
    assert main([*base, "fetch", "BTC/USDT", "1h", *span, "--fallback", "venues"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["bars"] == 11 and summary["provider"] == "bybit"
    assert summary["source"].startswith("binance (filled from bybit ")
    assert main([*base, "cache", "info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert [(s["source"], s["bars"]) for s in info["series"]] == [("bybit", 11)]
