"""The plotly figure of a candle chart: traces and layout built from what is drawn.

One x axis (dates, with the range slider) and two y domains: prices on top, volume below. Gaps
are shaded rectangles, outliers red crosses. Everything here is a pure function of its inputs,
so the chart can either build a new ``FigureWidget`` (layout passed to its constructor, as
Voila needs before display) or push the same values into a displayed one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tradedata.model import Timeframe

if TYPE_CHECKING:
    from tradedata.validation import Gap

__all__ = [
    "EMPTY_TEXT",
    "GAP_FILL",
    "MAX_GAP_SHAPES",
    "axis_time",
    "candle_arrays",
    "empty_state",
    "gap_shapes",
    "layout_spec",
    "naive",
    "outlier_points",
    "trace_specs",
]

UP, DOWN = "#26a69a", "#ef5350"
GAP_FILL = "rgba(239, 83, 80, 0.22)"
MARK_LINE = "#1f6feb"
#: Most gaps shaded (the largest ones); every gap stays listed in the quality panel.
MAX_GAP_SHAPES = 200
PRICE_DOMAIN = (0.3, 1.0)
VOLUME_DOMAIN = (0.0, 0.22)


#: How times travel to plotly.js: naive UTC text. (A ``datetime64[ns]`` array would be sent as
#: integer nanoseconds, which plotly.js reads as milliseconds.)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def naive(index: pd.DatetimeIndex) -> np.ndarray:
    """UTC times as naive date strings for a plotly date axis (which has no time zone)."""
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    return np.asarray(index.strftime(TIME_FORMAT), dtype=object)


def axis_time(ts: pd.Timestamp) -> str:
    """One UTC time as plotly date-axis text."""
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.strftime(TIME_FORMAT)


def candle_arrays(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The x/open/high/low/close/volume arrays of ``frame``."""
    out = {"x": naive(pd.DatetimeIndex(frame.index))}
    for col in ("open", "high", "low", "close", "volume"):
        out[col] = frame[col].to_numpy(dtype="float64")
    return out


def outlier_points(
    frame: pd.DataFrame, outliers: Sequence[pd.Timestamp]
) -> tuple[np.ndarray, np.ndarray]:
    """x and y (the bar's high) of each outlier bar present in ``frame``."""
    if not len(outliers) or frame.empty:
        return naive(pd.DatetimeIndex([], tz="UTC")), np.array([], dtype="float64")
    wanted = pd.DatetimeIndex(outliers)
    wanted = wanted.tz_localize("UTC") if wanted.tz is None else wanted.tz_convert("UTC")
    highs = frame["high"]
    highs = highs[~highs.index.duplicated(keep="last")].reindex(wanted).dropna()
    return naive(pd.DatetimeIndex(highs.index)), highs.to_numpy(dtype="float64")


def _rect(x0: Any, x1: Any, **style: Any) -> dict[str, Any]:
    return {
        "type": "rect",
        "xref": "x",
        "yref": "paper",
        "x0": x0,
        "x1": x1,
        "y0": 0,
        "y1": 1,
        "layer": "below",
        **style,
    }


def gap_shapes(
    gaps: Sequence[Gap],
    base: Timeframe | None,
    mark: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> list[dict[str, Any]]:
    """Shaded rectangles over the largest gaps (and an outline over ``mark``, if given).

    A gap covers its missing bars, drawn from half a bar before the first to half a bar after
    the last (candles are centred on their open time).
    """
    half = base.delta / 2 if base is not None else pd.Timedelta(0)
    largest = sorted(gaps, key=lambda g: -int(g.missing))[:MAX_GAP_SHAPES]
    shapes = [
        _rect(
            axis_time(pd.Timestamp(g.start) - half),
            axis_time(pd.Timestamp(g.end) + half),
            fillcolor=GAP_FILL,
            line={"width": 0},
        )
        for g in sorted(largest, key=lambda g: g.start)
    ]
    if mark is not None:
        shapes.append(
            _rect(
                axis_time(mark[0] - half),
                axis_time(mark[1] + half),
                fillcolor="rgba(0,0,0,0)",
                line={"width": 2, "color": MARK_LINE, "dash": "dot"},
            )
        )
    return shapes


def trace_specs(
    arrays: dict[str, np.ndarray], outliers: tuple[np.ndarray, np.ndarray]
) -> list[dict[str, Any]]:
    """The three traces: candles, volume bars, outlier markers (always in this order)."""
    up = arrays["close"] >= arrays["open"]
    colors = np.where(up, UP, DOWN)
    return [
        {
            "type": "candlestick",
            "name": "price",
            "x": arrays["x"],
            "open": arrays["open"],
            "high": arrays["high"],
            "low": arrays["low"],
            "close": arrays["close"],
            "increasing": {"line": {"color": UP}, "fillcolor": UP},
            "decreasing": {"line": {"color": DOWN}, "fillcolor": DOWN},
            "showlegend": False,
            "yaxis": "y",
        },
        {
            "type": "bar",
            "name": "volume",
            "x": arrays["x"],
            "y": arrays["volume"],
            "marker": {"color": colors, "line": {"width": 0}},
            "opacity": 0.6,
            "showlegend": False,
            "yaxis": "y2",
            "hovertemplate": "%{x}<br>volume %{y:,.4g}<extra></extra>",
        },
        {
            "type": "scatter",
            "name": "outliers",
            "mode": "markers",
            "x": outliers[0],
            "y": outliers[1],
            "marker": {"symbol": "x", "size": 11, "color": "#d1242f", "line": {"width": 1}},
            "showlegend": False,
            "yaxis": "y",
            "hovertemplate": "outlier %{x}<extra></extra>",
        },
    ]


#: What an empty chart says instead of drawing axes (plotly would invent a 2000 date range).
EMPTY_TEXT = "No series loaded: choose a symbol and click Load"


def empty_state(empty: bool) -> dict[str, Any]:
    """Layout properties of an empty chart (no axes, no slider, a message), or of a full one."""
    message = {
        "text": EMPTY_TEXT, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.55,
        "showarrow": False, "font": {"size": 15, "color": "#6e7781"},
    }  # fmt: skip
    return {
        "xaxis.visible": not empty,
        "xaxis.rangeslider.visible": not empty,
        "yaxis.visible": not empty,
        "yaxis2.visible": not empty,
        "annotations": [message] if empty else [],
    }


def layout_spec(
    *,
    title: str,
    height: int,
    extent: list[Any] | None,
    view: list[Any] | None,
    shapes: list[dict[str, Any]],
    empty: bool = False,
) -> dict[str, Any]:
    """The layout: ``view`` is the x range shown (None: everything), ``extent`` the slider's.

    ``empty``: nothing to draw, so no axes (see :func:`empty_state`). The figure has no fixed
    width: it fills its container and follows the window (the chart sets plotly's
    ``responsive`` config).
    """
    xaxis: dict[str, Any] = {
        "type": "date",
        "visible": not empty,
        "rangeslider": {"visible": not empty, "thickness": 0.08},
        "showspikes": True,
        "spikemode": "across",
        "spikethickness": 1,
    }
    if extent is not None:
        xaxis["rangeslider"].update(autorange=False, range=extent)
    if view is not None:
        xaxis.update(autorange=False, range=view)
    else:
        xaxis["autorange"] = True
    state = empty_state(empty)
    return {
        "title": {"text": title, "x": 0.01, "xanchor": "left", "y": 0.99, "yanchor": "top"},
        "height": height,
        "autosize": True,
        "annotations": state["annotations"],
        "margin": {"l": 60, "r": 20, "t": 48 if title else 16, "b": 20},
        "template": "plotly_white",
        "dragmode": "zoom",
        "hovermode": "x",
        "xaxis": xaxis,
        "yaxis": {
            "domain": list(PRICE_DOMAIN),
            "fixedrange": True,
            "title": {"text": "price"},
            "visible": not empty,
        },
        "yaxis2": {
            "domain": list(VOLUME_DOMAIN),
            "visible": not empty,
            "fixedrange": True,
            "title": {"text": "volume"},
            "showgrid": False,
        },
        "shapes": shapes,
        "bargap": 0.1,
    }
