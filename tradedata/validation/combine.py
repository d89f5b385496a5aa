"""One quality report for a frame from the reports of its consecutive pieces.

The cache validates each year partition when it is written and keeps the report with it; a read
of many partitions then needs the reports joined, not the whole frame validated again.
:func:`combine` joins them and makes the seams exact:

- row checks (invalid values, OHLC violations, duplicates) and bar counts add up;
- the bars missing between one piece's last bar and the next piece's first bar are a gap of
  their own (the expected bars of the calendar there are added to ``expected_bars``);
- stale and zero-volume runs that cross a seam are counted as one run, from the bars on either
  side of the seam (``SEAM_BARS`` each way);
- the return across a seam (last bar of a piece to the first bar of the next) is scored for
  outliers against the returns of the ``SEAM_BARS`` bars on either side.

Outliers are otherwise scored within each piece (a year of bars for the cache): the robust
z-score of a return is taken against its own piece's returns, not those of the whole range.
:func:`combine` returns None where joining cannot be exact (intraday bars on an exchange
calendar, whose grid is chosen per frame; pieces with off-calendar bars, invalid rows or
without volume data); the caller validates the frame instead.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from tradedata.calendars import ExchangeTradingCalendar, TradingCalendar
from tradedata.model import Timeframe
from tradedata.validation.checks import long_run_mask, outlier_mask, stale_mask
from tradedata.validation.report import CHECKS, Gap, QualityReport, compute_score
from tradedata.validation.validator import ValidationOptions, _describe, _Findings, _report

__all__ = ["SEAM_BARS", "Piece", "combine"]

#: Bars on each side of a seam used to join runs and score the return across it.
SEAM_BARS = 2000

#: ``(first row, end row, report)``: rows ``[first, end)`` of the frame and their report.
Piece = tuple[int, int, QualityReport]

_ROW_LISTS = ("outliers", "duplicates", "ohlc_violations")


def _joinable(pieces: Sequence[Piece], tf: Timeframe, cal: TradingCalendar) -> bool:
    if isinstance(cal, ExchangeTradingCalendar) and tf.unit in ("s", "m", "h"):
        return False
    for lo, hi, rep in pieces:
        c = rep.checks
        if hi <= lo or rep.bars != hi - lo or rep.timeframe != tf.name:
            return False
        if rep.calendar != cal.name or c.get("off_calendar") or c.get("invalid_values"):
            return False
        if c.get("duplicates") or c.get("unsorted") or any("volume" in n for n in rep.notes):
            return False
    return True


def combine(
    frame: pd.DataFrame, pieces: Sequence[Piece], timeframe: Timeframe, calendar: TradingCalendar
) -> QualityReport | None:
    """The report of ``frame`` joined from its pieces' reports (see the module docstring).

    ``pieces`` cover the rows of ``frame`` in order, without overlap; ``frame`` is sorted with
    unique times (as the cache returns it). None when the join cannot be exact.
    """
    if not pieces or not _joinable(pieces, timeframe, calendar):
        return None
    if pieces[0][0] != 0 or pieces[-1][1] != len(frame):
        return None
    if any(a[1] != b[0] for a, b in itertools.pairwise(pieces)):
        return None
    opts = ValidationOptions()
    found = _Findings()
    for _lo, _hi, rep in pieces:
        for key in CHECKS:
            found.checks[key] += int(rep.checks.get(key, 0))
        found.gaps += rep.gaps
        for key in _ROW_LISTS:
            getattr(found, key).extend(getattr(rep, key))
        found.notes += [n for n in rep.notes if n not in found.notes]
        found.expected_bars += rep.expected_bars
    found.start, found.end = pieces[0][2].start, pieces[-1][2].end
    times = frame.index.asi8
    columns = {c: frame[c].to_numpy(dtype="float64") for c in ("open", "high", "low", "close")}
    volume = frame["volume"].to_numpy(dtype="float64")
    for piece in pieces[1:]:
        if not _seam(piece[0], times, columns, volume, timeframe, calendar, opts, found):
            return None
    found.gaps.sort(key=lambda g: g.start)
    found.outliers.sort()
    found.checks["gaps"] = len(found.gaps)
    found.checks["missing_bars"] = sum(g.missing for g in found.gaps)
    errors = _describe(found, calendar.name, timeframe, opts)
    score = compute_score(found.checks, found.expected_bars)
    return _report(found, frame, timeframe, calendar.name, errors, score)


def _seam(
    at: int,
    times: np.ndarray,
    columns: dict[str, np.ndarray],
    volume: np.ndarray,
    tf: Timeframe,
    cal: TradingCalendar,
    opts: ValidationOptions,
    found: _Findings,
) -> bool:
    """Account for the seam before row ``at``; False when it cannot be done exactly."""
    keys = cal.bar_keys(times[at - 1 : at + 1].copy(), tf)
    expected = cal.expected_keys(tf, int(keys[0]), int(keys[1]), "session")
    between = expected[(expected > keys[0]) & (expected < keys[1])]
    found.expected_bars += len(between)
    if len(between):
        stamp = pd.Timestamp
        first, last = stamp(int(between[0]), tz="UTC"), stamp(int(between[-1]), tz="UTC")
        found.gaps.append(Gap(first, last, len(between)))
    lo, hi = max(0, at - SEAM_BARS), min(len(times), at + SEAM_BARS)
    o, h, low, c = (columns[k][lo:hi] for k in ("open", "high", "low", "close"))
    split = at - lo
    counts = []
    stale_min = opts.stale_min(tf)
    for part in (slice(0, None), slice(0, split), slice(split, None)):
        stale = stale_mask(o[part], h[part], low[part], c[part], stale_min)
        zero = long_run_mask(volume[lo:hi][part] == 0, opts.zero_volume_run)
        if part.start == 0 and part.stop is None and (stale[[0, -1]].any() or zero[[0, -1]].any()):
            return False  # a run reaches the window's edge: too long to join here
        counts.append((int(stale.sum()), int(zero.sum())))
    found.checks["stale"] += counts[0][0] - counts[1][0] - counts[2][0]
    found.checks["zero_volume"] += counts[0][1] - counts[1][1] - counts[2][1]
    breaks = None
    if tf.unit in ("s", "m", "h") and hi - lo > 1:
        breaks = np.diff(times[lo:hi]) > tf.seconds * 1_000_000_000
    flags = outlier_mask(c, opts.outlier_threshold, opts.outlier_min_return, breaks)
    if flags[split]:
        stamp_at = pd.Timestamp(int(times[at]), tz="UTC")
        found.outliers.append(stamp_at)
        found.checks["outliers"] += 1
    return True
