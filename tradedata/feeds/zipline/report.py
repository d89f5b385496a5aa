"""What a bundle ingest wrote: per-asset counts, quality, gaps and precision decisions.

zipline discards the return value of an ingest function, so the report is also logged, kept in
memory (:func:`last_ingest_report`) and saved next to the bundle's files as
``tradedata_ingest.json``.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["REPORT_FILE", "AssetReport", "IngestReport", "last_ingest_report"]

log = logging.getLogger("tradedata.zipline")

REPORT_FILE = "tradedata_ingest.json"
_REPORTS: dict[str, IngestReport] = {}
_MAX_GAPS_LOGGED = 5


@dataclass
class AssetReport:
    """One asset of an ingest."""

    symbol: str
    sid: int
    bars: int = 0  # bars read from tradedata in the bundle's range
    written: int = 0  # bars written (minute bars for 1m bundles, daily bars for 1d)
    sessions: int = 0  # daily rows written (first to last session with data)
    missing_sessions: int = 0  # of those, NaN rows filling sessions without a bar
    off_calendar: int = 0  # bars dropped because they fall outside the calendar's sessions
    score: float | None = None  # tradedata quality score of the series read
    gaps: list[tuple[str, str, int]] = field(default_factory=list)  # (first, last, missing)
    price_ratio: int | None = None  # minute bars: stored units per price unit
    daily_omitted: str | None = None  # why daily bars were written as NaN (1m bundles)
    volume_rounded_to_zero: int = 0  # traded bars whose volume rounds to 0 whole units
    splits: int = 0
    dividends: int = 0
    start: str | None = None  # first session with data
    end: str | None = None  # last session with data
    notes: list[str] = field(default_factory=list)  # warnings (data manager, zipline limits)


@dataclass
class IngestReport:
    """Everything one ingest of a tradedata bundle wrote."""

    bundle: str
    calendar: str
    timeframe: str
    start_session: str
    end_session: str
    assets: list[AssetReport] = field(default_factory=list)
    output_dir: str | None = None

    def asset(self, symbol: str) -> AssetReport:
        """The report of ``symbol`` (``KeyError`` if it is not in the bundle)."""
        for item in self.assets:
            if item.symbol == symbol:
                return item
        raise KeyError(symbol)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    def summary(self) -> str:
        """A few human-readable lines."""
        lines = [
            f"bundle {self.bundle!r}: {self.timeframe} bars on {self.calendar}, "
            f"sessions {self.start_session}..{self.end_session}"
        ]
        for a in self.assets:
            score = "n/a" if a.score is None else f"{a.score:.4f}"
            text = (
                f"  {a.symbol} (sid {a.sid}): {a.written} bars, {a.start}..{a.end}, "
                f"score {score}, {len(a.gaps)} gap(s), {a.missing_sessions} empty session(s)"
            )
            if a.price_ratio is not None:
                text += f", price ratio {a.price_ratio}"
            lines.append(text)
            if a.daily_omitted:
                lines.append(f"    daily bars omitted: {a.daily_omitted}")
        return "\n".join(lines)

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write the report as JSON into ``directory``; returns the file path."""
        path = Path(directory) / REPORT_FILE
        path.write_text(json.dumps(self.to_dict(), indent=2, default=str), encoding="utf-8")
        self.output_dir = str(directory)
        return path


def gap_rows(gaps: Any) -> list[tuple[str, str, int]]:
    """Quality-report gaps as ``(first missing open, last missing open, bars)`` strings."""
    rows = []
    for gap in gaps or ():
        start, end, missing = gap
        rows.append((pd.Timestamp(start).isoformat(), pd.Timestamp(end).isoformat(), int(missing)))
    return rows


def publish(report: IngestReport) -> None:
    """Remember ``report`` for :func:`last_ingest_report` and log it (gaps as warnings)."""
    _REPORTS[report.bundle] = report
    log.info("%s", report.summary())
    for a in report.assets:
        for first, last, missing in a.gaps[:_MAX_GAPS_LOGGED]:
            log.warning("%s: gap of %d bar(s) from %s to %s", a.symbol, missing, first, last)
        if len(a.gaps) > _MAX_GAPS_LOGGED:
            log.warning("%s: %d more gap(s)", a.symbol, len(a.gaps) - _MAX_GAPS_LOGGED)
        if a.volume_rounded_to_zero:
            log.warning(
                "%s: %d traded bar(s) have volume below half a unit: zipline stores 0 and will "
                "not fill orders in them (price_scale trades smaller units)",
                a.symbol,
                a.volume_rounded_to_zero,
            )
        if a.daily_omitted:
            log.warning("%s: daily bars written empty: %s", a.symbol, a.daily_omitted)
        for note in a.notes:
            log.warning("%s: %s", a.symbol, note)


def last_ingest_report(bundle: str) -> IngestReport | None:
    """The report of the last ingest of ``bundle`` in this process, if any."""
    return _REPORTS.get(bundle)
