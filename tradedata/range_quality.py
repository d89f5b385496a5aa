"""The quality report of a range read from the cache, from the reports kept with its partitions.

Each year partition is validated when it is written (:func:`quality_summary` is what the cache
keeps in the partition's ``data_quality``, the full report included when it is small). A read
then needs no second validation of what it returns: :func:`range_report` takes the stored
report of every partition the range holds whole, validates only the partial partitions at the
range's ends, and joins the pieces with :func:`tradedata.validation.combine.combine` (exact at
the seams between years; outliers are judged within their year). Where a join cannot be exact
the frame is validated as a whole, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tradedata.calendars import resolve_calendar
from tradedata.model import Timeframe
from tradedata.validation import QualityReport
from tradedata.validation.combine import Piece, combine

if TYPE_CHECKING:
    from tradedata.cache.interface import Store

__all__ = ["STORED_ENTRIES", "quality_summary", "range_report"]

#: Largest number of listed timestamps (gaps, outliers, duplicates, violations) a stored report
#: may hold; a partition with more is validated again when read (its report is not kept).
STORED_ENTRIES = 200
#: ``fresh(metadata)``: whether a partition's stored report still holds
Fresh = Callable[[dict[str, Any]], bool]


def quality_summary(report: QualityReport) -> dict[str, Any]:
    """The ``data_quality`` block stored in partition metadata."""
    summary: dict[str, Any] = {
        "score": report.score,
        "validation_errors": list(report.validation_errors),
        "gaps": len(report.gaps),
        "duplicates": int(report.checks.get("duplicates", 0)),
    }
    listed = len(report.gaps) + len(report.outliers)
    listed += len(report.duplicates) + len(report.ohlc_violations)
    if listed <= STORED_ENTRIES:
        summary["report"] = report.to_dict()
    return summary


def _ns(value: Any) -> int | None:
    try:
        return int(pd.Timestamp(value).value)
    except (TypeError, ValueError):
        return None


def _stored(
    meta: dict | None, first: int, last: int, bars: int, fresh: Fresh | None = None
) -> QualityReport | None:
    """The partition's stored report, when it describes exactly these bars (and ``fresh``
    accepts it)."""
    if not isinstance(meta, dict) or meta.get("bars") != bars:
        return None
    if fresh is not None and not fresh(meta):
        return None
    if _ns(meta.get("first")) != first or _ns(meta.get("last")) != last:
        return None
    quality = meta.get("data_quality")
    data = quality.get("report") if isinstance(quality, dict) else None
    if not isinstance(data, dict):
        return None
    try:
        report = QualityReport.from_dict(data)
    except (KeyError, TypeError, ValueError):
        return None
    return report if report.bars == bars else None


def _year_start(year: int) -> int:
    return int(np.datetime64(f"{year:04d}-01-01", "ns").astype(np.int64))


def range_report(
    cache: Store,
    frame: pd.DataFrame,
    symbol: str,
    tf: Timeframe,
    calendar: str,
    validate: Callable[[pd.DataFrame], QualityReport],
    source: str | None = None,
    fresh: Fresh | None = None,
) -> QualityReport:
    """The report of ``frame`` (bars of the ``source`` series of ``symbol`` read from
    ``cache``); see the module doc.

    ``validate(part)`` validates a part of the frame (or the whole) the way partitions were.
    ``fresh(metadata)`` (optional) says whether a partition's stored report still holds (an
    equity's judged with other splits than the current ones does not, see
    :mod:`tradedata.rescoring`); a year it refuses is validated again.
    """
    times = frame.index.asi8
    if len(times) == 0:
        return validate(frame)
    pieces: list[Piece] = []
    stored = 0
    for year in cache.years(symbol, tf.name, source=source):
        lo = int(np.searchsorted(times, _year_start(year)))
        hi = int(np.searchsorted(times, _year_start(year + 1)))
        if hi <= lo:
            continue
        meta = cache.metadata(symbol, tf.name, year, source=source)
        report = _stored(meta, int(times[lo]), int(times[hi - 1]), hi - lo, fresh)
        if report is None:
            report = validate(frame.iloc[lo:hi])
        else:
            stored += 1
        pieces.append((lo, hi, report))
    if not stored:
        return validate(frame)
    if len(pieces) == 1 and pieces[0][:2] == (0, len(frame)):
        report = pieces[0][2]
        report.symbol = symbol
        return report
    joined = combine(frame, pieces, tf, resolve_calendar(calendar))
    if joined is None:
        return validate(frame)
    joined.symbol = symbol
    return joined
