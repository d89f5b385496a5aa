"""The explorer's Browse bar: source, symbol, timeframe, date range, Load, progress, status.

Controls only: :meth:`BrowseBar.request` turns their state into a :class:`LoadRequest`; the
explorer does the loading through the DataManager.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import ipywidgets as widgets
import pandas as pd

from tradedata.errors import InvalidSymbolError
from tradedata.model import STANDARD_TIMEFRAMES, to_utc
from tradedata.widgets.style import message_html

__all__ = ["AUTO", "CACHE", "TIMEFRAMES", "BrowseBar", "LoadRequest"]

#: Source choices besides provider names: the cache only, or the manager's selection rules.
CACHE, AUTO = "cache", "auto"
TIMEFRAMES: tuple[str, ...] = tuple(t for t in STANDARD_TIMEFRAMES if t != "1s")
_SOURCE_LABELS = {CACHE: "cache only", AUTO: "auto (provider rules)"}


@dataclass(frozen=True)
class LoadRequest:
    """What to load: ``provider`` is ``"cache"``, a provider name, or None for the rules."""

    symbol: str
    timeframe: str
    provider: str | None
    start: pd.Timestamp | None
    end: pd.Timestamp | None

    @property
    def cache_only(self) -> bool:
        """True when nothing may be fetched."""
        return self.provider == CACHE

    def describe(self) -> str:
        """``ORCL 1d`` plus the date range when one is set."""
        text = f"{self.symbol} {self.timeframe}"
        if self.start is not None or self.end is not None:
            a = "..." if self.start is None else f"{self.start:%Y-%m-%d}"
            b = "now" if self.end is None else f"{self.end:%Y-%m-%d}"
            text += f" {a} -> {b}"
        return text


def _day_start(value: date | None) -> pd.Timestamp | None:
    return None if value is None else to_utc(pd.Timestamp(value))


def _day_end(value: date | None) -> pd.Timestamp | None:
    """The last instant of the chosen day (the range includes that day's bars)."""
    start = _day_start(value)
    return None if start is None else start + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")


def _date_of(value: Any) -> date | None:
    return None if value is None else to_utc(value).date()


class BrowseBar(widgets.VBox):
    """Source, symbol (searchable), timeframe, date range, Load button, progress and status."""

    def __init__(
        self,
        providers: Sequence[str] = (),
        *,
        provider: str = CACHE,
        symbol: str = "",
        timeframe: str = "1d",
        start: Any = None,
        end: Any = None,
    ) -> None:
        names = [p for p in dict.fromkeys(providers) if p not in _SOURCE_LABELS]
        sources = [(label, key) for key, label in _SOURCE_LABELS.items()]
        sources += [(name, name) for name in names]
        wide = widgets.Layout(width="auto")
        self.provider = widgets.Dropdown(
            options=sources, value=provider, description="Source", layout=wide
        )
        self.symbol = widgets.Combobox(
            value=symbol,
            options=[],
            placeholder="symbol, e.g. BTC/USDT or AAPL",
            description="Symbol",
            ensure_option=False,
            continuous_update=False,
            layout=widgets.Layout(width="260px"),
        )
        self.symbol.add_class("tradedata-symbol")
        self.timeframe = widgets.Dropdown(
            options=list(TIMEFRAMES), value=timeframe, description="Timeframe", layout=wide
        )
        self.start = widgets.DatePicker(value=_date_of(start), description="From", layout=wide)
        self.end = widgets.DatePicker(value=_date_of(end), description="To", layout=wide)
        self.load_button = widgets.Button(
            description="Load", button_style="primary", icon="download", tooltip="load the series"
        )
        self.load_button.add_class("tradedata-load")
        self.progress = widgets.FloatProgress(
            value=0.0, min=0.0, max=1.0, layout=widgets.Layout(width="180px", visibility="hidden")
        )
        self.status = widgets.HTML()
        self.status.add_class("tradedata-status")
        row1 = widgets.HBox([self.provider, self.symbol, self.timeframe])
        row2 = widgets.HBox([self.start, self.end, self.load_button, self.progress])
        for row in (row1, row2):
            row.layout = widgets.Layout(flex_flow="row wrap", align_items="center")
        super().__init__([row1, row2, self.status])
        self.add_class("tradedata-browse")

    def request(self) -> LoadRequest:
        """The load the controls describe; raises :class:`InvalidSymbolError` without a symbol."""
        symbol = (self.symbol.value or "").strip()
        if not symbol:
            raise InvalidSymbolError("enter a symbol first (e.g. BTC/USDT or AAPL)")
        source = self.provider.value
        return LoadRequest(
            symbol=symbol,
            timeframe=str(self.timeframe.value),
            provider=None if source == AUTO else source,
            start=_day_start(self.start.value),
            end=_day_end(self.end.value),
        )

    def set_symbols(self, symbols: Sequence[str]) -> None:
        """The suggestions the symbol box searches."""
        self.symbol.options = list(dict.fromkeys(symbols))

    def set_busy(self, busy: bool) -> None:
        """Disable the controls while loading; show the progress bar."""
        for control in (self.provider, self.symbol, self.timeframe, self.load_button):
            control.disabled = busy
        if busy:
            self.progress.value = 0.0
            self.progress.bar_style = "info"
            self.progress.layout.visibility = "visible"

    def set_progress(self, fraction: float, text: str = "") -> None:
        """Move the progress bar to ``fraction`` (0..1) and say what is happening."""
        self.progress.value = min(max(float(fraction), 0.0), 1.0)
        if text:
            self.show(text)

    def finish(self, ok: bool) -> None:
        """Fill the progress bar green (or red on failure)."""
        self.progress.value = 1.0
        self.progress.bar_style = "success" if ok else "danger"

    def show(self, text: str, kind: str = "info") -> None:
        """A status message: ``info``, ``ok``, ``warning`` or ``error``."""
        self.status.value = message_html(text, kind)
