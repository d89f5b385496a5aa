"""Small formatting helpers shared by the panels (HTML snippets, sizes, times, colours)."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

__all__ = [
    "badge_html",
    "fmt_bytes",
    "fmt_time",
    "message_html",
    "score_colour",
]

GOOD, FAIR, POOR, UNKNOWN = "#1a7f37", "#bf8700", "#cf222e", "#6e7781"
#: Scores at or above these are shown green, amber; below, red.
GOOD_SCORE, FAIR_SCORE = 0.99, 0.95


def score_colour(score: float | None) -> str:
    """Green from 0.99, amber from 0.95, red below; grey when unknown."""
    if score is None:
        return UNKNOWN
    if score >= GOOD_SCORE:
        return GOOD
    if score >= FAIR_SCORE:
        return FAIR
    return POOR


def fmt_score(score: float | None) -> str:
    """``0.9871`` (four decimals, as the report prints it) or ``-``."""
    return "-" if score is None else f"{score:.4f}"


def badge_html(score: float | None, label: str = "quality") -> str:
    """A coloured pill with ``score`` (the class ``tradedata-badge`` finds it in the page)."""
    colour = score_colour(score)
    return (
        f'<span class="tradedata-badge" title="quality score (0-1)" '
        f'style="background:{colour};color:white;border-radius:12px;padding:3px 12px;'
        f'font-weight:600;font-size:14px;white-space:nowrap">'
        f"{html.escape(label)} {fmt_score(score)}</span>"
    )


def fmt_time(ts: Any) -> str:
    """A compact UTC time: the date alone at midnight, else date and minutes (or seconds)."""
    if ts is None or (isinstance(ts, float) and pd.isna(ts)):
        return "-"
    t = pd.Timestamp(ts)
    t = t.tz_convert("UTC") if t.tzinfo is not None else t
    if t == t.normalize():
        return t.strftime("%Y-%m-%d")
    return t.strftime("%Y-%m-%d %H:%M:%S" if t.second else "%Y-%m-%d %H:%M")


def fmt_bytes(size: int | float | None) -> str:
    """``1.4 MB`` style sizes (powers of 1024)."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if abs(value) < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def message_html(text: str, kind: str = "info") -> str:
    """A one-line status message: ``info``, ``ok``, ``warning`` or ``error``."""
    colour = {"info": "#57606a", "ok": GOOD, "warning": FAIR, "error": POOR}.get(kind, "#57606a")
    icon = {"ok": "&#10003; ", "warning": "&#9888; ", "error": "&#10007; "}.get(kind, "")
    return (
        f'<div class="tradedata-message tradedata-{kind}" style="color:{colour};'
        f'white-space:pre-wrap">{icon}{html.escape(text)}</div>'
    )
