"""The README's first command: the offline demo on the exchange simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradedata.cli import main
from tradedata.manager import DataManager


def test_demo_fetches_through_ccxt_and_reports_quality(
    cache_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["--cache-dir", str(cache_dir), "demo", "--days", "1"]) == 0
    out = capsys.readouterr().out
    assert out.count("1440 bars") == 2 and out.count("score    1.0000") == 2
    with DataManager(cache_dir=cache_dir) as dm:
        spans = dm.cache.coverage("BTC/USDT", "1m")
        assert {s.provider for s in spans} == {"binance"}
        assert len(dm.cache.read("ETH/USDT", "1m")) == 1440
    # a second run finds everything cached and fetches nothing new
    assert main(["--cache-dir", str(cache_dir), "demo", "--days", "1"]) == 0
    assert capsys.readouterr().out.count("1440 bars") == 2
