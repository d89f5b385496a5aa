"""Helpers of the ops tests: run ``python -m tradedata`` as a user would, a clean environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from tradedata.sim import ExchangeSimulator

ROOT = Path(__file__).resolve().parents[2]
SIM_START = pd.Timestamp("2024-06-01", tz="UTC")


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without TRADEDATA_* settings (but its hermetic config), plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEDATA_")}
    env["TRADEDATA_CONFIG"] = os.environ["TRADEDATA_CONFIG"]  # the hermetic, missing file
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m tradedata ARGS`` in a subprocess (text output captured)."""
    return subprocess.run(
        [sys.executable, "-m", "tradedata", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env or clean_env(),
        timeout=180,
    )


def run_python(script: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -c SCRIPT`` in a subprocess."""
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env or clean_env(),
        cwd=ROOT,
        timeout=180,
    )


def sim_env(sim: ExchangeSimulator, **extra: str) -> dict[str, str]:
    """A clean environment pointing binance at the simulator."""
    return clean_env(TRADEDATA_BINANCE_URL=sim.url, TRADEDATA_BINANCE_WS_URL=sim.ws_base, **extra)


def imported(cache: Path) -> Path:
    """``cache`` after importing backtrader's ORCL 2014 sample as ORCL 1d."""
    orcl = str(ROOT / "tests/data/orcl-2014.txt")
    proc = run("--cache-dir", str(cache), "import", orcl, "ORCL", "1d")
    assert proc.returncode == 0, proc.stderr
    return cache


def records(stderr: str) -> list[dict]:
    """The JSON log lines of ``stderr``."""
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
