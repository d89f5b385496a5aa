"""Every example notebook runs top to bottom in a fresh ``python3`` kernel, offline.

The notebooks build their own temporary caches from ``examples/data`` (and the loopback
simulator), so they cannot rot silently: an API change that breaks one fails here.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

pytestmark = pytest.mark.slow


def _outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]


def test_the_examples_are_there():
    names = {p.stem for p in NOTEBOOKS}

    assert {"explore_cached_series", "quality_report", "backtest_with_tradedatafeed"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_example_notebook_runs(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the kernel imports tradedata from this checkout even when it is not pip-installed
    paths = [str(ROOT), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=300,
        resources={"metadata": {"path": str(EXAMPLES)}},
    )

    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error

    outputs = _outputs(nb)
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any(WIDGET_VIEW in o.get("data", {}) for o in outputs), "no widget was displayed"
    stderr = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
    assert "Traceback" not in stderr
