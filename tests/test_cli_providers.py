"""CLI verbs that reach providers, configured only through environment variables."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.fakes import FakeProviderServer
from tradedata.cli import main

KEY = "CANARY-cli-9931"


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, FakeProviderServer]]:
    now = pd.Timestamp("2024-03-20 15:00", tz="UTC")
    started = {
        name: FakeProviderServer(name, api_key=KEY, now=now).start()
        for name in ("fmp", "yahoo", "alpha_vantage")
    }
    for name, server in started.items():
        monkeypatch.setenv(f"TRADEDATA_{name.upper()}_URL", server.url)
    monkeypatch.setenv("FMP_API_KEY", KEY)
    monkeypatch.setenv("ALPHA_VANTAGE_API_KEY", KEY)
    yield started
    for server in started.values():
        server.stop()


def test_fundamentals_json(
    servers: dict[str, FakeProviderServer], cache_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["--cache-dir", str(cache_dir), "fundamentals", "AAPL", "--json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert data["symbol"] == "AAPL" and data["company_name"]
    assert data["provider_info"]["primary_source"] == "fmp"
    assert KEY not in out


def test_fundamentals_text_and_unknown_symbol(
    servers: dict[str, FakeProviderServer], cache_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["--cache-dir", str(cache_dir), "fundamentals", "AAPL"]) == 0
    assert "AAPL" in capsys.readouterr().out
    assert main(["--cache-dir", str(cache_dir), "fundamentals", "NOSUCHTICKER"]) == 2
    err = capsys.readouterr().err  # each provider's failure is logged, then one error line
    assert err.splitlines()[-1].startswith("error:") and KEY not in err


def test_fetch_from_yahoo_through_env_override(
    servers: dict[str, FakeProviderServer], cache_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    args = ["--cache-dir", str(cache_dir), "fetch", "AAPL", "1d", "--start", "2024-01-02"]
    assert main([*args, "--end", "2024-02-29", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["provider"] == "yahoo" and summary["bars"] > 30
    assert summary["quality"] > 0.9
