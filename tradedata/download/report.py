"""The outcome of a bulk download (:func:`tradedata.download.download`).

:class:`SeriesResult` is what one (symbol, timeframe) did; :class:`DownloadReport` gathers them,
prints as the table the ``tradedata download`` command shows, and serialises to JSON. Both are
re-exported by :mod:`tradedata.download` (and by :mod:`tradedata.download_report`, their old
home).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["DownloadReport", "SeriesResult"]


@dataclass
class SeriesResult:
    """What one series' download did: bars fetched now, bars stored in the range, its score."""

    symbol: str
    timeframe: str
    expected: int = 0
    bars: int = 0
    stored: int = 0
    pages: int = 0
    providers: list[str] = field(default_factory=list)
    complete: bool = True
    error: str | None = None
    score: float | None = None
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    seconds: float = 0.0
    #: ranges that could not be fetched or proven, each "start..end (reason)"
    unfetched: list[str] = field(default_factory=list)
    #: the series' source (the exchange's venue, or an equity volume scope)
    source: str = ""
    #: with ``open_interest``: bars left without open interest, each "start..end (reason)"
    #: (None: not asked); reported, never counted as incomplete bars
    open_interest_unfetched: list[str] | None = None

    @property
    def status(self) -> str:
        """``ok``, ``up to date`` (nothing was missing), ``interrupted``, ``incomplete``
        (ranges no answer could prove, see :attr:`unfetched`) or ``failed``."""
        if self.error == "interrupted":
            return "interrupted"
        if not self.complete:
            return "incomplete" if self.unfetched and self.error is None else "failed"
        return "ok" if self.expected else "up to date"

    def cells(self) -> tuple[str, ...]:
        """The row of this series in :meth:`DownloadReport.table`."""
        when = [f"{t:%Y-%m-%d %H:%M}" if t is not None else "-" for t in (self.first, self.last)]
        score = f"{self.score:.4f}" if self.score is not None else "-"
        status = self.status if self.error in (None, "interrupted") else f"failed: {self.error}"
        if status == "incomplete":
            more = f" (+{len(self.unfetched) - 1} more)" if len(self.unfetched) > 1 else ""
            status = f"incomplete: {self.unfetched[0]}{more}"
        source = "+".join(self.providers) or "-"
        return (self.symbol, self.timeframe, str(self.bars), str(self.stored), *when, source,
                score, status)  # fmt: skip


@dataclass
class DownloadReport:
    """The outcome of :func:`download`; ``str()`` is the table the CLI prints."""

    exchange: str
    start: pd.Timestamp
    end: pd.Timestamp
    series: list[SeriesResult]
    seconds: float
    requests: int
    rate_limited: int

    @property
    def bars(self) -> int:
        """Bars fetched in this run."""
        return sum(s.bars for s in self.series)

    @property
    def ok(self) -> bool:
        """True when every series is complete."""
        return all(s.complete for s in self.series)

    def table(self) -> str:
        """One line per series: symbol, timeframe, fetched, stored, range, source, score."""
        rows: list[tuple[str, ...]] = [
            ("symbol", "tf", "fetched", "stored", "first", "last", "source", "score", "status")
        ]
        rows += [s.cells() for s in self.series]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        return "\n".join(
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
        )

    def __str__(self) -> str:
        rate = self.bars / self.seconds if self.seconds > 0 else 0.0
        return (
            f"{self.table()}\n\n{len(self.series)} series from {self.exchange}, "
            f"{self.start:%Y-%m-%d %H:%M} .. {self.end:%Y-%m-%d %H:%M}: {self.bars} bars in "
            f"{self.requests} requests, {self.seconds:.1f}s ({rate:,.0f} bars/s), "
            f"{self.rate_limited} rate-limit answers, "
            f"{sum(not s.complete for s in self.series)} incomplete"
        ) + "".join(
            f"\nno open interest: {s.symbol} {s.timeframe} {gone}"
            for s in self.series
            for gone in s.open_interest_unfetched or []
        )

    def to_json(self) -> str:
        """The report as JSON (times in ISO 8601)."""
        series = [{**vars(s), "status": s.status} for s in self.series]
        data = {**vars(self), "series": series, "bars": self.bars}
        return json.dumps(data, indent=2, default=lambda v: v.isoformat())
