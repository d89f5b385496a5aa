"""The quality report and its score.

Score formula
-------------
With ``N = expected_bars + checks["off_calendar"]`` (the bars the series should have plus the
unexpected ones it has; at least 1)::

    penalty = sum(WEIGHTS[check] * checks[check] for check in WEIGHTS) / N
    score   = clamp(1 - penalty, 0, 1), rounded to 4 decimals

``WEIGHTS``: missing bars 1.0; invalid values (NaN/inf/negative/zero price) 3.0; OHLC violations
3.0; conflicting duplicates 2.0; outliers 2.0; exact duplicates 0.5; off-calendar bars 0.5;
stale bars 0.5; zero-volume bars 0.25. A clean series scores exactly 1.0 and a damaged one
never rounds up to 1.0 (it gets at most 0.9999); an unsorted index is reported but not scored.

``N`` depends only on the calendar and the checked range, so corrupting a sound bar (invalid
values, OHLC violation), duplicating a row or removing a sound bar never raises the score.
Outliers and stale or zero-volume runs depend on neighbouring bars, so removing a bar can
clear such a flag. Dropping a corrupt bar (what ``repair`` does) turns its 3.0 penalty into a
1.0 missing bar, so repairing never lowers the score.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, NamedTuple

import pandas as pd

__all__ = ["CHECKS", "WEIGHTS", "Gap", "QualityReport", "compute_score"]

#: Every key of :attr:`QualityReport.checks`, in display order.
CHECKS: tuple[str, ...] = (
    "missing_bars",
    "gaps",
    "duplicates",
    "duplicates_exact",
    "duplicates_conflicting",
    "invalid_values",
    "nan_values",
    "inf_values",
    "negative_values",
    "zero_prices",
    "ohlc_violations",
    "outliers",
    "stale",
    "zero_volume",
    "off_calendar",
    "unsorted",
)

#: Penalty weight of each counted problem (see the module docstring).
WEIGHTS: dict[str, float] = {
    "missing_bars": 1.0,
    "invalid_values": 3.0,
    "ohlc_violations": 3.0,
    "duplicates_conflicting": 2.0,
    "outliers": 2.0,
    "duplicates_exact": 0.5,
    "off_calendar": 0.5,
    "stale": 0.5,
    "zero_volume": 0.25,
}


class Gap(NamedTuple):
    """A run of missing bars: open times of the first and last missing bar, and how many."""

    start: pd.Timestamp
    end: pd.Timestamp
    missing: int


def compute_score(checks: dict[str, int], expected_bars: int) -> float:
    """The quality score for ``checks`` (see the module docstring for the formula)."""
    denominator = max(expected_bars + checks.get("off_calendar", 0), 1)
    penalty = sum(w * checks.get(name, 0) for name, w in WEIGHTS.items()) / denominator
    raw = min(max(1.0 - penalty, 0.0), 1.0)
    score = round(raw, 4)
    return 0.9999 if score == 1.0 and penalty > 0 else score


def _ts(value: Any) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value).tz_convert("UTC")


def _iso(value: pd.Timestamp | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass
class QualityReport:
    """What :func:`tradedata.validation.validate` found.

    ``checks`` counts each problem (keys in :data:`CHECKS`); the lists name where they are:
    ``gaps`` (:class:`Gap` runs), ``outliers``, ``duplicates`` (timestamps that occur more
    than once; session/period keys for daily and longer timeframes) and ``ohlc_violations``.
    ``validation_errors`` says in words what is wrong; ``notes`` says what was not checked and
    why (no volume data, calendar range). ``start``/``end`` bound the range checked for gaps.
    """

    score: float
    timeframe: str
    calendar: str
    bars: int
    expected_bars: int
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    checks: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHECKS, 0))
    gaps: list[Gap] = field(default_factory=list)
    outliers: list[pd.Timestamp] = field(default_factory=list)
    duplicates: list[pd.Timestamp] = field(default_factory=list)
    ohlc_violations: list[pd.Timestamp] = field(default_factory=list)
    validation_errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    symbol: str | None = None

    @property
    def missing_bars(self) -> int:
        """Total bars missing over all gaps."""
        return sum(g.missing for g in self.gaps)

    @property
    def is_clean(self) -> bool:
        """True when no problem was found (an unsorted index is a problem too)."""
        return not self.validation_errors

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (timestamps as ISO 8601 strings)."""
        data: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        data["start"], data["end"] = _iso(self.start), _iso(self.end)
        data["gaps"] = [
            {"start": _iso(g.start), "end": _iso(g.end), "missing": int(g.missing)}
            for g in self.gaps
        ]
        for key in ("outliers", "duplicates", "ohlc_violations"):
            data[key] = [_iso(t) for t in getattr(self, key)]
        data["checks"] = {k: int(v) for k, v in self.checks.items()}
        data["validation_errors"] = list(self.validation_errors)
        data["notes"] = list(self.notes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QualityReport:
        """Rebuild a report from :meth:`to_dict` output."""
        values = dict(data)
        values["start"], values["end"] = _ts(values.get("start")), _ts(values.get("end"))
        values["gaps"] = [
            Gap(_ts(g["start"]), _ts(g["end"]), int(g["missing"])) for g in values.get("gaps", [])
        ]
        for key in ("outliers", "duplicates", "ohlc_violations"):
            values[key] = [_ts(t) for t in values.get(key, [])]
        values["checks"] = {k: int(v) for k, v in values.get("checks", {}).items()}
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in known})

    def __str__(self) -> str:
        return "\n".join(_summary_lines(self))


def _fmt(ts: pd.Timestamp | None, dates_only: bool = False) -> str:
    if ts is None:
        return "-"
    if dates_only:
        return ts.strftime("%Y-%m-%d")
    return ts.strftime("%Y-%m-%d %H:%M:%S" if ts.second else "%Y-%m-%d %H:%M")


def plural(count: int, noun: str) -> str:
    """``"1 gap"``, ``"3 gaps"`` (with thousands separators)."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _summary_lines(report: QualityReport) -> list[str]:
    name = f"{report.symbol} " if report.symbol else ""
    c = report.checks
    days = all(t is None or t == t.normalize() for t in (report.start, report.end))
    lines = [
        f"Quality report: {name}{report.timeframe} on {report.calendar} calendar",
        f"  range    {_fmt(report.start, days)} -> {_fmt(report.end, days)} UTC",
        f"  bars     {report.bars:,} rows, {report.expected_bars:,} expected",
        f"  score    {report.score:.4f}",
        f"  gaps     {c.get('gaps', 0):,} ({plural(c.get('missing_bars', 0), 'missing bar')})",
    ]
    if report.gaps:
        big = max(report.gaps, key=lambda g: g.missing)
        lines.append(
            f"           largest {_fmt(big.start, days)} -> {_fmt(big.end, days)} ({big.missing:,})"
        )
    counted = ", ".join(
        f"{k.replace('_', ' ')} {c.get(k, 0):,}"
        for k in ("duplicates", "invalid_values", "ohlc_violations", "outliers", "stale")
    )
    more = ", ".join(
        f"{k.replace('_', ' ')} {c.get(k, 0):,}" for k in ("zero_volume", "off_calendar")
    )
    lines += [f"  checks   {counted}", f"           {more}"]
    if report.validation_errors:
        lines.append("  problems")
        lines += [f"    - {e}" for e in report.validation_errors]
    else:
        lines.append("  no problems found")
    if report.notes:
        lines.append("  notes")
        lines += [f"    - {n}" for n in report.notes]
    return lines
