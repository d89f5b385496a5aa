"""``validate``: check an OHLCV series against its calendar, count problems and score it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tradedata.calendars import ExchangeTradingCalendar, TradingCalendar, resolve_calendar
from tradedata.errors import InputError
from tradedata.model import Timeframe, parse_range
from tradedata.validation.checks import (
    duplicate_flags,
    gap_runs,
    long_run_mask,
    ohlc_violation_mask,
    outlier_mask,
    sorted_isin,
    stale_mask,
    value_flags,
)
from tradedata.validation.prepare import Prepared, prepare, resolve_timeframe
from tradedata.validation.report import CHECKS, Gap, QualityReport, compute_score, plural

__all__ = ["ValidationOptions", "expected_keys", "validate"]

_ALIGNS = ("auto", "session", "epoch")


@dataclass(frozen=True)
class ValidationOptions:
    """Thresholds of the checks (the keyword arguments of :func:`validate`)."""

    outlier_threshold: float = 10.0
    outlier_min_return: float = 0.005
    zero_volume_run: int = 3
    stale_run: int | None = None
    align: str = "auto"

    def stale_min(self, timeframe: Timeframe) -> int:
        """Shortest stale run counted: ``stale_run``, else 10 intraday and 5 from 1d up."""
        if self.stale_run is not None:
            return self.stale_run
        return 10 if timeframe.unit in ("s", "m", "h") else 5


@dataclass
class _Findings:
    checks: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHECKS, 0))
    gaps: list[Gap] = field(default_factory=list)
    outliers: list[pd.Timestamp] = field(default_factory=list)
    duplicates: list[pd.Timestamp] = field(default_factory=list)
    ohlc_violations: list[pd.Timestamp] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    expected_bars: int = 0
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None


def _stamps(values: np.ndarray) -> list[pd.Timestamp]:
    return list(pd.to_datetime(np.asarray(values, dtype="int64"), unit="ns", utc=True))


def _stamp(value: int) -> pd.Timestamp:
    return pd.Timestamp(int(value), unit="ns", tz="UTC")


def validate(
    frame: pd.DataFrame,
    timeframe: str | Timeframe | None = None,
    calendar: Any = None,
    *,
    start: Any = None,
    end: Any = None,
    outlier_threshold: float = 10.0,
    outlier_min_return: float = 0.005,
    zero_volume_run: int = 3,
    stale_run: int | None = None,
    align: str = "auto",
) -> QualityReport:
    """Check an OHLCV frame and return a :class:`QualityReport` with a score in [0, 1].

    ``timeframe`` defaults to ``frame.attrs["timeframe"]``, else is inferred from the index.
    ``calendar`` is ``"24/7"``, ``"24/5"``, an exchange-calendars name (``"XNYS"``) or object,
    or ``None`` for the calendar of ``frame.attrs["symbol"]`` (24/7 when unknown); see
    :mod:`tradedata.calendars` for how bars are matched. Gaps are looked for between the first
    and last bar, widened to ``start``/``end`` when given (so a missing head or tail counts).

    Checks: gaps (missing expected bars), duplicate timestamps (exact copies vs conflicting
    rows), invalid values (NaN, inf, negative, zero price), OHLC violations, outliers (robust
    z-score of log close-to-close returns above ``outlier_threshold`` and a move above
    ``outlier_min_return``), stale runs (flat bars repeating the close, at least ``stale_run``
    bars: default 10 intraday, 5 otherwise), zero-volume runs (at least ``zero_volume_run``
    bars), bars off the calendar, and an unsorted index. ``align`` (``"auto"``, ``"session"``,
    ``"epoch"``) picks the intraday grid on exchanges; ``auto`` takes the one the bars follow.
    The score formula is in :mod:`tradedata.validation.report`. The frame is not modified.
    """
    if align not in _ALIGNS:
        raise InputError(f"align must be one of {', '.join(_ALIGNS)}, got {align!r}")
    tf = resolve_timeframe(frame, timeframe)
    symbol = frame.attrs.get("symbol")
    cal = resolve_calendar(calendar, symbol if isinstance(symbol, str) else None)
    req_start, req_end = parse_range(start, end)
    opts = ValidationOptions(
        outlier_threshold, outlier_min_return, zero_volume_run, stale_run, align
    )
    prep = prepare(frame, tf, cal)
    found = _Findings(notes=list(prep.notes))
    found.checks["unsorted"] = prep.unsorted
    invalid = _value_checks(prep, found)
    unique, unique_invalid = _duplicate_checks(prep, invalid, found)
    _sequence_checks(unique, ~unique_invalid, tf, opts, found)
    _calendar_checks(unique.keys, cal, tf, (req_start, req_end), opts.align, found)
    errors = _describe(found, cal.name, tf, opts)
    score = compute_score(found.checks, found.expected_bars)
    if len(prep.times) == 0 and req_start is None and req_end is None:
        errors.append("the frame has no bars")
        score = 0.0
    return _report(found, frame, tf, cal.name, errors, score)


def _report(
    found: _Findings,
    frame: pd.DataFrame,
    tf: Timeframe,
    calendar: str,
    errors: list[str],
    score: float,
) -> QualityReport:
    """The :class:`QualityReport` of ``frame`` from what the checks found."""
    symbol = frame.attrs.get("symbol")
    return QualityReport(
        score=score,
        timeframe=tf.name,
        calendar=calendar,
        bars=len(frame),
        expected_bars=found.expected_bars,
        start=found.start,
        end=found.end,
        checks=found.checks,
        gaps=found.gaps,
        outliers=found.outliers,
        duplicates=found.duplicates,
        ohlc_violations=found.ohlc_violations,
        validation_errors=errors,
        notes=found.notes,
        symbol=symbol if isinstance(symbol, str) else None,
    )


def _value_checks(prep: Prepared, found: _Findings) -> np.ndarray:
    """Count invalid values and OHLC violations over all rows; return the invalid rows."""
    flags = value_flags(prep.prices, prep.volume if prep.volume_known else None, prep.adj_close)
    invalid = flags.invalid
    checks = found.checks
    checks["nan_values"] = int(flags.nan.sum())
    checks["inf_values"] = int(flags.inf.sum())
    checks["negative_values"] = int(flags.negative.sum())
    checks["zero_prices"] = int(flags.zero_price.sum())
    checks["invalid_values"] = int(invalid.sum()) + prep.bad_times
    violations = ohlc_violation_mask(*prep.prices) & ~invalid
    checks["ohlc_violations"] = int(violations.sum())
    if checks["ohlc_violations"]:
        found.ohlc_violations = _stamps(np.unique(prep.times[violations]))
    return invalid


def _duplicate_checks(
    prep: Prepared, invalid: np.ndarray, found: _Findings
) -> tuple[Prepared, np.ndarray]:
    """Count rows repeating a bar key; return the last row of each key (and its validity)."""
    duplicate, exact = duplicate_flags(prep.keys, prep.columns)
    checks = found.checks
    checks["duplicates"] = int(duplicate.sum())
    checks["duplicates_exact"] = int(exact.sum())
    checks["duplicates_conflicting"] = checks["duplicates"] - checks["duplicates_exact"]
    if not checks["duplicates"]:
        return prep, invalid
    found.duplicates = _stamps(np.unique(prep.keys[duplicate]))
    last = np.ones(len(prep.keys), dtype=bool)
    last[:-1] = ~duplicate[1:]
    return prep.take(last), invalid[last]


def _sequence_checks(
    prep: Prepared, valid: np.ndarray, tf: Timeframe, opts: ValidationOptions, found: _Findings
) -> None:
    """Outliers, stale runs and zero-volume runs over the valid bars, in time order."""
    everything = bool(valid.all())
    open_, high, low, close = (c if everything else c[valid] for c in prep.prices)
    times = prep.times if everything else prep.times[valid]
    breaks = None
    if tf.unit in ("s", "m", "h") and len(times) > 1:
        breaks = np.diff(times) > tf.seconds * 1_000_000_000
    outliers = outlier_mask(close, opts.outlier_threshold, opts.outlier_min_return, breaks)
    found.checks["outliers"] = int(outliers.sum())
    found.outliers = _stamps(times[outliers])
    stale = stale_mask(open_, high, low, close, opts.stale_min(tf))
    found.checks["stale"] = int(stale.sum())
    if prep.volume_known and prep.volume_traded:
        volume = prep.volume if everything else prep.volume[valid]
        zero = long_run_mask(volume == 0, opts.zero_volume_run)
        found.checks["zero_volume"] = int(zero.sum())


def _range(
    keys: np.ndarray, cal: TradingCalendar, tf: Timeframe, requested: tuple[Any, Any]
) -> tuple[int, int] | None:
    """The key range to check: first to last bar, widened to the requested start/end."""
    bounds = [int(keys[0]), int(keys[-1])] if len(keys) else []
    for ts in requested:
        if ts is not None:
            bounds.append(int(cal.bar_keys(np.array([ts.value], dtype="int64"), tf)[0]))
    return (min(bounds), max(bounds)) if bounds else None


def _calendar_checks(
    keys: np.ndarray,
    cal: TradingCalendar,
    tf: Timeframe,
    requested: tuple[Any, Any],
    align: str,
    found: _Findings,
) -> None:
    """Gaps (expected keys missing) and off-calendar bars (keys not expected)."""
    bounds = _range(keys, cal, tf, requested)
    if bounds is None:
        return
    found.start, found.end = _stamp(bounds[0]), _stamp(bounds[1])
    lo, hi = cal.coverage(*bounds)
    if (lo, hi) != bounds:
        found.notes.append(
            f"the {cal.name} calendar covers {_stamp(lo).date()} to {_stamp(hi).date()} only:"
            " bars outside were not checked for gaps"
        )
    expected = expected_keys(cal, tf, lo, hi, keys, align)
    found.expected_bars = len(expected)
    starts, lengths = gap_runs(expected, keys)
    found.gaps = [
        Gap(_stamp(expected[s]), _stamp(expected[s + n - 1]), int(n))
        for s, n in zip(starts.tolist(), lengths.tolist(), strict=True)
    ]
    found.checks["gaps"] = len(found.gaps)
    found.checks["missing_bars"] = int(lengths.sum())
    inside = keys[(keys >= lo) & (keys <= hi)]
    off = ~sorted_isin(inside, expected)
    if off.any():
        off &= ~cal.allowed(inside, tf)
    found.checks["off_calendar"] = int(off.sum())


def expected_keys(
    cal: TradingCalendar, tf: Timeframe, lo: int, hi: int, keys: np.ndarray, align: str
) -> np.ndarray:
    """Expected keys in ``[lo, hi]``; ``align="auto"`` picks the grid ``keys`` follow best."""
    if align != "auto":
        return cal.expected_keys(tf, lo, hi, align)  # type: ignore[arg-type]
    session = cal.expected_keys(tf, lo, hi, "session")
    if (
        not isinstance(cal, ExchangeTradingCalendar)
        or tf.unit not in ("s", "m", "h")
        or len(keys) == 0
    ):
        return session
    hits = sorted_isin(keys, session).mean()
    if hits >= 0.5:
        return session
    epoch = cal.expected_keys(tf, lo, hi, "epoch")
    return epoch if sorted_isin(keys, epoch).mean() > hits else session


def when(ts: pd.Timestamp) -> str:
    """A bar time as the chart's axis and the text report write it: ``2026-12-04 15:00`` (UTC;
    seconds only when they are not zero)."""
    t = ts.tz_convert("UTC") if ts.tzinfo is not None else ts
    return t.strftime("%Y-%m-%d %H:%M:%S" if t.second or t.microsecond else "%Y-%m-%d %H:%M")


def _first(values: list[pd.Timestamp]) -> str:
    return f", first at {when(values[0])}" if values else ""


def _describe(found: _Findings, calendar: str, tf: Timeframe, opts: ValidationOptions) -> list[str]:
    """Short human sentences for each problem found."""
    c = found.checks
    out = []
    if c["missing_bars"]:
        big = max(found.gaps, key=lambda g: g.missing)
        out.append(
            f"{plural(c['missing_bars'], 'missing bar')} in {plural(c['gaps'], 'gap')}"
            f" (largest: {big.missing:,}"
            f" from {when(big.start)} to {when(big.end)} UTC)"
        )
    if c["duplicates"]:
        out.append(
            f"{plural(c['duplicates'], 'duplicate row')} ({c['duplicates_exact']:,} exact,"
            f" {c['duplicates_conflicting']:,} conflicting){_first(found.duplicates)}"
        )
    if c["invalid_values"]:
        out.append(
            f"{plural(c['invalid_values'], 'row')} with invalid values (NaN {c['nan_values']:,},"
            f" inf {c['inf_values']:,}, negative {c['negative_values']:,},"
            f" zero price {c['zero_prices']:,})"
        )
    if c["ohlc_violations"]:
        out.append(
            f"{plural(c['ohlc_violations'], 'OHLC violation')}"
            " (high/low inconsistent with open/close)"
            f"{_first(found.ohlc_violations)}"
        )
    if c["outliers"]:
        out.append(
            f"{plural(c['outliers'], 'outlier bar')} (robust z-score of returns above"
            f" {opts.outlier_threshold:g}){_first(found.outliers)}"
        )
    sentences = {
        "stale": f"in stale runs (flat, close unchanged for >= {opts.stale_min(tf)} bars)",
        "zero_volume": f"in zero-volume runs (>= {opts.zero_volume_run} bars)",
        "off_calendar": f"off the {calendar} calendar for {tf.name}",
    }
    out += [f"{plural(c[key], 'bar')} {text}" for key, text in sentences.items() if c[key]]
    if c["unsorted"]:
        out.append(f"index not sorted ({plural(c['unsorted'], 'step')} back in time)")
    return out
