"""The tradedata command: verbs, JSON output, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tradedata.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _cli(cache: Path | str, *args: str) -> list[str]:
    """A command line on a cache folder (a Path) or a store (folder or postgresql:// URL)."""
    if isinstance(cache, str):
        return ["--store", cache, *args]
    return ["--cache-dir", str(cache), *args]


def test_import_show_validate(
    store_spec: str, data_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(_cli(store_spec, "import", str(data_dir / "2006-day-001.txt"), "IDX", "1d")) == 0
    assert "imported 255 bars" in capsys.readouterr().out
    assert main(_cli(store_spec, "show", "IDX", "1d", "--json", "--rows", "2")) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["bars"] == 255 and len(shown["rows"]) == 4
    assert shown["rows"][0]["close"] == 3604.33
    assert main(_cli(store_spec, "validate", "IDX", "1d", "--calendar", "XEUR", "--json")) == 0
    report = json.loads(capsys.readouterr().out)
    assert 0.0 <= report["score"] <= 1.0 and "gaps" in report
    assert main(_cli(store_spec, "show", "IDX", "1d")) == 0
    assert "255 bars" in capsys.readouterr().out


def test_cache_info_export_import_clear(
    store_spec: str, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    main(_cli(store_spec, "import", str(data_dir / "orcl-2014.txt"), "ORCL", "1d"))
    capsys.readouterr()
    assert main(_cli(store_spec, "cache", "info", "--json")) == 0
    info = json.loads(capsys.readouterr().out)
    assert any(s["symbol"] == "ORCL" for s in info["series"])
    assert main(_cli(store_spec, "cache", "verify")) == 0
    tree = tmp_path / "tree"
    assert main(_cli(store_spec, "cache", "export", str(tree))) == 0
    assert (tree / "ohlcv" / "ORCL" / "1d" / "2014.csv.gz").exists()
    other = tmp_path / "other-cache"
    assert main(_cli(other, "cache", "import", str(tree))) == 0
    capsys.readouterr()
    assert main(_cli(other, "show", "ORCL", "1d", "--json")) == 0
    assert json.loads(capsys.readouterr().out)["bars"] == 252
    assert main(_cli(store_spec, "cache", "clear")) == 2  # needs --yes
    assert main(_cli(store_spec, "cache", "clear", "--yes")) == 0


def test_verify_reports_damage(
    cache_dir: Path, data_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    main(_cli(cache_dir, "import", str(data_dir / "orcl-2014.txt"), "ORCL", "1d"))
    files = [p for p in cache_dir.rglob("*") if p.is_file() and p.suffix in (".gz", ".val")]
    assert files, "partition files expected under the cache dir"
    for path in files:
        raw = bytearray(path.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        path.write_bytes(bytes(raw))
    capsys.readouterr()
    assert main(_cli(cache_dir, "cache", "verify")) == 1
    assert "damaged" in capsys.readouterr().out


def _run(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradedata", "--cache-dir", str(cache), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


@pytest.mark.parametrize(
    "args",
    [
        ("show", "BTC/USDT", "7x"),
        ("fetch", "BTC/USDT", "1h", "--start", "2024-02-01", "--end", "2024-01-01"),
        ("show", "NOPE", "1d"),
        ("frobnicate",),
    ],
)
def test_bad_input_exits_2_with_one_line(cache_dir: Path, args: tuple[str, ...]) -> None:
    proc = _run(*args, cache=cache_dir)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert "Traceback" not in proc.stderr


def test_malformed_csv_leaves_cache_unchanged(cache_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "timestamp,open,high,low,close,volume\n2024-01-01,1,1,1,1,1\n2024-01-02,x,1,1,1,1\n"
    )
    proc = _run("import", str(bad), "BTC/USDT", "1d", cache=cache_dir)
    assert proc.returncode == 2 and "line 3" in proc.stderr
    listing = _run("cache", "info", "--json", cache=cache_dir)
    assert json.loads(listing.stdout)["series"] == []


def test_import_with_flags(cache_dir: Path, data_dir: Path, capsys: pytest.CaptureFixture) -> None:
    path = str(data_dir / "nvda-2014.txt")
    assert main(_cli(cache_dir, "import", path, "--symbol", "NVDA", "--timeframe", "1d")) == 0
    assert "imported 252 bars" in capsys.readouterr().out
    assert main(_cli(cache_dir, "import", path)) == 2
