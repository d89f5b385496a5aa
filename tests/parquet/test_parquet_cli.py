"""``tradedata export parquet DEST``: summary, scoping, one-line errors with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from parquethelpers import fill_cache

from tradedata.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cache_dir(tmp_path: Path) -> str:
    fill_cache(tmp_path / "cache").close()
    return str(tmp_path / "cache")


def test_export_then_nothing_changed(cache_dir: str, tmp_path: Path, capsys: pytest.CaptureFixture):
    dest = str(tmp_path / "bars")
    assert main(["--cache-dir", cache_dir, "export", "parquet", dest]) == 0
    assert "6 partitions written" in capsys.readouterr().out
    assert main(["--cache-dir", cache_dir, "export", "parquet", dest, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["written"], summary["unchanged"], summary["partitions"]) == (0, 6, 6)


def test_help_shows_examples(capsys: pytest.CaptureFixture):
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    text = capsys.readouterr().out
    assert "examples:" in text and "s3://" in text and "source=/symbol=/timeframe=/year=" in text


def test_symbol_and_timeframe_limit_the_export(
    cache_dir: str, tmp_path: Path, capsys: pytest.CaptureFixture
):
    dest = str(tmp_path / "bars")
    args = ["--cache-dir", cache_dir, "export", "parquet", dest, "--json"]
    assert main([*args, "--symbol", "AAPL", "--timeframe", "1M"]) == 0
    assert json.loads(capsys.readouterr().out)["written"] == 1
    folders = (tmp_path / "bars").glob("source=*/symbol=*/timeframe=*")
    assert sorted(p.relative_to(tmp_path / "bars").as_posix() for p in folders) == [
        "source=consolidated/symbol=AAPL/timeframe=1%4D"
    ]
    assert main([*args, "--symbol", "BTCUSDT", "--timeframe", "1m"]) == 0  # the exchange's id
    summary = json.loads(capsys.readouterr().out)
    assert (summary["written"], summary["partitions"]) == (2, 3)
    assert main([*args, "--symbol", "BINANCE:ETH/USDT:USDT"]) == 0  # stored under bybit only
    assert json.loads(capsys.readouterr().out)["written"] == 0
    assert main([*args, "--symbol", "BYBIT:ETH/USDT:USDT"]) == 0
    assert json.loads(capsys.readouterr().out)["written"] == 1


@pytest.mark.parametrize(
    "args",
    [
        ("export", "csv", "x"),  # unknown format
        ("export", "parquet"),  # no destination
        ("export", "parquet", "x", "--timeframe", "7x"),  # bad timeframe
        ("export", "parquet", "{blocked}/bars"),  # a file where the folder should be
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    cache_dir: str, tmp_path: Path, capsys: pytest.CaptureFixture, args: tuple[str, ...]
):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file")
    argv = ["--cache-dir", cache_dir, *(a.format(blocked=blocked) for a in args)]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


_BLOCKER = """
import sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Blocker())
from tradedata.cli import main
sys.exit(main(["--cache-dir", {cache!r}, "export", "parquet", {dest!r}]))
"""


@pytest.mark.parametrize(
    ("blocked", "dest", "hint"),
    [
        ("pyarrow", "{tmp}/bars", 'the Parquet export needs the "parquet" extra (pyarrow is'),
        ("s3fs", "s3://bucket-name/bars", 'writing to s3://bucket-name/bars needs the "parquet"'),
    ],
)
def test_a_missing_extra_gives_the_pip_hint(
    cache_dir: str, tmp_path: Path, blocked: str, dest: str, hint: str
):
    script = _BLOCKER.format(blocked=[blocked], cache=cache_dir, dest=dest.format(tmp=tmp_path))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {hint}") and proc.stderr.count("\n") == 1
    assert 'pip install "tradedata[parquet]"' in proc.stderr
