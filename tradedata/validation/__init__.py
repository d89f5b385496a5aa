"""Validate, score and repair OHLCV series.

* :func:`validate` checks a frame against its trading calendar (gaps that are not nights,
  weekends or holidays), duplicates, invalid values, OHLC violations, outliers, stale and
  zero-volume runs, and returns a :class:`QualityReport` with a score in [0, 1]
  (formula in :mod:`tradedata.validation.report`).
* :func:`repair` sorts, deduplicates and drops rows that cannot be bars; it fills gaps
  (flagging them in a ``filled`` column) only when asked.

Calendars (``"24/7"``, ``"24/5"``, ``"XNYS"`` ...) are resolved by :mod:`tradedata.calendars`.
"""

from __future__ import annotations

from tradedata.validation.prepare import infer_timeframe
from tradedata.validation.repairing import FILLED, repair
from tradedata.validation.report import CHECKS, WEIGHTS, Gap, QualityReport, compute_score
from tradedata.validation.validator import validate

__all__ = [
    "CHECKS",
    "FILLED",
    "WEIGHTS",
    "Gap",
    "QualityReport",
    "compute_score",
    "infer_timeframe",
    "repair",
    "validate",
]
