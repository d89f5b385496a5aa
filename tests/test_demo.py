"""The README's first command: the offline demo on the exchange simulator."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tradedata.cli import main
from tradedata.manager import DataManager

ROOT = Path(__file__).resolve().parents[1]


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


def test_demo_backtests_the_sma_crossover_and_writes_the_chart(
    cache_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    chart = tmp_path / "out" / "bt.html"

    assert main(["--cache-dir", str(cache_dir), "demo", "--days", "1", "--chart", str(chart)]) == 0

    out = capsys.readouterr().out
    assert "backtest: SMA(10)/SMA(30) crossover on BTC/USDT 1m" in out
    value = re.search(r"final value ([\d,]+\.\d\d) USDT", out)
    trades = re.search(r"trades +(\d+) closed, (\d+) won", out)
    assert value and trades and re.search(r"sharpe +-?\d+\.\d\d", out)
    assert int(trades.group(1)) > 0
    assert f"chart: {chart.resolve()}" in out
    html = chart.read_text()
    assert "candlestick" in html and '"name":"buy"' in html and '"name":"sell"' in html
    # the same data and strategy give the same result on the next run
    assert main(["--cache-dir", str(cache_dir), "demo", "--days", "1", "--chart", str(chart)]) == 0
    again = capsys.readouterr().out
    assert re.search(r"final value ([\d,]+\.\d\d) USDT", again).group(1) == value.group(1)  # type: ignore[union-attr]


def _demo(cache_dir: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "tradedata", "--cache-dir", str(cache_dir), "demo", "--days"]
    return subprocess.Popen(
        [*cmd, "1", "--no-backtest", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env,
    )  # fmt: skip


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def test_demo_live_paper_trades_on_the_websocket_stream(cache_dir: Path) -> None:
    proc = _demo(cache_dir, "--live", "4", "--live-speed", "120")
    out, err = proc.communicate(timeout=120)

    assert proc.returncode == 0, err
    assert "paper trading BTC/USDT 1m for 4 s on ws://127.0.0.1:" in out
    bars = re.findall(r"^  bar 2024-06-01 \d\d:\d\d o [\d.]+ h [\d.]+ l [\d.]+ c [\d.]+", out, re.M)
    assert len(bars) >= 3, out
    assert "data LIVE" in out and "paper trading done: final value" in out
    assert "Traceback" not in err


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_ctrl_c_stops_the_live_demo_cleanly_and_leaves_no_process(cache_dir: Path) -> None:
    proc = _demo(cache_dir, "--live", "60")
    assert proc.stdout is not None
    seen = []
    deadline = time.monotonic() + 90
    for line in proc.stdout:
        seen.append(line)
        if line.startswith("  bar ") or time.monotonic() > deadline:
            break
    assert any(line.startswith("  bar ") for line in seen), "".join(seen)
    children = _children(proc.pid)

    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=20)

    assert proc.returncode == 130
    assert "interrupted" in err and "Traceback" not in err
    assert children == []  # everything ran inside the one process ...
    assert not Path(f"/proc/{proc.pid}").exists()  # ... which is gone
