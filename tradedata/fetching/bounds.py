"""Where a requested range may start and end: the storable years and the default depth.

Bars are stored for the years 1678..2261, the whole years inside int64 nanoseconds: a range is
clipped to them (:func:`storable_range`), and a range starting in the future is an error. A
request that names no start reaches :data:`DEFAULT_BARS` bars back (:func:`bars_before`).
"""

from __future__ import annotations

import pandas as pd

from tradedata.errors import InvalidDateRangeError
from tradedata.model import Timeframe

__all__ = ["DEFAULT_BARS", "FIRST_BAR", "LAST_BAR", "bars_before", "storable_range"]

#: Bars fetched when neither the cache nor the caller says where to start.
DEFAULT_BARS = 1000

#: Bars are stored for the years 1678..2261 (whole years inside int64 nanoseconds).
FIRST_BAR = pd.Timestamp("1678-01-01", tz="UTC")
LAST_BAR = pd.Timestamp("2262-01-01", tz="UTC") - pd.Timedelta(1, "ns")
#: How far a range may start after this machine's clock (clocks of exchanges drift a little).
_FUTURE_SLACK = pd.Timedelta(days=1)


def bars_before(end: pd.Timestamp, tf: Timeframe, bars: int) -> pd.Timestamp:
    """``bars`` bars of ``tf`` before ``end``, no earlier than the first storable year."""
    try:
        return max(end - tf.delta * bars, FIRST_BAR)
    except (OverflowError, ValueError):  # reaches before 1677: int64 nanoseconds overflow
        return FIRST_BAR


def storable_range(
    s: pd.Timestamp | None, e: pd.Timestamp | None
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The range clipped to the storable years; a range starting in the future is an error."""
    now = pd.Timestamp.now(tz="UTC")
    if s is not None and s > now + _FUTURE_SLACK:
        raise InvalidDateRangeError(
            f"the range starts in the future ({s:%Y-%m-%d %H:%M} UTC; now is "
            f"{now:%Y-%m-%d %H:%M} UTC): no bars exist yet"
        )
    if e is not None and e < FIRST_BAR:
        raise InvalidDateRangeError(f"the range ends before {FIRST_BAR:%Y-%m-%d}: nothing stored")
    s = None if s is None else max(s, FIRST_BAR)
    e = None if e is None else min(e, LAST_BAR)
    return s, e
