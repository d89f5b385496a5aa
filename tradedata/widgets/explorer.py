"""DataExplorer: one notebook panel to browse, load, check and chart market data.

::

    from tradedata.widgets import DataExplorer
    DataExplorer()                      # the process-wide DataManager (DATA_CACHE_DIR)
    DataExplorer(manager=dm, symbol="BTC/USDT", timeframe="1h")

Browse (source, searchable symbol, timeframe, dates, Load with progress; a venue-prefixed
symbol such as ``BYBIT:BTC/USDT`` loads that venue's series, see :mod:`tradedata.identity`),
Chart
(:class:`~tradedata.widgets.CandleChart`), Quality (:class:`~tradedata.widgets.QualityPanel`;
choosing a gap or outlier zooms the chart to it) and Cache
(:class:`~tradedata.widgets.CacheTable`). Everything goes through the DataManager; errors show
up in the panel as a message, never as a traceback.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import pandas as pd

from tradedata.errors import AllProvidersFailedError, TradeDataError
from tradedata.identity import default_source, split_source
from tradedata.symbols import normalize_symbol
from tradedata.widgets.browse import AUTO, CACHE, BrowseBar, LoadRequest
from tradedata.widgets.cache_table import CacheTable
from tradedata.widgets.chart import CandleChart
from tradedata.widgets.live import LiveLink
from tradedata.widgets.quality import QualityPanel
from tradedata.widgets.style import fmt_score
from tradedata.widgets.view import DEFAULT_MAX_CANDLES

if TYPE_CHECKING:
    from tradedata.adapters.base import Chunk
    from tradedata.manager import DataManager

__all__ = ["DataExplorer"]

log = logging.getLogger("tradedata.widgets")


def _default_providers(manager: DataManager) -> list[str]:
    from tradedata.adapters import PROVIDERS

    return [*PROVIDERS, *(p for p in manager.config.providers if p not in PROVIDERS)]


def _span(start: pd.Timestamp, end: pd.Timestamp) -> str:
    return f"{start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M}"


def _labelled(symbol: str, frame: pd.DataFrame) -> str:
    """``symbol`` with the source of ``frame``'s series when it is not the default one."""
    source = frame.attrs.get("source")
    try:
        venue, bare = split_source(symbol)
        plain = normalize_symbol(bare)
    except TradeDataError:
        return symbol
    if venue or not source or source == default_source(plain):
        return symbol
    return f"{str(source).upper()}:{plain}"


def _kept(caught: Sequence[warnings.WarningMessage], *, fetched: bool) -> list[str]:
    """Warnings worth showing. When the explorer reads the cache (after fetching, or alone) the
    manager's "could not fetch" warnings repeat what the notes already say (from the fetch
    result, or ``attrs["unfetched"]``). Subclasses (cache corruption ...) are always shown."""
    out = []
    for w in caught:
        if fetched and type(w.message) is UserWarning:
            continue
        out.append(str(w.message))
    return out


class DataExplorer(widgets.VBox):
    """Browse, load, chart and check cached or fetched OHLCV data in one panel.

    ``manager`` defaults to ``DataManager(cache_dir=cache_dir)`` when ``cache_dir`` is given,
    else the process-wide manager. ``providers`` lists the sources offered besides the cache
    and the selection rules (default: the built-in providers and those in the config). Given a
    ``symbol``, the explorer loads it at once.
    """

    def __init__(
        self,
        manager: DataManager | None = None,
        *,
        cache_dir: Any = None,
        providers: Sequence[str] | None = None,
        provider: str | None = None,
        symbol: str | None = None,
        timeframe: str = "1d",
        start: Any = None,
        end: Any = None,
        max_candles: int = DEFAULT_MAX_CANDLES,
        height: int = 560,
    ) -> None:
        self._owns_manager = manager is None and bool(cache_dir)
        if manager is None:
            from tradedata.manager import DataManager, get_data_manager

            manager = DataManager(cache_dir=cache_dir) if cache_dir else get_data_manager()
        self.manager = manager
        self.frame: pd.DataFrame | None = None
        self._loading_symbol = False
        self.cache_table = CacheTable(manager, on_open=self.open_series)
        self.browse = BrowseBar(
            _default_providers(manager) if providers is None else providers,
            provider=provider or self._default_source(symbol),
            symbol=symbol or "",
            timeframe=timeframe,
            start=start,
            end=end,
        )
        self.chart = CandleChart(max_candles=max_candles, height=height)
        self.quality = QualityPanel(on_select=self.chart.zoom_around)
        self.quality.layout.width = "300px"
        main = widgets.HBox(
            [self.chart, self.quality],
            layout=widgets.Layout(width="100%", align_items="flex-start"),
        )
        self.chart.layout.flex = "1 1 0%"  # take all the width the quality panel leaves
        self.chart.layout.width = "auto"
        self.quality.layout.flex = "0 0 300px"
        super().__init__([self.browse, main, self.cache_table], layout=widgets.Layout(width="100%"))
        self.add_class("tradedata-explorer")
        self.browse.load_button.on_click(lambda _b: self.load())
        self.browse.provider.observe(lambda _c: self.refresh_symbols(), names="value")
        self.browse.symbol.observe(self._on_symbol, names="value")
        self.refresh_symbols()
        if symbol:
            self.load()
        else:
            self.browse.show("choose a symbol and click Load")

    # -- actions -----------------------------------------------------------------------------
    def load(
        self,
        symbol: str | None = None,
        timeframe: str | None = None,
        *,
        provider: str | None = None,
    ) -> pd.DataFrame | None:
        """Load what the controls say (after setting any argument given) and show it.

        Returns the frame, or None when loading failed (the message is in the panel).
        """
        bar = self.browse
        if provider is not None:
            bar.provider.value = provider
        if timeframe is not None:
            bar.timeframe.value = timeframe
        if symbol is not None:
            self._set_symbol_quietly(symbol)
        try:
            request = bar.request()
        except TradeDataError as exc:
            bar.show(str(exc), "error")
            return None
        return self._run(request)

    def open_series(self, symbol: str, timeframe: str) -> pd.DataFrame | None:
        """Load a cached series (what the cache table's *Open* does)."""
        self.browse.start.value = None
        self.browse.end.value = None
        return self.load(symbol, timeframe, provider=CACHE)

    def refresh_symbols(self) -> list[str]:
        """Fill the symbol box: the provider's markets when it lists them, else cached symbols."""
        source = self.browse.provider.value
        symbols: list[str] = []
        if source not in (CACHE, AUTO):
            try:
                prov = self.manager.provider(source)
                lister = getattr(prov, "spot_symbols", None)
                symbols = list(lister()) if callable(lister) else []
            except TradeDataError as exc:
                self.browse.show(f"{source}: cannot list markets ({exc})", "warning")
        cached = sorted({self.cache_table.label(row) for row in self.cache_table.rows})
        self.browse.set_symbols(symbols or cached)
        return symbols or cached

    def attach_live(self, source: Any) -> LiveLink:
        """Append closed candles from ``source`` to the chart (see :mod:`.live`)."""
        link = self.chart.attach_live(source)
        self.browse.show("live: appending closed candles as they arrive", "ok")
        return link

    def append_bar(
        self,
        ts: Any,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float = 0.0,
    ) -> None:
        """Append one closed candle to the chart (the callback a live store can call)."""
        self.chart.append_bar(ts, open, high, low, close, volume)

    on_bar = append_bar

    def close(self) -> None:
        """Stop live sources, close the manager made from ``cache_dir``, remove the panel."""
        chart = getattr(self, "chart", None)
        if chart is not None:
            chart.detach_live()
        if getattr(self, "_owns_manager", False):
            self._owns_manager = False
            self.manager.close()
        super().close()

    # -- loading -----------------------------------------------------------------------------
    def _run(self, request: LoadRequest) -> pd.DataFrame | None:
        bar = self.browse
        bar.set_busy(True)
        bar.show(f"loading {request.describe()} ...")
        ok = False
        try:
            frame, notes = self._fetch(request)
            ok = True
        except TradeDataError as exc:
            bar.show(str(exc), "error")
            return None
        except Exception as exc:  # a panel shows every failure as a message, never a traceback
            log.exception("loading %s failed", request.describe())
            bar.show(f"unexpected error ({type(exc).__name__}): {exc}", "error")
            return None
        finally:
            bar.set_busy(False)
            bar.finish(ok)
        self._show(request, frame, notes)
        return frame

    def _fetch(self, req: LoadRequest) -> tuple[pd.DataFrame, list[str]]:
        dm = self.manager
        notes: list[str] = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if req.cache_only:
                frame = dm.get_ohlcv(req.symbol, req.timeframe, req.start, req.end, provider=CACHE)
                notes = [f"not in the cache: {_span(a, b)}" for a, b in frame.attrs["unfetched"]]
                fetched = True
            elif req.start is not None:
                notes, source = self._fetch_range(req)
                named: dict[str, Any] = {"exchange": source} if source else {}  # series filled
                try:
                    frame = dm.get_ohlcv(
                        req.symbol, req.timeframe, req.start, req.end, provider=CACHE, **named
                    )
                except AllProvidersFailedError as exc:
                    raise AllProvidersFailedError(
                        f"no data for {req.describe()}" + (": " + "; ".join(notes) if notes else "")
                    ) from exc
                fetched = True
            else:
                frame = dm.get_ohlcv(req.symbol, req.timeframe, provider=req.provider)
                fetched = False
        return frame, notes + _kept(caught, fetched=fetched)

    def _fetch_range(self, req: LoadRequest) -> tuple[list[str], str | None]:
        """Fetch what the cache lacks in the range, moving the progress bar chunk by chunk.

        Returns the notes and the source of the series the fetch filled (the provider's venue:
        the cache is read from that series afterwards)."""
        start = req.start
        assert start is not None
        end = req.end if req.end is not None else pd.Timestamp.now(tz="UTC")
        span = max((end - start).total_seconds(), 1.0)

        def progress(chunk: Chunk) -> None:
            done = (min(chunk.end, end) - start).total_seconds() / span
            self.browse.set_progress(
                done, f"fetching from {chunk.provider}: {chunk.end:%Y-%m-%d %H:%M}"
            )

        result = self.manager.fetch_missing(
            req.symbol, req.timeframe, start, end, provider=req.provider, on_chunk=progress
        )
        notes = [f"{name}: {message}" for name, message in result.errors.items()]
        notes += [f"could not fetch {_span(a, b)}" for a, b in result.unfetched]
        source = getattr(result, "source", None)
        return notes, str(source) if source else None

    def _show(self, request: LoadRequest, frame: pd.DataFrame, notes: list[str]) -> None:
        self.frame = frame
        report = frame.attrs.get("quality")
        title = f"{_labelled(request.symbol, frame)} {request.timeframe}"
        self.chart.set_frame(frame, report, title=title)
        self.quality.set_report(report)
        self.cache_table.refresh()
        if not request.cache_only:
            self.refresh_symbols()
        source = frame.attrs.get("provider") or "cache"
        score = fmt_score(report.score) if report is not None else "-"
        where = frame.attrs.get("source")
        source = f"{source} ({where})" if where and where != source else source
        text = f"{len(frame):,} bars of {request.describe()} from {source}, quality {score}"
        if frame.empty:
            text = f"no bars for {request.describe()}"
        self.browse.show("\n".join([text, *notes]), "warning" if notes or frame.empty else "ok")

    def _cached_timeframes(self, symbol: str | None) -> list[str]:
        """Timeframes cached of ``symbol`` (maybe venue-prefixed: that source's series only)."""
        try:
            venue, bare = split_source(symbol or "")
            sym = normalize_symbol(bare)
        except TradeDataError:
            return []
        rows = [r for r in self.cache_table.rows if r.symbol == sym]
        if venue is not None:
            return [r.timeframe for r in rows if r.source == venue]
        # the bare symbol reads the source the rules pick at each timeframe
        return [r.timeframe for r in rows if self.cache_table.label(r) == sym]

    def _default_source(self, symbol: str | None) -> str:
        """The cache when it holds the symbol (or, without one, anything); else the rules."""
        if symbol is None:
            return CACHE if self.cache_table.rows else AUTO
        return CACHE if self._cached_timeframes(symbol) else AUTO

    def _set_symbol_quietly(self, symbol: str) -> None:
        self._loading_symbol = True
        try:
            self.browse.symbol.value = symbol
        finally:
            self._loading_symbol = False

    def _on_symbol(self, change: dict[str, Any]) -> None:
        """Choosing a cached symbol in cache mode loads it (reads are cheap); others wait."""
        if self._loading_symbol or self.browse.provider.value != CACHE:
            return
        timeframes = self._cached_timeframes(change["new"])
        if not timeframes:
            return
        if self.browse.timeframe.value not in timeframes:
            self.browse.timeframe.value = timeframes[0]
        self.load()
