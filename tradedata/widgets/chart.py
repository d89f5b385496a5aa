"""CandleChart: plotly candlesticks with volume, range slider, gaps shaded, outliers marked.

::

    from tradedata.widgets import CandleChart
    CandleChart(frame)                 # a frame from DataManager.get_ohlcv (quality in attrs)

The overview draws at most ``max_candles`` candles (the series resampled coarser when needed);
zooming in (drag, range slider, :meth:`CandleChart.zoom`) redraws that window from the full
resolution bars. :meth:`CandleChart.append_bar` adds closed candles as they arrive and
:meth:`CandleChart.attach_live` connects a live source (see :mod:`tradedata.widgets.live`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
import plotly.graph_objects as go

import tradedata.widgets.figure as spec
from tradedata.model import OHLCV_COLUMNS, Timeframe, empty_frame, frame_from_arrays, to_utc
from tradedata.widgets.live import Bar, LiveLink, bar_tuple
from tradedata.widgets.view import (
    DEFAULT_MAX_CANDLES,
    Drawn,
    bar_timeframe,
    display_timeframe,
    for_display,
    parse_axis_time,
    resample,
    window,
)

if TYPE_CHECKING:
    from tradedata.validation import QualityReport

__all__ = ["CandleChart"]

#: Share of the visible span drawn beyond each edge of a zoomed window (smooth panning).
WINDOW_PAD = 0.1
#: Bars of context shown around a gap or outlier when focusing on it.
CONTEXT_BARS = 30

Range = tuple[pd.Timestamp, pd.Timestamp]


def _chart_frame(frame: pd.DataFrame | None) -> pd.DataFrame:
    if frame is None:
        return empty_frame()
    from tradedata.model import normalize_frame

    data = normalize_frame(frame)
    if data.index.has_duplicates:
        data = data[~data.index.duplicated(keep="last")]
    return data


class CandleChart(widgets.VBox):
    """An interactive candlestick chart of one OHLCV frame (an ipywidgets ``VBox``).

    ``frame`` is a frame in the tradedata schema; ``report`` its quality report (default:
    ``frame.attrs["quality"]``), whose gaps are shaded and outliers marked. ``figure`` is the
    plotly ``FigureWidget``; ``drawn`` what it shows now.
    """

    def __init__(
        self,
        frame: pd.DataFrame | None = None,
        report: QualityReport | None = None,
        *,
        title: str | None = None,
        max_candles: int = DEFAULT_MAX_CANDLES,
        height: int = 560,
    ) -> None:
        super().__init__(layout=widgets.Layout(width="100%", min_width="0"))
        self.max_candles = int(max_candles)
        self.chart_height = int(height)
        self._chart_lock = threading.RLock()
        self._frame = empty_frame()
        self._base: Timeframe | None = None
        self._report: QualityReport | None = None
        self._title = ""
        self._xview: Range | None = None
        self._mark: Range | None = None
        self._overview: Drawn | None = None
        self._drawn = Drawn(self._frame, None)
        self._axis_seen: tuple[Any, Any] = (None, None)
        self.links: list[LiveLink] = []
        self.figure: go.FigureWidget | None = None
        self.set_frame(frame, report, title=title)

    # -- public state ------------------------------------------------------------------------
    @property
    def frame(self) -> pd.DataFrame:
        """The full-resolution bars the chart holds."""
        return self._frame

    @property
    def report(self) -> QualityReport | None:
        """The quality report whose gaps and outliers are drawn."""
        return self._report

    @property
    def drawn(self) -> pd.DataFrame:
        """The bars on screen now (resampled when :attr:`display_timeframe` is set)."""
        return self._drawn.frame

    @property
    def display_timeframe(self) -> str | None:
        """The timeframe the drawn bars were resampled to, or None at full resolution."""
        return None if self._drawn.timeframe is None else self._drawn.timeframe.name

    @property
    def view_range(self) -> Range | None:
        """The x range shown (UTC), or None when the whole series is shown."""
        return self._xview

    # -- setting data ------------------------------------------------------------------------
    def set_frame(
        self,
        frame: pd.DataFrame | None,
        report: QualityReport | None = None,
        *,
        title: str | None = None,
    ) -> None:
        """Show ``frame`` (zoom reset); ``report`` defaults to ``frame.attrs["quality"]``."""
        with self._chart_lock:
            data = _chart_frame(frame)
            self._frame = data
            self._base = bar_timeframe(frame) if frame is not None else None
            if self._base is None and len(data) >= 2:
                self._base = bar_timeframe(data)
            attrs = frame.attrs if frame is not None else {}
            self._report = report if report is not None else attrs.get("quality")
            if title is not None:
                self._title = title
            elif attrs.get("symbol"):
                self._title = f"{attrs['symbol']} {attrs.get('timeframe') or ''}".strip()
            self._xview, self._mark, self._overview = None, None, None
            self._refresh(layout=True)

    def set_report(self, report: QualityReport | None) -> None:
        """Draw the gaps and outliers of ``report`` (None clears them)."""
        with self._chart_lock:
            self._report = report
            self._refresh(layout=True)

    # -- zooming -----------------------------------------------------------------------------
    def zoom(self, start: Any, end: Any) -> None:
        """Show ``[start, end]`` at full resolution (or as fine as ``max_candles`` allows)."""
        s, e = to_utc(start, name="start"), to_utc(end, name="end")
        with self._chart_lock:
            self._xview = None if self._covers_all(s, e) else (min(s, e), max(s, e))
            self._refresh(layout=True)

    def zoom_around(
        self, start: Any, end: Any | None = None, context_bars: int = CONTEXT_BARS
    ) -> None:
        """Zoom to ``[start, end]`` with ``context_bars`` bars either side, outlined."""
        s = to_utc(start, name="start")
        e = s if end is None else to_utc(end, name="end")
        step = self._base.delta if self._base is not None else pd.Timedelta(0)
        pad = max(step * context_bars, (e - s) * 0.5)
        with self._chart_lock:
            self._mark = (s, e)
            self.zoom(s - pad, e + pad)

    def reset_zoom(self) -> None:
        """Show the whole series again."""
        with self._chart_lock:
            self._xview, self._mark = None, None
            self._refresh(layout=True)

    # -- live --------------------------------------------------------------------------------
    def append_bar(
        self,
        ts: Any,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float = 0.0,
    ) -> None:
        """Add (or replace) one closed candle and redraw."""
        self.extend_bars([bar_tuple((ts, open, high, low, close, volume))])

    on_bar = append_bar

    def extend_bars(self, bars: Iterable[Any]) -> int:
        """Add closed candles (tuples, mappings or objects, see :func:`bar_tuple`); redraw once.

        A candle with the open time of one already held replaces it. Returns how many were read.
        """
        rows: list[Bar] = [b if _is_bar(b) else bar_tuple(b) for b in bars]
        if not rows:
            return 0
        ms = [int(r[0].value // 1_000_000) for r in rows]
        new = frame_from_arrays(ms, *(np.array([r[i] for r in rows]) for i in range(1, 6)))
        with self._chart_lock:
            old_last = self._frame.index[-1] if len(self._frame) else None
            merged = pd.concat([self._frame.loc[:, list(OHLCV_COLUMNS)], new])
            merged = merged[~merged.index.duplicated(keep="last")]
            if not merged.index.is_monotonic_increasing:
                merged = merged.sort_index(kind="stable")
            self._frame = merged
            if self._base is None and len(merged) >= 2:
                self._base = bar_timeframe(merged)
            self._overview = None
            self._follow(old_last)
            self._refresh(layout=self._xview is not None)
        return len(rows)

    def attach_live(self, source: Any) -> LiveLink:
        """Append closed candles from ``source`` as they arrive (see :mod:`.live`)."""
        link = LiveLink(source, self.extend_bars)
        self.links.append(link)
        return link

    def detach_live(self) -> None:
        """Stop every attached live source."""
        for link in self.links:
            link.stop()
        self.links.clear()

    def close(self) -> None:
        """Stop live sources and remove the chart (and its figure) from the page."""
        for link in getattr(self, "links", []):
            link.stop()
        fig = getattr(self, "figure", None)
        if fig is not None:
            fig.close()
        super().close()

    def _follow(self, old_last: pd.Timestamp | None) -> None:
        """Keep a window that showed the newest bar showing it (it slides right)."""
        if self._xview is None or old_last is None or not len(self._frame):
            return
        start, end = self._xview
        new_last = self._frame.index[-1]
        if end >= old_last and new_last > old_last:
            shift = new_last - old_last
            self._xview = (start + shift, end + shift)

    # -- drawing -----------------------------------------------------------------------------
    def _covers_all(self, start: pd.Timestamp, end: pd.Timestamp) -> bool:
        if not len(self._frame):
            return True
        return start <= self._frame.index[0] and end >= self._frame.index[-1]

    def _compute(self) -> Drawn:
        if self._xview is None:
            if self._overview is None:
                self._overview = for_display(self._frame, self.max_candles, self._base)
            return self._overview
        start, end = self._xview
        visible = window(self._frame, start, end)
        tf = display_timeframe(len(visible), end - start, self._base, self.max_candles)
        pad = (end - start) * WINDOW_PAD
        part = window(self._frame, start - pad, end + pad)
        return Drawn(resample(part, tf) if tf is not None else part, tf)

    def _extent(self) -> list[Any] | None:
        if not len(self._frame):
            return None
        step = self._base.delta if self._base is not None else pd.Timedelta(0)
        first, last = self._frame.index[0] - step / 2, self._frame.index[-1] + step / 2
        return [spec.axis_time(first), spec.axis_time(last)]

    def _view_values(self) -> list[Any] | None:
        if self._xview is None:
            return None
        return [spec.axis_time(t) for t in self._xview]

    def _traces(self) -> list[dict[str, Any]]:
        outliers = self._report.outliers if self._report is not None else []
        drawn = self._drawn.frame
        if len(drawn):  # only those drawn: the price axis autoranges over every trace
            tf = self._drawn.timeframe
            lo, hi = drawn.index[0], drawn.index[-1] + (tf.delta if tf else pd.Timedelta(0))
            outliers = [t for t in outliers if lo <= t <= hi]
        points = spec.outlier_points(self._frame, outliers)
        return spec.trace_specs(spec.candle_arrays(self._drawn.frame), points)

    def _layout(self) -> dict[str, Any]:
        gaps = self._report.gaps if self._report is not None else []
        return spec.layout_spec(
            title=self._title,
            height=self.chart_height,
            extent=self._extent(),
            view=self._view_values(),
            shapes=spec.gap_shapes(gaps, self._base, self._mark),
            empty=not len(self._frame),
        )

    def _displayed(self) -> bool:
        return self.figure is not None and bool(self.figure._view_count)

    def _refresh(self, *, layout: bool) -> None:
        """Recompute what is drawn; update the shown figure in place, else build a new one."""
        self._drawn = self._compute()
        if self._displayed():
            self._push(layout=layout)
        else:
            self._rebuild()

    def _rebuild(self) -> None:
        # The whole layout goes to the constructor: changes made to a FigureWidget before a
        # frontend displays it can be lost (Voila renders only the constructed state).
        fig = go.FigureWidget(data=self._traces(), layout=self._layout())
        fig._config = {**fig._config, "responsive": True}  # follow the window's width
        fig.layout.on_change(self._on_axis, "xaxis.range", "xaxis.autorange")
        old, self.figure = self.figure, fig
        self._axis_seen = (self._view_values(), self._xview is None)
        self.children = (fig,)
        if old is not None:
            old.close()

    def _push(self, *, layout: bool) -> None:
        fig = self.figure
        assert fig is not None
        traces = self._traces()
        with fig.batch_update():
            for trace, values in zip(fig.data, traces, strict=True):
                trace.update({k: v for k, v in values.items() if k in _DATA_KEYS})
            fig.layout.xaxis.rangeslider.update(autorange=False, range=self._extent())
            if layout:
                lay = self._layout()
                fig.layout.title.text = lay["title"]["text"]
                fig.layout.shapes = lay["shapes"]
                state = spec.empty_state(not len(self._frame))
                fig.layout.annotations = state.pop("annotations")
                fig.layout.update(state)
                if self._xview is None:
                    fig.layout.xaxis.autorange = True
                else:
                    fig.layout.xaxis.update(autorange=False, range=self._view_values())
        self._axis_seen = (self._view_values(), self._xview is None)

    def _on_axis(self, _layout: Any, xrange: Any, autorange: Any) -> None:
        """The frontend zoomed, panned, or reset (double click): redraw that window."""
        with self._chart_lock:
            seen = (list(xrange) if xrange is not None else None, autorange)
            previous, self._axis_seen = self._axis_seen, seen
            if seen[0] is not None and seen[0] != previous[0]:  # a zoom or a pan
                s, e = (parse_axis_time(v) for v in seen[0])
                view = None if self._covers_all(s, e) else (min(s, e), max(s, e))
                end_autorange = bool(autorange)
            elif autorange and not previous[1]:  # a double click
                view, end_autorange = None, False
            else:
                return
            if view == self._xview and not end_autorange:
                return
            self._xview = view
            self._drawn = self._compute()
            self._push(layout=False)
            if end_autorange and self.figure is not None:
                # a zoom ends autorange in the browser; say so here too, or the next double
                # click (autorange back to True) would not be seen as a change
                self.figure.layout.xaxis.autorange = False
                self._axis_seen = (seen[0], False)


_DATA_KEYS = frozenset({"x", "y", "open", "high", "low", "close", "marker"})


def _is_bar(value: Any) -> bool:
    return isinstance(value, tuple) and len(value) == 6 and isinstance(value[0], pd.Timestamp)
