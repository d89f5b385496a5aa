"""The CLI names a series' source: --exchange or the venue-prefixed spelling, everywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tradedata.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _cli(cache: Path, *args: str) -> list[str]:
    return ["--cache-dir", str(cache), *args]


def _fill(cache: Path, data_dir: Path) -> None:
    csv = str(data_dir / "orcl-2014.txt")
    assert main(_cli(cache, "import", csv, "BTC/USDT", "1d")) == 0  # the default venue
    assert main(_cli(cache, "import", csv, "BTC/USDT", "1d", "--exchange", "bybit")) == 0
    assert main(_cli(cache, "import", csv, "KRAKEN:BTC/USDT", "1d")) == 0


def test_import_show_validate_by_source(
    cache_dir: Path, data_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    _fill(cache_dir, data_dir)
    capsys.readouterr()
    assert main(_cli(cache_dir, "show", "BYBIT:BTC/USDT", "1d", "--json", "--rows", "1")) == 0
    assert json.loads(capsys.readouterr().out)["bars"] == 252
    assert main(_cli(cache_dir, "show", "BTC/USDT", "1d", "--exchange", "kraken")) == 0
    assert "source kraken" in capsys.readouterr().out
    assert main(_cli(cache_dir, "validate", "kraken:BTC/USDT", "1d", "--json")) == 0
    assert json.loads(capsys.readouterr().out)["bars"] == 252
    assert main(_cli(cache_dir, "cache", "info")) == 0
    table = capsys.readouterr().out.splitlines()
    header = next(line for line in table if line.startswith("source"))
    assert header.split()[:3] == ["source", "symbol", "tf"]
    listed = {tuple(line.split()[:3]) for line in table[table.index(header) + 1 :]}
    assert listed == {(v, "BTC/USDT", "1d") for v in ("binance", "bybit", "kraken")}
    assert main(_cli(cache_dir, "cache", "info", "--json")) == 0
    info = json.loads(capsys.readouterr().out)
    assert sorted(s["source"] for s in info["series"]) == ["binance", "bybit", "kraken"]


def test_delete_only_the_named_source(
    cache_dir: Path, data_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    _fill(cache_dir, data_dir)
    assert main(_cli(cache_dir, "cache", "delete", "BTC/USDT", "1d", "--exchange", "bybit")) == 0
    assert main(_cli(cache_dir, "cache", "delete", "KRAKEN:BTC/USDT")) == 0
    assert "deleted KRAKEN:BTC/USDT" in capsys.readouterr().out
    assert main(_cli(cache_dir, "cache", "info", "--json")) == 0
    info = json.loads(capsys.readouterr().out)
    assert [(s["source"], s["bars"]) for s in info["series"]] == [("binance", 252)]


def test_export_import_keeps_every_source(
    cache_dir: Path, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    _fill(cache_dir, data_dir)
    tree = tmp_path / "tree"
    assert main(_cli(cache_dir, "cache", "export", str(tree))) == 0
    assert (tree / "ohlcv/BTC_USDT/1d/2014.csv.gz").is_file()
    assert (tree / "ohlcv/@bybit/BTC_USDT/1d/2014.csv.gz").is_file()
    assert (tree / "ohlcv/@kraken/BTC_USDT/1d/2014.csv.gz").is_file()
    other = tmp_path / "other"
    assert main(_cli(other, "cache", "import", str(tree))) == 0
    capsys.readouterr()
    for name in ("BTC/USDT", "BYBIT:BTC/USDT", "KRAKEN:BTC/USDT"):
        assert main(_cli(other, "show", name, "1d", "--json")) == 0
        assert json.loads(capsys.readouterr().out)["bars"] == 252


@pytest.mark.parametrize(
    "args",
    [
        ("show", "BYBIT:BTC/USDT", "1d", "--exchange", "kraken"),
        ("show", "BTC/USDT", "1d", "--exchange", "by|bit"),
        ("show", "BTC/USDT", "1d", "--fallback", "everything"),
    ],
)
def test_conflicting_or_bad_source_exits_2(cache_dir: Path, args: tuple[str, ...]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tradedata", "--cache-dir", str(cache_dir), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr
