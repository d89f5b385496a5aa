"""The explorer in a real browser: Voila serves a notebook, Debian's Chromium renders it.

Voila runs as a subprocess on a free localhost port with ``DATA_CACHE_DIR`` pointing at a
temporary cache of sample data; Playwright drives ``/usr/bin/chromium`` (no browser download).
The screenshot goes to ``tests/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from tests.widgets.widget_helpers import BTC, ES, ORCL
from tradedata.manager import DataManager

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Candle boxes of the main plot (the range slider draws its own copies elsewhere).
CANDLES_JS = "document.querySelectorAll('.cartesianlayer g.trace.boxes path').length"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Voila's kernels run in sessions of their own)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _stop(proc: subprocess.Popen) -> None:
    """Stop voila (its process group) and then any kernel of it still running, by pid."""
    kernels = _children(proc.pid)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # voila shuts its kernels down on SIGTERM
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)
    for pid in kernels:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def voila_url(sample_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Voila server rendering ``DataExplorer()`` over a copy of the sample cache."""
    work = tmp_path_factory.mktemp("voila")
    notebook = work / "explorer.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("from tradedata.widgets import DataExplorer\nDataExplorer()")
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, notebook)
    port = _free_port()
    env = dict(os.environ)
    env.update(
        DATA_CACHE_DIR=str(sample_cache),
        TRADEDATA_CONFIG=str(work / "no-config.yaml"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        JUPYTER_RUNTIME_DIR=str(work / "runtime"),
    )
    log = (work / "voila.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "voila", str(notebook), "--no-browser", "--Voila.ip=127.0.0.1",
         f"--port={port}", "--Voila.show_tracebacks=True"],
        cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while b"is running at" not in (work / "voila.log").read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("voila did not start:\n" + (work / "voila.log").read_text())
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/"
    finally:
        _stop(proc)
        log.close()


@pytest.fixture
def page(voila_url: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 1100})
            tab.set_default_timeout(90_000)
            tab.goto(voila_url)
            tab.wait_for_selector(".tradedata-explorer")
            yield tab
        finally:
            browser.close()


def _expected_score(cache: Path, symbol: str, timeframe: str) -> str:
    with DataManager(cache_dir=cache) as dm:
        frame = dm.get_ohlcv(symbol, timeframe, provider="cache")
        return f"quality {frame.attrs['quality'].score:.4f}"


def _choose_symbol(page, symbol: str) -> None:
    box = page.locator(".tradedata-symbol input")
    box.fill(symbol)
    box.press("Enter")


def test_the_explorer_loads_a_symbol_draws_candles_and_scores_it(page, sample_cache):
    page.wait_for_selector(".tradedata-cache-table >> text=ORCL")

    _choose_symbol(page, BTC[0])
    page.wait_for_function(f"{CANDLES_JS} === 713")
    expected = _expected_score(sample_cache, *BTC)
    page.wait_for_selector(f".tradedata-badge:has-text('{expected}')")
    assert any("2024" in t for t in page.locator(".xtick text").all_text_contents())  # a date axis

    _choose_symbol(page, ORCL[0])
    page.wait_for_function(f"{CANDLES_JS} === 252")
    # the chart and the badge are separate widgets: wait for the badge to catch up too
    page.wait_for_selector(".tradedata-quality .tradedata-badge:has-text('quality 1.0000')")
    badge = page.locator(".tradedata-quality .tradedata-badge").inner_text()
    assert badge == _expected_score(sample_cache, *ORCL) == "quality 1.0000"
    page.wait_for_selector(".tradedata-status:has-text('252 bars of ORCL 1d')")

    _choose_symbol(page, BTC[0])
    page.wait_for_function(f"{CANDLES_JS} === 713")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "explorer.png"), full_page=True)

    page.locator(".tradedata-quality select").first.select_option(index=0)
    page.wait_for_function(f"{CANDLES_JS} > 0 && {CANDLES_JS} < 200")  # zoomed to the gap
    page.wait_for_timeout(1000)  # plotly finishes drawing after the DOM count changes
    page.screenshot(path=str(ARTIFACTS / "explorer-gap.png"), full_page=True)
    assert "Traceback" not in page.content()


def test_an_unknown_symbol_shows_a_message_in_the_panel(page):
    page.wait_for_selector(".tradedata-cache-table >> text=ORCL")

    _choose_symbol(page, "NOPE")
    page.locator(".tradedata-load").click()

    page.wait_for_selector(".tradedata-status .tradedata-error")
    text = page.locator(".tradedata-status").inner_text()
    assert "no data for NOPE" in text and "Traceback" not in text


def test_dragging_a_zoom_redraws_that_window_at_full_resolution(page):
    page.wait_for_selector(".tradedata-cache-table >> text=ORCL")
    _choose_symbol(page, ES[0])  # 30,889 one-minute bars: drawn as hourly candles
    page.wait_for_selector(".tradedata-status:has-text('30,889 bars of ES 1m')")
    page.wait_for_function(f"{CANDLES_JS} > 0")
    overview = page.evaluate(CANDLES_JS)
    assert overview <= 2500
    area = page.locator(".nsewdrag").first.bounding_box()
    y = area["y"] + area["height"] / 2
    x0 = area["x"] + area["width"] * 0.40

    page.mouse.move(x0, y)
    page.mouse.down()
    page.mouse.move(x0 + area["width"] * 0.03, y, steps=8)
    page.mouse.up()

    # 3 % of the range is ~900 one-minute bars, ~40 hourly ones: only a redraw at full
    # resolution from Python puts hundreds of candles on screen
    page.wait_for_function(f"{CANDLES_JS} > 300")
    page.wait_for_timeout(1000)  # plotly finishes drawing after the DOM count changes
    page.screenshot(path=str(ARTIFACTS / "explorer-zoom.png"), full_page=True)

    page.mouse.dblclick(x0, y)
    page.wait_for_function(f"{CANDLES_JS} === {overview}")


PLOT_BOX_JS = """() => {
  const box = (sel) => document.querySelector(sel).getBoundingClientRect();
  const plot = box('.tradedata-explorer .js-plotly-plot .main-svg');
  const quality = box('.tradedata-explorer .tradedata-quality');
  const page = box('.tradedata-explorer');
  return {plot: plot.width, plotRight: plot.right, qualityLeft: quality.left, page: page.width};
}"""


def test_before_a_series_is_loaded_the_chart_shows_an_empty_state(page):
    page.wait_for_selector(".tradedata-cache-table >> text=ORCL")
    page.wait_for_selector("text=No series loaded")

    ticks = page.locator(".xtick text, .ytick text").all_text_contents()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "explorer-empty.png"), full_page=True)

    assert ticks == []  # no invented axis (plotly's default is Jan-Nov 2000, price -1..4)
    assert page.evaluate(CANDLES_JS) == 0


def test_the_chart_fills_the_width_follows_the_window_and_lists_times_like_the_axis(page):
    page.set_viewport_size({"width": 1300, "height": 1000})
    page.wait_for_selector(".tradedata-cache-table >> text=ORCL")
    _choose_symbol(page, BTC[0])
    page.wait_for_function(f"{CANDLES_JS} === 713")
    page.wait_for_timeout(500)

    wide = page.evaluate(PLOT_BOX_JS)
    page.screenshot(path=str(ARTIFACTS / "explorer-1300.png"), full_page=True)
    assert wide["qualityLeft"] - wide["plotRight"] < 40  # no blank strip between them
    assert wide["plot"] > wide["page"] - 300 - 80

    page.set_viewport_size({"width": 1000, "height": 1000})
    page.wait_for_function(
        "() => document.querySelector('.tradedata-explorer .js-plotly-plot .main-svg')"
        f".getBoundingClientRect().width < {wide['plot'] - 200}"
    )
    narrow = page.evaluate(PLOT_BOX_JS)
    assert narrow["qualityLeft"] - narrow["plotRight"] < 40

    panel = page.locator(".tradedata-quality").inner_text()
    options = page.locator(".tradedata-quality select").first.locator("option")
    first = options.first.inner_text()
    assert "+00:00" not in panel and "T12:00:00" not in panel
    assert re.match(r"\d{4}-\d\d-\d\d\s\d\d:\d\d\s", first), first  # as the axis writes
    assert re.search(r"from \d{4}-\d\d-\d\d \d\d:\d\d to ", panel), panel
