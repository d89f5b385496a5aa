"""Package-level promises: a light, fast import; README and CI agree on the test command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_PROBE = "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in HEAVY)))"
HEAVY = ("ccxt", "backtrader", "zipline", "yfinance", "ipywidgets", "plotly", "websockets")


def _run(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_import_pulls_in_no_heavy_library() -> None:
    code = (
        f"import sys, json, tradedata, tradedata.feeds, tradedata.widgets; HEAVY = {HEAVY!r}; "
        + _PROBE
    )
    assert json.loads(_run(code)) == []


def test_core_modules_never_import_feeds_or_widgets() -> None:
    code = (
        "import sys, json, tradedata.manager, tradedata.cache, tradedata.validation, "
        f"tradedata.selection, tradedata.cli; HEAVY = {HEAVY!r}; " + _PROBE
    )
    assert json.loads(_run(code)) == []


def test_import_is_fast() -> None:
    code = "import time; t = time.perf_counter(); import tradedata; print(time.perf_counter() - t)"
    best = min(float(_run(code)) for _ in range(3))
    assert best < 0.5


def test_lazy_names_resolve() -> None:
    import tradedata

    assert tradedata.TradeDataError is not None
    for name in ("DataManager", "validate", "repair", "QualityReport", "get_data_manager"):
        assert callable(getattr(tradedata, name))


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = 'python3 -m pip install -e ".[all,dev]" && python3 -m pytest'
    assert command in readme
    assert command in ci.splitlines()
