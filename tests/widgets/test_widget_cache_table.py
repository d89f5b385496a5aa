"""CacheTable: rows from DataManager.series(), refresh, open and two-click delete."""

from __future__ import annotations

import html
import re

from tests.support.memory_provider import synthetic
from tests.widgets.widget_helpers import BTC, ES, ORCL
from tradedata.widgets import CacheTable

COLUMNS = 10


def _rows(table: CacheTable) -> list[list[str]]:
    cells = table.grid.children[COLUMNS:]
    texts = [
        html.unescape(re.sub(r"<[^>]+>", "", getattr(c, "value", ""))) or c.description
        for c in cells
    ]
    return [texts[i : i + COLUMNS] for i in range(0, len(texts), COLUMNS)]


def _button(table: CacheTable, key: tuple[str, str], label: str):
    row = [(r.symbol, r.timeframe) for r in table.rows].index(key)
    cells = table.grid.children[COLUMNS * (row + 1) : COLUMNS * (row + 2)]
    return next(c for c in cells if getattr(c, "description", None) == label)


def test_rows_show_what_the_manager_reports(sample_manager):
    table = CacheTable(sample_manager)

    series = {(s.symbol, s.timeframe): s for s in sample_manager.series()}
    rows = _rows(table)
    assert [(r[0], r[1]) for r in rows] == sorted(series)
    orcl = next(r for r in rows if r[0] == "ORCL")
    info = series[ORCL]
    assert orcl[2] == "2014-01-02 \u2192 2014-12-31"
    assert orcl[3] == f"{info.bars:,}"
    assert orcl[5] == f"{info.score:.4f}"
    assert orcl[6] == "csv:orcl-2014.txt"
    assert "3 series" in table.summary.value


def test_refresh_reads_the_manager_again(sample_manager):
    table = CacheTable(sample_manager)
    sample_manager.import_frame(synthetic("2024-01-01", 10, freq="1d"), "ETH/USDT", "1d")
    calls = len(sample_manager.named("series"))

    table.refresh_button.click()

    assert len(sample_manager.named("series")) == calls + 1
    assert ("ETH/USDT", "1d") in [(r.symbol, r.timeframe) for r in table.rows]


def test_delete_needs_a_second_click(sample_manager):
    table = CacheTable(sample_manager)

    _button(table, ES, "Delete").click()
    assert sample_manager.named("delete") == []
    _button(table, ES, "Confirm").click()

    assert sample_manager.named("delete") == [(ES, {})]
    assert ES not in [(r.symbol, r.timeframe) for r in table.rows]
    assert not sample_manager.cache.has(*ES)
    assert "deleted ES 1m" in table.status.value


def test_arming_another_row_disarms_the_first(sample_manager):
    table = CacheTable(sample_manager)

    _button(table, ES, "Delete").click()
    _button(table, ORCL, "Delete").click()
    _button(table, ORCL, "Confirm").click()

    assert sample_manager.named("delete") == [(ORCL, {})]
    assert sample_manager.cache.has(*ES)


def test_open_calls_back_with_the_series(sample_manager):
    opened: list = []
    table = CacheTable(sample_manager, on_open=lambda s, t: opened.append((s, t)))

    _button(table, BTC, "Open").click()

    assert opened == [BTC]


def test_an_empty_cache_says_so(tmp_path):
    from tradedata.manager import DataManager

    with DataManager(cache_dir=tmp_path / "empty") as dm:
        table = CacheTable(dm)

        assert table.rows == []
        assert "the cache is empty" in table.status.value
