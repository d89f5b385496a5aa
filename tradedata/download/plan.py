"""What a download will do, settled before anything is fetched.

The range (:func:`resolve_range`: ``[start, end]`` or the last ``days``), the symbols
(:func:`resolve_symbols`: the names given, or every active spot market), the open-interest check
(:func:`check_open_interest`) and the plan (:func:`plan_series`: one
:class:`~tradedata.download.report.SeriesResult` per series, with the bars its coverage holes
hold). Bad input raises :class:`~tradedata.errors.InputError` here, before any bar is asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from tradedata.download.report import SeriesResult
from tradedata.errors import InputError, OpenInterestUnavailableError
from tradedata.identity import identify, source_of_provider
from tradedata.model import Timeframe, parse_range, parse_timeframe
from tradedata.symbols import normalize_symbol

if TYPE_CHECKING:
    from tradedata.adapters.base import Provider
    from tradedata.manager import DataManager

__all__ = [
    "MAX_DAYS",
    "check_open_interest",
    "count_bars",
    "plan_series",
    "resolve_range",
    "resolve_symbols",
]

#: The most history ``days`` may ask for (back to the first storable year, 1678).
MAX_DAYS = 200_000
#: The first storable bar (:data:`tradedata.fetching.bounds.FIRST_BAR`; not imported from there,
#: as ``tradedata download``'s options are read by every ``tradedata`` command and importing the
#: fetching package would load the whole fetch engine for them).
_FIRST_BAR = pd.Timestamp("1678-01-01", tz="UTC")


def count_bars(tf: Timeframe, start: pd.Timestamp, end: pd.Timestamp) -> int:
    """``len(tf.bar_opens(start, end))``, by arithmetic where bars have a fixed length."""
    if tf.is_calendar:
        return len(tf.bar_opens(start, end))
    first = tf.floor(start)
    if first < start:
        first = tf.next_open(first)
    return max(0, (end - first) // tf.delta + 1)


def plan_series(
    manager: DataManager,
    provider: Provider,
    symbols: Sequence[str],
    timeframes: Sequence[str],
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> list[SeriesResult]:
    """Every (symbol, timeframe), with ``expected`` = bars in its coverage holes up to the
    provider's last closed bar (what this run has to fetch)."""
    plans = []
    now = provider.now()
    for tf in (parse_timeframe(t) for t in timeframes):
        stop = min(end, provider.last_closed_open(tf, now))
        for symbol in symbols:
            src = manager.selector.source_of(provider.name, symbol, tf.name)
            holes = manager.cache.missing_ranges(symbol, tf.name, start, stop, source=src)
            expected = sum(count_bars(tf, a, b) for a, b in holes) if start <= stop else 0
            plans.append(SeriesResult(symbol, tf.name, expected=expected, source=src))
    return plans


def resolve_range(
    provider: Provider, days: float | None, start: Any, end: Any
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The download's ``(start, end)``: ``[start, end]``, or the last ``days`` up to ``end``
    (default: the exchange's now); never before 1678, never starting in the future."""
    s, e = parse_range(start, end)
    if s is None:  # checked before asking the exchange anything
        if days is None:
            raise InputError("say how much history to download: days=... or start=...")
        if isinstance(days, bool) or not isinstance(days, (int, float)):
            raise InputError(f"days must be a number, got {days!r}")
        if not 0 < days <= MAX_DAYS:
            raise InputError(f"days must be more than 0 and at most {MAX_DAYS:,}, got {days:g}")
    now = provider.now()
    e = e if e is not None else now
    if s is None:
        try:
            s = e - pd.Timedelta(days=float(days))  # type: ignore[arg-type]
        except (OverflowError, ValueError) as exc:  # before the first storable year
            raise InputError(f"{days:g} days before {e:%Y-%m-%d} is before 1678") from exc
        s = max(s, _FIRST_BAR)
    if s > e:
        raise InputError(f"start {s} is after end {e}")
    if s > now:
        raise InputError(f"the range starts in the future ({s:%Y-%m-%d %H:%M} UTC): no bars yet")
    return s, e


def resolve_symbols(
    provider: Provider, symbols: Iterable[str] | None, all_symbols: bool, quote: str | None
) -> list[str]:
    """The symbols to download: ``symbols`` (a venue-prefixed spelling must name this
    exchange), or with ``all_symbols`` every active spot market (quoted in ``quote``)."""
    if all_symbols:
        lister = getattr(provider, "spot_symbols", None)
        if lister is None:
            raise InputError(f"{provider.name} cannot list its markets (all_symbols needs ccxt)")
        names = []
        for name in lister(quote=quote):
            try:
                names.append(normalize_symbol(name))
            except InputError:  # a market name tradedata cannot store; skipped
                continue
        return list(dict.fromkeys(names))
    if not symbols:
        raise InputError("give symbols=[...] or all_symbols=True")
    names = []
    for text in symbols:  # a venue-prefixed spelling must name this exchange
        source, name = identify(text)
        if source and source not in (provider.name, source_of_provider(provider.name, name)):
            raise InputError(f"{text!r} names source {source!r}, not {provider.name}")
        names.append(name)
    return list(dict.fromkeys(names))


def check_open_interest(provider: Provider, names: Sequence[str], tfs: Sequence[str]) -> None:
    """Raise OpenInterestUnavailableError unless ``provider`` has open interest of every
    symbol at every timeframe (no network request)."""
    from tradedata.open_interest import check_contract

    for name in names:
        check_contract(name)
        period = getattr(provider, "open_interest_period", None)
        if period is None:
            raise OpenInterestUnavailableError(f"{provider.name} publishes no open interest")
        for tf in tfs:
            period(name, parse_timeframe(tf))
