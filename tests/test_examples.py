"""Every example runs, offline: each notebook top to bottom in a fresh ``python3`` kernel, each
script as ``python3 examples/NAME.py`` in a fresh process.

They build their own temporary caches from ``examples/data`` and the loopback simulator (the
fundamentals script talks to the recorded-payload fake servers), so they cannot rot silently:
an API change that breaks one fails here. Saved notebooks stay small (no outputs, no widget
state): the executed ones weighed up to 47 MB.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
SCRIPTS = sorted(EXAMPLES.glob("*.py"))
#: What each script must print (a line or part of one), besides exiting 0 without a traceback.
EXPECTED = {
    "backtest_sma": r"data quality 1\.0000, \d+ trades, final value [\d,]+\.\d\d",
    "multi_timeframe": r"ETH/USDT 1h +25 bars",
    "paper_trading": r"data LIVE\n(.|\n)*closed bar (.|\n)*final value",
    "quality_repair": r"gaps: \[\('2024-01-13 12:00', 6\), \('2024-02-07 12:00', 2\)\]",
    "bulk_download": r"6 series from binance(.|\n)*second run:(.|\n)*0 bars in 0 requests",
    "fundamentals": r"Apple Inc\. \(Technology\): market cap [\d,]+(.|\n)*cached: True",
    "zipline_bundle": r"58 sessions, final portfolio value [\d,]+\.\d\d",
    "panels": r"missing bars per symbol: \{'BTC/USDT': 0, 'ETH/USDT': 0, 'SOL/USDT': 0\}",
    "live_feed": r"105 bars in all \(100 of history\); statuses \['delayed', 'live'",
}
MAX_NOTEBOOK_BYTES = 1_000_000
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

pytestmark = pytest.mark.slow


def _outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]


def test_the_examples_are_there():
    names = {p.stem for p in NOTEBOOKS}

    assert {"explore_cached_series", "quality_report", "backtest_with_tradedatafeed"} <= names
    assert {p.stem for p in SCRIPTS} == set(EXPECTED)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_saved_notebooks_are_small_and_carry_no_widget_state(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)

    assert path.stat().st_size < MAX_NOTEBOOK_BYTES
    assert "widgets" not in nb.metadata
    assert _outputs(nb) == []


@pytest.fixture
def fakes() -> Iterator[dict[str, str]]:
    """Fake FMP, Yahoo and Alpha Vantage servers, as the environment variables that point
    tradedata at them."""
    from tests.adapters.conftest import KEY, NOW
    from tests.fakes import FakeProviderServer

    servers = [
        FakeProviderServer(name, api_key=KEY, now=NOW).start()
        for name in ("fmp", "yahoo", "alpha_vantage")
    ]
    env = {f"TRADEDATA_{s.provider.upper()}_URL": s.url for s in servers}
    yield {**env, "FMP_API_KEY": KEY, "ALPHA_VANTAGE_API_KEY": KEY}
    for server in servers:
        server.stop()


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.stem)
def test_example_script_runs(path: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if path.stem == "fundamentals":
        env.update(request.getfixturevalue("fakes"))
    if path.stem == "zipline_bundle":
        pytest.importorskip("zipline")

    done = subprocess.run(
        [sys.executable, str(path)], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert re.search(EXPECTED[path.stem], done.stdout), done.stdout[-3000:]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_example_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the kernel imports tradedata from this checkout even when it is not pip-installed
    paths = [str(ROOT), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=300,
        resources={"metadata": {"path": str(EXAMPLES)}},
        # each plotly FigureWidget's state carries plotly.js (5 MB): saved, one notebook
        # weighed 47 MB; the outputs (widget views, text) are what a reader needs
        store_widget_state=False,
    )

    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    saved = tmp_path / path.name
    nbformat.write(nb, saved)
    assert saved.stat().st_size < MAX_NOTEBOOK_BYTES

    outputs = _outputs(nb)
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any(WIDGET_VIEW in o.get("data", {}) for o in outputs), "no widget was displayed"
    stderr = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
    assert "Traceback" not in stderr
