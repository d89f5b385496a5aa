"""``tradedata show --adjust``: equities split-adjusted by default, as traded on request."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.fakes import FakeMarket
from tradedata.actions import CorporateActions
from tradedata.cli import main
from tradedata.manager import DataManager

START, END = pd.Timestamp("2020-08-24", tz="UTC"), pd.Timestamp("2020-09-04", tz="UTC")


def _closes(cache: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> list[float]:
    args = ["--cache-dir", str(cache), "show", "AAPL", "1d", "--json", "--rows", "20", *extra]
    assert main(args) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    return [r["close"] for r in rows][:10]


def test_show_adjusts_for_splits_unless_told_raw(
    cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    market = FakeMarket()
    raw = market.daily("AAPL", START, END + pd.Timedelta(hours=23))
    with DataManager(cache_dir=cache_dir) as dm:
        dm.import_frame(raw[["open", "high", "low", "close", "volume"]], "AAPL", "1d", "alpaca")
        actions = market.splits("AAPL", START, END)
        dm.cache.set_actions("AAPL", CorporateActions(actions, checked_at=pd.Timestamp.now("UTC")))

    split = _closes(cache_dir, capsys)
    as_traded = _closes(cache_dir, capsys, "--adjust", "raw")

    assert as_traded == pytest.approx(list(raw["close"][:10]))
    assert split[:5] == pytest.approx([c / 4 for c in as_traded[:5]])  # before 2020-08-31
    assert split[5:] == pytest.approx(as_traded[5:])


def test_an_unknown_mode_is_one_line_and_exit_code_2(
    cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--cache-dir", str(cache_dir), "show", "AAPL", "1d", "--adjust", "split"])

    assert stop.value.code == 2
    assert "invalid choice: 'split'" in capsys.readouterr().err
