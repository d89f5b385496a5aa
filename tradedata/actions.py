"""Corporate actions and price adjustment: pure functions, no I/O.

The store keeps equities **as traded** (the prices and volumes printed that day) plus the
splits and cash dividends of each symbol (:class:`CorporateActions`). Adjusted series are
computed on read (:func:`adjust`), so a split learnt later re-adjusts the whole history
without fetching a single candle, and bars from providers of different bases stitch into one
continuous series once each answer was put back on the as-traded basis (:func:`to_as_traded`).

Modes (``get_ohlcv(..., adjust=...)``):

* ``"raw"``: as traded.
* ``"splits"`` (the default, what Yahoo's chart shows): prices divided by the product of the
  ratios of every split after the bar; volumes multiplied by it (a 4:1 split turns 100 shares
  at $400 into 400 shares at $100).
* ``"all"``: split-adjusted and, for each cash dividend after the bar, prices multiplied by
  ``1 - amount / close before the ex-date`` (the CRSP method Yahoo's ``Adj Close`` uses);
  volumes as in ``"splits"``.

A price basis (:data:`BASES`) names what a provider serves: ``"raw"``, ``"splits"`` or
``"all"``. Splits are keyed by their ex-date (the first session on the new basis); a bar is
adjusted for a split when its session date is before the ex-date.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tradedata.errors import InputError, PriceBasisError
from tradedata.model import ADJ_CLOSE, Timeframe

__all__ = [
    "ADJUST_MODES",
    "BASES",
    "DEFAULT_ADJUST",
    "CorporateActions",
    "adjust",
    "bar_dates",
    "check_mode",
    "dividend_factors",
    "split_factors",
    "to_as_traded",
]

#: the read modes of :func:`adjust`
ADJUST_MODES = ("splits", "all", "raw")
#: what users of Yahoo-like data expect: split-adjusted OHLC (see the README)
DEFAULT_ADJUST = "splits"
#: price bases a provider may serve
BASES = ("raw", "splits", "all")
_PRICES = ("open", "high", "low", "close")


def check_mode(mode: str) -> str:
    """``mode`` if it is one of :data:`ADJUST_MODES`, else :class:`InputError`."""
    if mode not in ADJUST_MODES:
        raise InputError(f"adjust must be one of {', '.join(ADJUST_MODES)}; got {mode!r}")
    return mode


def _series(values: Any) -> pd.Series:
    """A float Series indexed by naive-free UTC midnight ex-dates, sorted, zeros dropped."""
    s = pd.Series(values, dtype="float64").dropna() if values is not None else pd.Series()
    s = s.astype("float64")
    s = s[s > 0]
    idx = pd.DatetimeIndex(s.index)
    idx = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
    out = pd.Series(s.to_numpy(), index=idx.normalize().rename("ex_date"), dtype="float64")
    out = out[~out.index.duplicated(keep="last")]
    return out.sort_index()


@dataclass(frozen=True)
class CorporateActions:
    """Splits (ratio, 4.0 for a 4-for-1) and cash dividends (as-traded amount per share).

    Both Series are indexed by ex-date (UTC midnight). ``checked_at`` is when a provider last
    confirmed the list (None: never), ``source`` which provider it was.
    """

    splits: pd.Series = field(default_factory=lambda: _series(None))
    dividends: pd.Series = field(default_factory=lambda: _series(None))
    checked_at: pd.Timestamp | None = None
    source: str | None = None
    #: the earliest ex-date the provider was asked about (None: from the beginning)
    since: pd.Timestamp | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "splits", _series(self.splits))
        object.__setattr__(self, "dividends", _series(self.dividends))

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (read back with :meth:`from_json`)."""
        return {
            "splits": [[f"{d:%Y-%m-%d}", float(r)] for d, r in self.splits.items()],
            "dividends": [[f"{d:%Y-%m-%d}", float(a)] for d, a in self.dividends.items()],
            "checked_at": None if self.checked_at is None else self.checked_at.isoformat(),
            "source": self.source,
            "since": None if self.since is None else self.since.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CorporateActions:
        """The record :meth:`to_json` wrote (``ValueError`` when it is not one)."""

        def series(rows: Any) -> pd.Series:
            rows = list(rows or [])
            index = pd.DatetimeIndex([pd.Timestamp(d) for d, _ in rows])
            return pd.Series([float(v) for _, v in rows], index=index, dtype="float64")

        checked, since = data.get("checked_at"), data.get("since")
        return cls(
            series(data.get("splits")),
            series(data.get("dividends")),
            None if checked is None else pd.Timestamp(checked).tz_convert("UTC"),
            data.get("source"),
            None if since is None else pd.Timestamp(since).tz_convert("UTC"),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CorporateActions) and self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(str(self.to_json()))


def bar_dates(index: pd.DatetimeIndex, timeframe: Timeframe, tz: str) -> pd.DatetimeIndex:
    """The session date (UTC midnight) of each bar: daily and longer bars are labelled by it;
    intraday bars take their date in the exchange's zone ``tz``."""
    idx = pd.DatetimeIndex(index)
    if timeframe.unit in ("m", "h", "s"):
        local = idx.tz_convert(tz).tz_localize(None).normalize()
        return local.tz_localize("UTC")
    return idx.tz_convert("UTC").normalize()


def split_factors(dates: pd.DatetimeIndex, splits: pd.Series) -> np.ndarray:
    """For each session date, the product of the ratios of the splits with a later ex-date."""
    if splits.empty or len(dates) == 0:
        return np.ones(len(dates))
    ordered = _series(splits)
    suffix = np.append(np.cumprod(ordered.to_numpy()[::-1])[::-1], 1.0)
    pos = np.searchsorted(ordered.index.asi8, pd.DatetimeIndex(dates).asi8, side="right")
    return np.asarray(suffix[pos], dtype="float64")


def to_as_traded(
    frame: pd.DataFrame, actions: CorporateActions, basis: str, dates: pd.DatetimeIndex
) -> pd.DataFrame:
    """A provider's answer on ``basis`` turned back into as-traded bars.

    ``"splits"`` answers are multiplied back by the split factors (volumes divided);
    ``"all"`` answers cannot be undone exactly and raise :class:`PriceBasisError`.
    ``adj_close`` (the provider's own dividend-adjusted close) is put on the same share basis.
    """
    if basis == "raw" or frame.empty:
        return frame
    if basis != "splits":
        raise PriceBasisError(f"bars on the {basis!r} basis cannot be turned back into as traded")
    factor = split_factors(dates, actions.splits)
    out = frame.copy()
    for col in (*_PRICES, ADJ_CLOSE):
        if col in out.columns:
            out[col] = out[col].to_numpy() * factor
    out["volume"] = out["volume"].to_numpy() / factor
    return out


def dividend_factors(
    dates: pd.DatetimeIndex,
    dividends: pd.Series,
    close_before: Callable[[pd.Timestamp], float | None],
) -> tuple[np.ndarray, list[pd.Timestamp]]:
    """For each date, the product of ``1 - amount / close before the ex-date`` over later
    dividends; also the ex-dates left out because no close before them is known."""
    factor = np.ones(len(dates))
    missing: list[pd.Timestamp] = []
    stamps = pd.DatetimeIndex(dates).asi8
    for ex_date, amount in _series(dividends).items():
        if not (stamps < ex_date.value).any():
            continue
        prev = close_before(ex_date)
        if prev is None or not np.isfinite(prev) or prev <= amount:
            missing.append(ex_date)
            continue
        factor[stamps < ex_date.value] *= 1.0 - amount / prev
    return factor, missing


def adjust(
    frame: pd.DataFrame,
    actions: CorporateActions,
    mode: str,
    dates: pd.DatetimeIndex,
    close_before: Callable[[pd.Timestamp], float | None] | None = None,
    *,
    own_closes: bool = True,
) -> tuple[pd.DataFrame, list[str]]:
    """As-traded ``frame`` adjusted for ``mode``; also notes of what could not be applied.

    ``dates`` are the bars' session dates (:func:`bar_dates`); ``close_before(ex_date)`` gives
    the as-traded close of the last session before an ex-date outside ``frame`` (``"all"``),
    from the frame's own market. ``own_closes=False`` marks a frame that is **already split
    adjusted** (bars an older version stored adjusted): its closes are not as traded, so
    ``close_before`` is asked for every ex-date, and no split is applied again (``"splits"``
    and ``"raw"`` give its bars as they are, ``"all"`` applies the dividends only).
    An ``adj_close`` column, when present, becomes the fully adjusted close in every mode.
    """
    check_mode(mode)
    if frame.empty:
        return frame, []
    out = frame.copy()
    splits = split_factors(dates, actions.splits) if own_closes else np.ones(len(frame))
    raw_close = frame["close"].to_numpy(dtype="float64")
    notes: list[str] = []
    divs = np.ones(len(frame))
    if mode == "all" or ADJ_CLOSE in frame.columns:
        stamps = pd.DatetimeIndex(dates).asi8

        def lookup(ex_date: pd.Timestamp) -> float | None:
            # the frame's own close only when it reaches the ex-date (no session missing
            # between its last bar before the ex-date and the ex-date)
            before = np.flatnonzero(stamps < ex_date.value)
            if own_closes and before.size and stamps[-1] >= ex_date.value:
                return float(raw_close[before[-1]])
            return close_before(ex_date) if close_before is not None else None

        divs, missing = dividend_factors(dates, actions.dividends, lookup)
        if missing:
            shown = ", ".join(f"{d:%Y-%m-%d}" for d in missing[:3])
            notes.append(f"dividends not applied (no close before the ex-date): {shown}")
    if mode != "raw":
        price = 1.0 / splits if mode == "splits" else divs / splits
        for col in _PRICES:
            out[col] = frame[col].to_numpy() * price
        out["volume"] = frame["volume"].to_numpy() * splits
    if ADJ_CLOSE in frame.columns and actions.checked_at is not None:
        out[ADJ_CLOSE] = raw_close * divs / splits
    return out, notes
