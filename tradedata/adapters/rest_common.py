"""Paging and frame helpers shared by the REST providers.

* :class:`Continuations`: cursors of paged requests (Alpaca's ``next_page_token``, Polygon's
  ``next_url``, Alpha Vantage's next month), keyed by where the base class will ask next.
* :func:`fetch_windows`: for APIs that limit the time range of one request.
* :func:`local_to_utc`, :func:`session_labels`, :func:`row_columns` and :func:`bars_frame`:
  turning a provider's rows into an OHLCV frame.

:mod:`tradedata.adapters.http` re-exports every public name here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

import pandas as pd

from tradedata.adapters.base import Page
from tradedata.model import Timeframe, empty_frame, normalize_frame

__all__ = [
    "OHLCV_KEYS",
    "OHLCV_LETTERS",
    "Continuations",
    "bars_frame",
    "fetch_windows",
    "local_to_utc",
    "row_columns",
    "session_labels",
]

#: the OHLCV columns, each read from the row field of the same name
OHLCV_KEYS: Mapping[str, str] = {c: c for c in ("open", "high", "low", "close", "volume")}
#: the OHLCV columns read from one-letter fields ``o h l c v`` (Alpaca, Polygon)
OHLCV_LETTERS: Mapping[str, str] = {c: c[0] for c in OHLCV_KEYS}


class Continuations:
    """Cursors of paged requests, keyed by where the base class will ask next.

    A provider whose API pages with a token (Alpaca's ``next_page_token``, Polygon's
    ``next_url``) returns one page per :meth:`Provider.fetch_page` and stores the cursor under
    ``(symbol, timeframe, next since, until)``; the base's next call with exactly that key picks
    it up, so every page goes through :meth:`Provider.call` on its own.
    """

    def __init__(self, maxsize: int = 64) -> None:
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._maxsize = maxsize

    def put(self, key: Hashable, cursor: Any) -> None:
        """Remember ``cursor`` for ``key`` (the oldest entries are dropped past ``maxsize``)."""
        with self._lock:
            self._items[key] = cursor
            while len(self._items) > self._maxsize:
                self._items.popitem(last=False)

    def pop(self, key: Hashable) -> Any:
        """The cursor stored for ``key`` (removed), or None."""
        with self._lock:
            return self._items.pop(key, None)

    def resume(
        self, symbol: str, timeframe: Timeframe, since: pd.Timestamp, until: pd.Timestamp
    ) -> Any:
        """The cursor a previous page left for this request (removed), or None."""
        return self.pop((symbol, timeframe.name, since, until))

    def follow(
        self,
        symbol: str,
        timeframe: Timeframe,
        frame: pd.DataFrame,
        until: pd.Timestamp,
        cursor: Any,
    ) -> None:
        """Keep ``cursor`` for the request that starts after the last bar of ``frame``."""
        key = (symbol, timeframe.name, timeframe.next_open(frame.index[-1]), until)
        self.put(key, cursor)


def fetch_windows(
    fetch: Callable[[pd.Timestamp, pd.Timestamp], pd.DataFrame],
    since: pd.Timestamp,
    until: pd.Timestamp,
    span: pd.Timedelta,
) -> Page:
    """Fetch ``[since, until]`` in windows of at most ``span`` until one holds bars.

    For APIs that limit the range of one request: empty windows (holidays) are skipped inside
    one call, and the page is complete when the last window reached ``until``.
    """
    start = since
    while True:
        end = min(until, start + span)
        frame = fetch(start, end)
        if len(frame):
            frame = frame[(frame.index >= start) & (frame.index <= end)]
        if len(frame) or end >= until:
            return Page(frame, complete=end >= until)
        start = end + pd.Timedelta(seconds=1)


# -- time helpers ---------------------------------------------------------------------------------
def local_to_utc(values: Iterable[Any], tz: str) -> pd.DatetimeIndex:
    """Naive local wall-clock times (strings or datetimes) in ``tz`` as a UTC index.

    Times that do not exist or are ambiguous at a DST switch (no exchange trades then) become
    NaT; callers drop those rows.
    """
    index = pd.DatetimeIndex(pd.to_datetime(list(values)))
    if index.tz is None:
        index = index.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    return index.tz_convert("UTC")


def session_labels(
    values: Iterable[Any], timeframe: Timeframe, tz: str | None = None
) -> pd.DatetimeIndex:
    """Bar labels for daily and longer bars: the session date at 00:00 UTC.

    ``values`` are dates or timestamps; aware timestamps are first converted to ``tz`` (the
    exchange's zone) so that e.g. Alpaca's ``05:00Z`` means the New York date. Weekly and
    monthly bars are labelled by the start of their period (Monday, first of month), whatever
    day the provider used (Tiingo and Alpha Vantage label by the period's last trading day).
    """
    index = pd.DatetimeIndex(pd.to_datetime(list(values)))
    if index.tz is not None:
        index = index.tz_convert(tz or "UTC").tz_localize(None)
    days = index.normalize().tz_localize("UTC")
    if timeframe.unit in ("w", "M"):
        days = pd.DatetimeIndex([timeframe.floor(d) for d in days])
    return pd.DatetimeIndex(days, name="timestamp")


# -- frames ---------------------------------------------------------------------------------------
def row_columns(
    rows: Iterable[Mapping[str, Any]], keys: Mapping[str, str] = OHLCV_KEYS
) -> dict[str, list[Any]]:
    """Columns read from row objects: ``{column: [row[field] ...]}`` for ``keys`` column->field.

    A missing field reads as None (NaN once :func:`bars_frame` coerces it).
    """
    rows = list(rows)
    return {column: [r.get(field) for r in rows] for column, field in keys.items()}


def bars_frame(index: pd.DatetimeIndex, columns: Mapping[str, Iterable[Any]]) -> pd.DataFrame:
    """An OHLCV frame from a UTC index and columns; rows with a NaT time are dropped."""
    frame = pd.DataFrame(
        {
            k: pd.to_numeric(pd.Series(list(v)), errors="coerce").to_numpy(dtype="float64")
            for k, v in columns.items()
        }
    )
    frame.index = pd.DatetimeIndex(index, name="timestamp")
    frame = frame[~frame.index.isna()]
    return normalize_frame(frame) if len(frame) else empty_frame(adj_close="adj_close" in columns)
