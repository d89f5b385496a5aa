"""The widgets show each series' source and accept the venue-prefixed spelling."""

from __future__ import annotations

import html
import re
import shutil

import pandas as pd

from tests.support.memory_provider import synthetic
from tests.widgets.widget_helpers import RecordingManager
from tradedata.widgets import CacheTable, DataExplorer

COLUMNS = 10


def _add_bybit(manager) -> pd.DataFrame:
    frame = synthetic("2024-03-01", 48, freq="1h", seed=5)
    manager.import_frame(frame, "BYBIT:BTC/USDT", "1h")
    return frame


def _texts(table: CacheTable) -> list[list[str]]:
    cells = table.grid.children[COLUMNS:]
    texts = [
        html.unescape(re.sub(r"<[^>]+>", "", getattr(c, "value", ""))) or c.description
        for c in cells
    ]
    return [texts[i : i + COLUMNS] for i in range(0, len(texts), COLUMNS)]


def test_the_cache_table_has_a_source_column(sample_manager):
    _add_bybit(sample_manager)
    table = CacheTable(sample_manager)

    rows = {(r[0], r[7]) for r in _texts(table)}

    assert table.grid.children[7].value.count("source") == 1
    assert {("BTC/USDT", "binance"), ("BTC/USDT", "bybit"), ("ORCL", "consolidated")} <= rows


def test_open_names_the_venue_and_delete_removes_only_that_venue(sample_manager):
    _add_bybit(sample_manager)
    opened = []
    table = CacheTable(sample_manager, on_open=lambda s, tf: opened.append((s, tf)))
    labels = [(r[0], r[7], r[1]) for r in _texts(table)]
    row = labels.index(("BTC/USDT", "bybit", "1h"))
    cells = table.grid.children[COLUMNS * (row + 1) : COLUMNS * (row + 2)]
    button = {c.description: c for c in cells if hasattr(c, "description")}

    button["Open"].click()
    assert opened == [("BYBIT:BTC/USDT", "1h")]

    assert table.request_delete("BYBIT:BTC/USDT", "1h") is False  # armed
    assert table.request_delete("BYBIT:BTC/USDT", "1h") is True
    left = {(r.symbol, r.source, r.timeframe) for r in sample_manager.series()}
    assert ("BTC/USDT", "bybit", "1h") not in left
    assert ("BTC/USDT", "binance", "1h") in left


def test_the_explorer_lists_and_loads_the_prefixed_spelling(sample_manager):
    bybit = _add_bybit(sample_manager)
    explorer = DataExplorer(sample_manager)

    assert "BYBIT:BTC/USDT" in explorer.browse.symbol.options
    frame = explorer.load("BYBIT:BTC/USDT", "1h", provider="cache")

    assert frame is not None
    assert frame["close"].tolist() == bybit["close"].tolist()
    assert frame.attrs["source"] == "bybit"
    assert "BYBIT:BTC/USDT 1h" in explorer.chart.figure.layout.title.text
    binance = explorer.load("BTC/USDT", "1h", provider="cache")
    assert binance is not None and binance["close"].tolist() != bybit["close"].tolist()


def test_rows_are_labelled_by_the_source_the_rules_pick(sample_cache, tmp_path):
    """With Bybit the rules' primary, ``BTC/USDT`` reads Bybit's series: the Binance row is
    opened and deleted as ``BINANCE:BTC/USDT``, and its delete leaves Bybit's series alone."""
    path = tmp_path / "cache"
    shutil.copytree(sample_cache, path)
    rules = {"rules": {"crypto": {"primary": "bybit", "backup": ["binance"]}}}
    opened = []
    with RecordingManager(cache_dir=path, config=rules) as dm:
        _add_bybit(dm)
        table = CacheTable(dm, on_open=lambda s, tf: opened.append((s, tf)))
        labels = [(r[7], r[1]) for r in _texts(table)]
        row = labels.index(("binance", "1h"))
        cells = table.grid.children[COLUMNS * (row + 1) : COLUMNS * (row + 2)]
        button = {c.description: c for c in cells if hasattr(c, "description")}
        button["Open"].click()
        button["Delete"].click()  # armed: the grid is drawn again
        cells = table.grid.children[COLUMNS * (row + 1) : COLUMNS * (row + 2)]
        next(c for c in cells if getattr(c, "description", "") == "Confirm").click()
        left = {(r.symbol, r.source, r.timeframe) for r in dm.series()}

    assert opened == [("BINANCE:BTC/USDT", "1h")]
    assert ("BTC/USDT", "binance", "1h") not in left
    assert ("BTC/USDT", "bybit", "1h") in left
