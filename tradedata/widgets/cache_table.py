"""CacheTable: what the cache holds (symbol, timeframe, range, bars, size, score, providers,
source).

A series is ``(source, symbol, timeframe)`` (:mod:`tradedata.identity`): the *source* column
shows its venue (``binance``, ``bybit`` ...) or equity volume scope (``consolidated``,
``iex``). Each row has an *Open* button (calls the ``on_open(symbol, timeframe)`` callbacks,
e.g. to load it in the explorer; ``symbol`` is venue-prefixed, ``"BYBIT:BTC/USDT"``, for a
series of a source other than the one the rules pick, see :func:`series_label`) and a *Delete*
button that asks for a second click before it calls :meth:`DataManager.delete`. *Refresh*
reads :meth:`DataManager.series` again.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from tradedata.errors import TradeDataError
from tradedata.identity import default_source
from tradedata.widgets.style import fmt_bytes, fmt_score, fmt_time, message_html, score_colour

if TYPE_CHECKING:
    from tradedata.cache import SeriesInfo
    from tradedata.manager import DataManager

__all__ = ["CacheTable", "series_label"]

log = logging.getLogger("tradedata.widgets")

Opener = Callable[[str, str], Any]
HEADERS = (
    "symbol", "timeframe", "range (UTC)", "bars", "size", "score", "providers", "source", "", ""
)  # fmt: skip
_COLUMNS = (
    "minmax(90px,auto) 70px minmax(180px,auto) 80px 80px 70px minmax(100px,1fr) "
    "minmax(70px,auto) 70px 80px"
)


def series_label(row: SeriesInfo, read_source: str | None = None) -> str:
    """How a user names the row's series: ``"BTC/USDT"`` when it is the series a request
    naming no source reads (``read_source``, the source the rules pick,
    :meth:`DataManager.source_for`; default: the symbol's default source), else the
    venue-prefixed spelling ``"BYBIT:BTC/USDT"`` (what ``get_ohlcv`` accepts). Opening or
    deleting a row by its label so always reaches that row's series."""
    source = getattr(row, "source", "") or ""
    if not source or source == (read_source or default_source(row.symbol)):
        return row.symbol
    return f"{source.upper()}:{row.symbol}"


def _cell(text: str, *, align: str = "left", colour: str | None = None) -> widgets.HTML:
    style = f"text-align:{align};font-size:13px" + (
        f";color:{colour};font-weight:600" if colour else ""
    )
    return widgets.HTML(f'<div style="{style}">{text}</div>')


class CacheTable(widgets.VBox):
    """A table of every cached series with refresh, open and delete actions."""

    def __init__(
        self, manager: DataManager | None = None, *, on_open: Opener | None = None
    ) -> None:
        if manager is None:
            from tradedata.manager import get_data_manager

            manager = get_data_manager()
        self.manager = manager
        self.rows: list[SeriesInfo] = []
        self._open_callbacks: list[Opener] = []
        self._armed: tuple[str, str] | None = None
        self.refresh_button = widgets.Button(
            description="Refresh", icon="refresh", layout=widgets.Layout(width="100px")
        )
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.summary = widgets.HTML()
        self.status = widgets.HTML()
        self.grid = widgets.GridBox(
            layout=widgets.Layout(grid_template_columns=_COLUMNS, grid_gap="2px 10px")
        )
        header = widgets.HBox(
            [widgets.HTML("<b>Cache</b>"), self.summary, self.refresh_button],
            layout=widgets.Layout(align_items="center", justify_content="space-between"),
        )
        super().__init__([header, self.status, self.grid])
        self.add_class("tradedata-cache-table")
        if on_open is not None:
            self.on_open(on_open)
        self.refresh()

    def on_open(self, callback: Opener) -> None:
        """Call ``callback(symbol, timeframe)`` when a row's *Open* button is clicked."""
        self._open_callbacks.append(callback)

    def refresh(self) -> list[SeriesInfo]:
        """Read the cache's series again and redraw the table; returns them."""
        self._armed = None
        self.status.value = ""
        try:
            series = list(self.manager.series())
            info = self.manager.cache_info()
        except TradeDataError as exc:
            self.status.value = message_html(f"cannot read the cache: {exc}", "error")
            return self.rows
        self.rows = sorted(series, key=lambda s: (s.symbol, s.source, s.timeframe))
        size = fmt_bytes(info.get("size_bytes"))
        where = html.escape(str(info.get("directory", "")))
        self.summary.value = (
            f'<span style="color:#57606a;font-size:13px">{len(self.rows)} series, {size} '
            f"in <code>{where}</code></span>"
        )
        self._draw()
        return self.rows

    def _draw(self) -> None:
        cells: list[widgets.Widget] = [_cell(f"<b>{h}</b>") for h in HEADERS]
        for row in self.rows:
            cells += self._row_cells(row)
        if not self.rows:
            self.status.value = message_html("the cache is empty: load or import some data")
        self.grid.children = cells

    def label(self, row: SeriesInfo) -> str:
        """The row's :func:`series_label` under the manager's rules (the bare symbol only for
        the series ``get_ohlcv(symbol, timeframe)`` reads)."""
        try:
            read = self.manager.source_for(row.symbol, row.timeframe)
        except TradeDataError:
            read = None
        return series_label(row, read)

    def _row_cells(self, row: SeriesInfo) -> list[widgets.Widget]:
        key = (self.label(row), row.timeframe)
        opener = widgets.Button(description="Open", layout=widgets.Layout(width="64px"))
        opener.on_click(lambda _b, k=key: self.open_series(*k))
        armed = self._armed == key
        deleter = widgets.Button(
            description="Confirm" if armed else "Delete",
            button_style="danger" if armed else "",
            tooltip=f"delete {key[0]} {row.timeframe} from the cache",
            layout=widgets.Layout(width="76px"),
        )
        deleter.add_class("tradedata-delete")
        deleter.on_click(lambda _b, k=key: self.request_delete(*k))
        span = f"{fmt_time(row.first)} &rarr; {fmt_time(row.last)}"
        return [
            _cell(html.escape(row.symbol)),
            _cell(html.escape(row.timeframe)),
            _cell(span),
            _cell(f"{row.bars:,}", align="right"),
            _cell(fmt_bytes(row.bytes), align="right"),
            _cell(fmt_score(row.score), align="right", colour=score_colour(row.score)),
            _cell(html.escape(", ".join(row.providers))),
            _cell(html.escape(row.source or default_source(row.symbol))),
            opener,
            deleter,
        ]

    def open_series(self, symbol: str, timeframe: str) -> None:
        """Act as a click on the row's *Open* button."""
        for callback in list(self._open_callbacks):
            callback(symbol, timeframe)

    def request_delete(self, symbol: str, timeframe: str) -> bool:
        """A click on *Delete*: the first arms the row, the second deletes. True once deleted."""
        key = (symbol, timeframe)
        if self._armed != key:
            self._armed = key
            self.status.value = message_html(
                f"click Confirm to delete {symbol} {timeframe} from the cache", "warning"
            )
            self._draw()
            return False
        return self.delete(symbol, timeframe)

    def delete(self, symbol: str, timeframe: str) -> bool:
        """Delete a series through the manager (no confirmation) and refresh.

        ``symbol`` is a row's label: venue-prefixed for a source other than the default."""
        try:
            removed = self.manager.delete(symbol, timeframe)
        except TradeDataError as exc:
            self.status.value = message_html(f"cannot delete {symbol} {timeframe}: {exc}", "error")
            return False
        self.refresh()
        self.status.value = message_html(
            f"deleted {symbol} {timeframe} ({removed} partition{'s' if removed != 1 else ''})",
            "ok",
        )
        return True
