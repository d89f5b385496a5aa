"""Stored quality kept in line with the corporate actions it was judged under.

Each year partition keeps its quality report (``data_quality``, see
:mod:`tradedata.range_quality`). Equities are judged split-adjusted with the symbol's stored
splits, so a 4:1 split is not scored as a 75% outlier; a report computed before the split was
known flags that step. The report therefore records the splits it was judged with that fall
inside the partition (``data_quality["splits"]``, ``[["2020-08-31", 4.0]]``): only those
change how a partition alone is judged (a split before or after all of its bars scales every
bar alike). A report whose record differs from what the current actions give is *stale*:

- reads do not use it (:func:`tradedata.range_quality.range_report` validates that year
  again, and the manager stores the new report), so ``get_ohlcv(...).attrs["quality"]``
  always agrees with the current actions;
- :meth:`tradedata.manager.DataManager.rescore` recomputes stale reports from the stored bars
  (``Store.rescore``: no candle is requested, bars and coverage stay as they are); the manager
  runs it when it stores a symbol's actions with different splits, so ``cache info``, the
  widgets and the stored metadata agree with the current actions too.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from tradedata.actions import bar_dates
from tradedata.errors import TradeDataError

if TYPE_CHECKING:
    from tradedata.actions import CorporateActions
    from tradedata.cache.interface import QualityFn, Store
    from tradedata.model import Timeframe

__all__ = ["SPLITS_KEY", "FreshCheck", "Rescorer", "is_fresh", "judged_splits", "rescore_series"]

log = logging.getLogger("tradedata")

#: where a stored quality block records the splits it was judged with
SPLITS_KEY = "splits"


def judged_splits(
    record: CorporateActions | None, first: Any, last: Any, tf: Timeframe, tz: str
) -> list[list[Any]]:
    """The splits of ``record`` that fall inside bars ``first``..``last`` (bar opens): those
    with an ex-date after the first bar's session date and on or before the last one's."""
    if record is None or record.splits.empty:
        return []
    dates = bar_dates(pd.DatetimeIndex([pd.Timestamp(first), pd.Timestamp(last)]), tf, tz)
    inside = record.splits[(record.splits.index > dates[0]) & (record.splits.index <= dates[1])]
    return [[f"{day:%Y-%m-%d}", float(ratio)] for day, ratio in inside.items()]


def _recorded(block: Any) -> list[tuple[str, float]] | None:
    rows = block.get(SPLITS_KEY, []) if isinstance(block, dict) else None
    try:
        return [(str(day), float(ratio)) for day, ratio in rows or []]
    except (TypeError, ValueError):
        return None


def is_fresh(meta: Any, record: CorporateActions | None, tf: Timeframe, tz: str) -> bool:
    """True when the stored quality in ``meta`` (a partition's metadata) was judged with the
    splits ``record`` gives for its bars (a block without the record counts as judged with
    none)."""
    if not isinstance(meta, dict) or meta.get("first") is None or meta.get("last") is None:
        return True  # nothing the actions could change: the report is checked otherwise
    wanted = judged_splits(record, meta["first"], meta["last"], tf, tz)
    stored = _recorded(meta.get("data_quality"))
    return stored == [(day, ratio) for day, ratio in wanted]


class FreshCheck:
    """:func:`is_fresh` as a ``range_report(fresh=...)`` predicate that remembers the years
    whose stored report it refused (``stale``), so the reader can rescore them."""

    def __init__(self, record: CorporateActions | None, tf: Timeframe, tz: str) -> None:
        self.record, self.tf, self.tz = record, tf, tz
        self.stale: list[int] = []

    def __call__(self, meta: dict) -> bool:
        if is_fresh(meta, self.record, self.tf, self.tz):
            return True
        if isinstance(meta.get("year"), int):
            self.stale.append(int(meta["year"]))
        return False


def rescore_series(
    cache: Store,
    symbol: str,
    series: list[tuple[str, str]],
    record: CorporateActions | None,
    tz: str,
    quality_for: Callable[[Timeframe, str], QualityFn],
) -> int:
    """Recompute every stale stored report of ``symbol``'s ``series`` (``(source,
    timeframe)`` pairs) from the stored bars with ``quality_for(timeframe, source)``; returns
    the partitions rescored. No provider is asked."""
    from tradedata.model import parse_timeframe

    done = 0
    for source, timeframe in series:
        tf = parse_timeframe(timeframe)
        for year in cache.years(symbol, tf.name, source=source):
            meta = cache.metadata(symbol, tf.name, year, source=source)
            if is_fresh(meta, record, tf, tz):
                continue
            if cache.rescore(symbol, tf.name, year, quality_for(tf, source), source=source):
                done += 1
    return done


#: ``quality_fn(symbol, timeframe, source)``: a partition's quality block (the manager's)
QualityFor = Callable[[str, "Timeframe", "str | None"], "QualityFn"]


class Rescorer:
    """Brings a store's quality reports in line with its corporate actions (the manager's
    :attr:`~tradedata.manager.DataManager.rescorer`); ``quality_fn`` is the manager's."""

    def __init__(self, cache: Store, quality_fn: QualityFor) -> None:
        self.cache = cache
        self._quality_fn = quality_fn

    def rescore(
        self, symbol: str | None, timeframe: str | None = None, source: str | None = None
    ) -> int:
        """Rescore the stale reports of ``symbol`` (normalised; None: every symbol with a
        record), of every series or the ``timeframe``/``source`` named; returns how many."""
        from tradedata.adjusting import is_as_traded, is_equity
        from tradedata.symbols import symbol_info
        from tradedata.venues import stored_series

        if symbol is None:
            symbols = [s for s in self.cache.actions_symbols() if is_equity(s)]
        else:
            symbols = [symbol] if is_equity(symbol) and self.cache.sources(symbol) else []
        if not symbols:  # nothing to judge again: no listing of the store
            return 0
        listing = stored_series(self.cache)
        done = 0
        for sym in symbols:
            series = [
                (src, tf)
                for tf, sources in listing.get(sym, {}).items()
                for src in sources
                if timeframe in (None, tf) and source in (None, src) and is_as_traded(src)
            ]
            done += rescore_series(
                self.cache, sym, series, self.cache.get_actions(sym), symbol_info(sym).timezone,
                functools.partial(self._quality_fn, sym),
            )  # fmt: skip
        return done

    def heal(self, symbol: str, tf: Timeframe, source: str, years: list[int]) -> None:
        """Store the reports of ``years`` a read found stale anew (the read itself judged them
        afresh already); a store that cannot be written keeps them."""
        quality = self._quality_fn(symbol, tf, source)
        try:
            for year in years:
                self.cache.rescore(symbol, tf.name, year, quality, source=source)
        except TradeDataError as exc:
            log.debug("%s %s: stored quality not rescored: %s", symbol, tf.name, exc)

    def changed(self, symbol: str) -> None:
        """A record with other splits was stored for ``symbol``: rescore what it changes."""
        try:
            done = self.rescore(symbol)
        except TradeDataError as exc:  # e.g. a read-only store: reads still judge afresh
            log.warning("%s: stored quality not rescored: %s", symbol, exc)
            return
        if done:
            log.info("%s: %d stored quality report(s) rescored for new splits", symbol, done)
