"""QualityPanel: a quality report as a coloured score badge, check counts, gaps and outliers.

::

    from tradedata.widgets import QualityPanel
    panel = QualityPanel(frame.attrs["quality"], on_select=chart.zoom_around)

Choosing a gap or an outlier in a list calls every ``on_select`` callback with its
``(start, end)`` (UTC Timestamps; equal for an outlier), e.g. to zoom a chart to it.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import pandas as pd

from tradedata.widgets.style import badge_html, fmt_time, score_colour

if TYPE_CHECKING:
    from tradedata.validation import QualityReport

__all__ = ["QualityPanel"]

Selection = Callable[[pd.Timestamp, pd.Timestamp], Any]
#: Most gaps (the largest) and outliers listed.
MAX_ITEMS = 500
_CELL = "padding:0 14px 0 0;line-height:1.3;border:none"
_LIST = {"width": "96%"}


def _as_report(report: QualityReport | Mapping[str, Any] | None) -> QualityReport | None:
    if report is None or not isinstance(report, Mapping):
        return report
    from tradedata.validation import QualityReport

    return QualityReport.from_dict(dict(report))


def _checks_html(report: QualityReport) -> str:
    from tradedata.validation import CHECKS

    names = [*CHECKS, *(k for k in report.checks if k not in CHECKS)]
    rows = []
    for name in names:
        count = int(report.checks.get(name, 0))
        style = f"color:{score_colour(0.0)};font-weight:600" if count else "color:#6e7781"
        rows.append(
            f'<tr class="tradedata-check" data-check="{html.escape(name)}" style="{style}">'
            f'<td style="{_CELL}">{html.escape(name.replace("_", " "))}</td>'
            f'<td style="{_CELL};text-align:right">{count:,}</td></tr>'
        )
    return f'<table style="font-size:12px;border-collapse:collapse">{"".join(rows)}</table>'


def _summary_html(report: QualityReport) -> str:
    name = f"{report.symbol} " if report.symbol else ""
    lines = [
        f"<b>{html.escape(name)}{html.escape(report.timeframe)}</b> on "
        f"{html.escape(str(report.calendar))} calendar",
        f"{fmt_time(report.start)} &rarr; {fmt_time(report.end)} UTC",
        f"{report.bars:,} bars, {report.expected_bars:,} expected",
    ]
    problems = "".join(f"<li>{html.escape(e)}</li>" for e in report.validation_errors)
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in report.notes)
    out = "<br>".join(lines)
    if problems:
        out += f'<ul style="margin:4px 0;padding-left:18px">{problems}</ul>'
    else:
        out += '<div style="color:#1a7f37">no problems found</div>'
    if notes:
        out += f'<ul style="margin:4px 0;padding-left:18px;color:#6e7781">{notes}</ul>'
    return f'<div style="font-size:13px;line-height:1.45">{out}</div>'


def _gap_label(start: pd.Timestamp, end: pd.Timestamp, missing: int) -> str:
    same_day = start.normalize() == end.normalize() and start != start.normalize()
    tail = end.strftime("%H:%M") if same_day else fmt_time(end)
    span = fmt_time(start) if start == end else f"{fmt_time(start)} \u2192 {tail}"
    return f"{span}  ({missing:,} bar{'s' if missing != 1 else ''})"


class QualityPanel(widgets.VBox):
    """A view of one :class:`~tradedata.validation.QualityReport` (or its ``to_dict()``)."""

    def __init__(
        self,
        report: QualityReport | Mapping[str, Any] | None = None,
        *,
        on_select: Selection | None = None,
        max_items: int = MAX_ITEMS,
    ) -> None:
        self.max_items = int(max_items)
        self.badge = widgets.HTML(layout=widgets.Layout(margin="4px 0"))
        self.summary = widgets.HTML()
        self.checks = widgets.HTML()
        self.gap_title = widgets.HTML()
        self.gap_list = widgets.Select(options=[], rows=6, layout=widgets.Layout(**_LIST))
        self.outlier_title = widgets.HTML()
        self.outlier_list = widgets.Select(options=[], rows=4, layout=widgets.Layout(**_LIST))
        self._selection_callbacks: list[Selection] = []
        self._gap_ranges: list[tuple[pd.Timestamp, pd.Timestamp]] = []
        self._outlier_times: list[pd.Timestamp] = []
        self._report: QualityReport | None = None
        self._quiet = False
        super().__init__(
            [
                self.badge,
                self.summary,
                self.checks,
                self.gap_title,
                self.gap_list,
                self.outlier_title,
                self.outlier_list,
            ],
            layout=widgets.Layout(min_width="260px", padding="0 0 0 8px"),
        )
        self.add_class("tradedata-quality")
        self.gap_list.observe(self._on_gap, names="value")
        self.outlier_list.observe(self._on_outlier, names="value")
        if on_select is not None:
            self.on_select(on_select)
        self.set_report(report)

    @property
    def report(self) -> QualityReport | None:
        """The report shown (None when empty)."""
        return self._report

    def on_select(self, callback: Selection) -> None:
        """Call ``callback(start, end)`` when a gap or outlier is chosen."""
        self._selection_callbacks.append(callback)

    def set_report(self, report: QualityReport | Mapping[str, Any] | None) -> None:
        """Show ``report`` (a QualityReport or its ``to_dict()``); None empties the panel."""
        rep = _as_report(report)
        self._report = rep
        if rep is None:
            self.badge.value = badge_html(None)
            self.summary.value = '<div style="color:#6e7781">no series loaded</div>'
            self.checks.value = ""
            self._set_lists([], [], 0, 0)
            return
        self.badge.value = badge_html(rep.score)
        self.summary.value = _summary_html(rep)
        self.checks.value = _checks_html(rep)
        gaps = sorted(rep.gaps, key=lambda g: -int(g.missing))[: self.max_items]
        gaps.sort(key=lambda g: g.start)
        outliers = sorted(rep.outliers)[: self.max_items]
        self._set_lists(gaps, outliers, len(rep.gaps), len(rep.outliers))

    def _set_lists(
        self, gaps: list[Any], outliers: list[pd.Timestamp], n_gaps: int, n_outliers: int
    ) -> None:
        with self._silently():  # replacing options moves the selection: not a user's choice
            self._fill_lists(gaps, outliers, n_gaps, n_outliers)

    @contextmanager
    def _silently(self) -> Iterator[None]:
        before, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = before

    def _fill_lists(
        self, gaps: list[Any], outliers: list[pd.Timestamp], n_gaps: int, n_outliers: int
    ) -> None:
        self.gap_list.value = None
        self.outlier_list.value = None
        self._gap_ranges = [(pd.Timestamp(g.start), pd.Timestamp(g.end)) for g in gaps]
        self._outlier_times = [pd.Timestamp(t) for t in outliers]
        more = f" (the {len(gaps):,} largest shown)" if n_gaps > len(gaps) else ""
        self.gap_title.value = f"<b>Gaps</b> {n_gaps:,}{more}"
        self.gap_list.options = [
            (_gap_label(s, e, int(g.missing)), i)
            for i, ((s, e), g) in enumerate(zip(self._gap_ranges, gaps, strict=True))
        ]
        self.gap_list.value = None
        more = f" (first {len(outliers):,} shown)" if n_outliers > len(outliers) else ""
        self.outlier_title.value = f"<b>Outliers</b> {n_outliers:,}{more}"
        self.outlier_list.options = [(fmt_time(t), i) for i, t in enumerate(self._outlier_times)]
        self.outlier_list.value = None
        self.gap_list.layout.display = None if gaps else "none"
        self.outlier_list.layout.display = None if outliers else "none"

    def select_gap(self, index: int) -> None:
        """Choose the ``index``-th listed gap (as a click does)."""
        self.gap_list.value = index

    def select_outlier(self, index: int) -> None:
        """Choose the ``index``-th listed outlier (as a click does)."""
        self.outlier_list.value = index

    def _emit(self, start: pd.Timestamp, end: pd.Timestamp) -> None:
        for callback in list(self._selection_callbacks):
            callback(start, end)

    def _on_gap(self, change: dict[str, Any]) -> None:
        index = change["new"]
        if self._quiet or index is None or not 0 <= index < len(self._gap_ranges):
            return
        with self._silently():
            self.outlier_list.value = None
        self._emit(*self._gap_ranges[index])

    def _on_outlier(self, change: dict[str, Any]) -> None:
        index = change["new"]
        if self._quiet or index is None or not 0 <= index < len(self._outlier_times):
            return
        with self._silently():
            self.gap_list.value = None
        ts = self._outlier_times[index]
        self._emit(ts, ts)
