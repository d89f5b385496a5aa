"""The fetch engine: :class:`FetchEngine`, owned by :class:`~tradedata.manager.DataManager`.

It finds the holes of the coverage record, hands each candidate provider what the others left
(the page loop and the batched writes are :class:`~tradedata.fetching.pages.PageWriter`'s),
fails over mid-request, re-checks the newest stored bars when a series is extended, restates an
overall deadline with what it left, and with ``fallback="venues"`` asks the other sources for
what this one could not prove (:func:`tradedata.venues.fill_from_other_sources`). See
:mod:`tradedata.fetching` for the whole picture.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from tradedata import venues
from tradedata.adapters.paging import Span, Unfetched, unproven_parts
from tradedata.errors import (
    DataValidationError,
    DeadlineExceededError,
    MissingAPIKeyError,
    ProviderError,
    ProviderUnavailableError,
)
from tradedata.fetching.bounds import DEFAULT_BARS, bars_before
from tradedata.fetching.pages import AsTradedFn, PageWriter, QualityFn
from tradedata.fetching.result import FetchResult
from tradedata.identity import normalize_source
from tradedata.model import Timeframe, parse_range, parse_timeframe
from tradedata.symbols import normalize_symbol

if TYPE_CHECKING:
    from tradedata.adapters.base import Chunk, Provider
    from tradedata.cache.interface import Store
    from tradedata.selection import ProviderSelector

__all__ = ["CACHE_ONLY", "RECHECK_BARS", "RECHECK_SECONDS", "FetchEngine"]

log = logging.getLogger("tradedata")

#: ``provider=CACHE_ONLY`` serves from the cache and never fetches.
CACHE_ONLY = "cache"
#: Most recent stored bars fetched again when a series is extended (late corrections).
RECHECK_BARS = 2
#: ... and at least this much bar time: a bar is judged closed by the exchange's clock held to
#: ours + a bounded skew (``max_clock_skew``, 5 s by default), so bars that ended within that
#: bound of the fetch may still have been settling; they are fetched again until final.
RECHECK_SECONDS = 5.0


class FetchEngine:
    """Fetches what the coverage record lacks, provider by provider, recording proven spans.

    ``cache`` is the store; ``selector()`` returns the
    :class:`~tradedata.selection.ProviderSelector` (built lazily by the manager);
    ``provider_lookup(name)`` the provider instance; ``quality_fn(symbol, timeframe, source)`` the
    function computing a stored partition's quality block; ``as_traded`` (optional) puts
    each provider's answers on the as-traded basis before they are stored, and its basis is
    recorded in the partitions' ``provider_info`` (both handed to its
    :class:`~tradedata.fetching.pages.PageWriter`).
    """

    def __init__(
        self,
        cache: Store,
        selector: Callable[[], ProviderSelector],
        provider_lookup: Callable[[str], Provider],
        quality_fn: QualityFn,
        as_traded: AsTradedFn | None = None,
    ) -> None:
        self.cache = cache
        self._selector = selector
        self._provider = provider_lookup
        #: one provider's page loop and the batched writes of what it proves
        self.pages = PageWriter(cache, quality_fn, as_traded)

    def resolve_source(
        self, symbol: str, tf: Timeframe, provider: str | None = None, exchange: str | None = None
    ) -> str:
        """The source a request fills (see :func:`tradedata.venues.resolve_source`)."""
        return venues.resolve_source(self._selector(), symbol, tf, provider, exchange)

    def candidates(
        self, symbol: str, tf: Timeframe, provider: str | None, source: str | None = None
    ) -> list[str]:
        """The providers to try for ``symbol``/``tf``, best first (``provider`` pins one).

        With ``source``, only providers delivering it (:func:`tradedata.venues.candidates_for`).
        """
        if provider == CACHE_ONLY:
            raise ProviderUnavailableError(
                f"{symbol} {tf.name}: not in the cache (provider='cache' fetches nothing)"
            )
        if provider:
            return [provider]
        if source is None:
            return self._selector().get_provider_with_failover(symbol, tf.name)
        return venues.candidates_for(self._selector(), symbol, tf, source)

    def _recheck_start(
        self, symbol: str, tf: Timeframe, start: pd.Timestamp, source: str | None = None
    ) -> pd.Timestamp:
        """Move a hole that extends the series' end back over its last stored bars."""
        spans = self.cache.coverage(symbol, tf.name, source=source)
        if not spans:
            return start
        last_end = max(s.end for s in spans)
        if tf.next_open(last_end) != start:
            return start
        back = last_end
        settle = tf.next_open(last_end) - pd.Timedelta(seconds=RECHECK_SECONDS)
        for _ in range(RECHECK_BARS - 1):
            back = tf.floor(back - pd.Timedelta(nanoseconds=1))
        while tf.next_open(back) > settle:  # short bars: cover the whole skew bound
            back = tf.floor(back - pd.Timedelta(nanoseconds=1))
        return back

    def _fetch_hole(
        self,
        symbol: str,
        tf: Timeframe,
        hole: Span,
        names: list[str],
        result: FetchResult,
        on_chunk: Callable[[Chunk], None] | None,
        fresh: pd.Timestamp | None = None,
        source: str | None = None,
    ) -> None:
        """Fill ``hole`` of the ``source`` series from ``names`` in order: each provider gets
        what the others left.

        ``fresh`` is where the new part of a hole starts when its start was moved back over
        stored bars to re-check them: nothing is asked while no new bar has closed.
        """
        todo = [hole]
        notes: list[Unfetched] = []  # why a provider could not prove a range
        for name in names:
            if not todo:
                return
            left: list[Span] = []
            pending = list(todo)
            try:
                prov = self._provider(name)
                edge = prov.last_closed_open(tf)
                if fresh is not None and fresh > edge:
                    pending = []  # no new bar has closed: nothing to re-check them with
                while pending:
                    want = pending[0]
                    if want.start > edge:  # not closed yet: nothing to fetch, nothing missing
                        pending.pop(0)
                        continue
                    want = Span(want.start, min(want.end, edge))
                    proven: list[Span] = []
                    try:
                        self.pages.fetch(
                            prov, symbol, tf, want, result, on_chunk, proven, notes, source
                        )
                    finally:
                        pending.pop(0)
                        left += unproven_parts(want, proven, tf)
            except (ProviderError, MissingAPIKeyError) as exc:
                result.errors[name] = str(exc) or type(exc).__name__
                result.failures[name] = exc
                log.warning(
                    "%s failed for %s %s: %s", name, symbol, tf.name, exc, extra={"provider": name}
                )
            todo = left + pending
        for part in todo:
            reason = _reason(part, notes, result, names)
            result.unfetched.append(Unfetched(part.start, part.end, reason))

    def fetch_missing(
        self,
        symbol: str,
        timeframe: str,
        start: Any,
        end: Any,
        provider: str | None = None,
        on_chunk: Callable[[Chunk], None] | None = None,
        refresh: bool = False,
        source: str | None = None,
        fallback: str | None = None,
    ) -> FetchResult:
        """Fetch the parts of ``[start, end]`` the coverage record lacks; store them as they come.

        ``source`` names the series (default: :meth:`resolve_source`); only providers
        delivering it are asked. With ``refresh`` the whole range is fetched again. The
        still-open candle is never stored. Returns a :class:`FetchResult`; what no provider
        could prove is listed in ``unfetched`` with its reason (and each provider's error in
        ``errors``), never filled in and never recorded as fetched. ``fallback="venues"``
        (default: the rule's ``fallback``) then asks the other sources for the unfetched
        ranges, each into its own series (:attr:`FetchResult.filled`).
        """
        sym, tf = normalize_symbol(symbol), parse_timeframe(timeframe)
        s, e = parse_range(start, end)
        if s is None or e is None:
            raise DataValidationError("fetch_missing needs both start and end")
        src = normalize_source(source) if source else self.resolve_source(sym, tf, provider)
        if provider and provider != CACHE_ONLY and source:
            venues.check_pinned(self._selector(), sym, tf, provider, src)
        result = self._fetch_series(sym, tf, s, e, provider, on_chunk, refresh, src)
        if venues.check_fallback(fallback) is None and not provider:
            fallback = self._selector().fallback_for(sym, tf.name)
        if fallback == "venues" and result.unfetched and not provider:
            self._fill_from_other_sources(sym, tf, result, on_chunk)
        return result

    def _fill_from_other_sources(
        self,
        sym: str,
        tf: Timeframe,
        result: FetchResult,
        on_chunk: Callable[[Chunk], None] | None,
    ) -> None:
        """``fallback="venues"`` (see :func:`tradedata.venues.fill_from_other_sources`)."""

        def fetch(span: Span, names: list[str], sub: FetchResult, other: str) -> None:
            self._fetch_hole(sym, tf, span, names, sub, on_chunk, None, other)

        venues.fill_from_other_sources(
            self.cache, self._selector(), sym, tf, result, fetch, FetchResult
        )

    def _fetch_series(
        self,
        sym: str,
        tf: Timeframe,
        s: pd.Timestamp,
        e: pd.Timestamp,
        provider: str | None,
        on_chunk: Callable[[Chunk], None] | None,
        refresh: bool,
        src: str,
    ) -> FetchResult:
        """Fill the holes of the ``src`` series in ``[s, e]`` from that source's providers."""
        holes = [(s, e)] if refresh else self.cache.missing_ranges(sym, tf.name, s, e, source=src)
        result = FetchResult(source=src)
        if not holes:
            return result
        try:
            names = self.candidates(sym, tf, provider, src)
        except (ProviderError, MissingAPIKeyError) as exc:
            result.errors["selection"] = str(exc) or type(exc).__name__
            result.failures["selection"] = exc
            result.unfetched.extend(Unfetched(a, b, str(exc)) for a, b in holes)
            return result
        stopped: DeadlineExceededError | None = None
        try:
            for i, (h_start, h_end) in enumerate(holes):
                self._fetch_locked(sym, tf, (h_start, h_end), s, i == len(holes) - 1, refresh,
                                   names, result, on_chunk, src)  # fmt: skip
        except DeadlineExceededError as exc:
            stopped = exc
        if stopped is not None:  # what arrived is stored; the rest is named in the error
            raise self._deadline_error(stopped, sym, tf, s, e, src)
        for gone in result.unfetched:
            log.warning("%s %s: could not fetch %s", sym, tf.name, gone)
        return result

    def read_healing(
        self,
        sym: str,
        tf: Timeframe,
        s: pd.Timestamp | None,
        e: pd.Timestamp | None,
        provider: str | None,
        on_chunk: Callable[[Chunk], None] | None,
        result: FetchResult,
        source: str | None = None,
    ) -> pd.DataFrame:
        """Read ``[s, e]`` of the ``source`` series; ranges the read found damaged
        (quarantined, so uncovered) are fetched again at once, and what still cannot be read is
        added to ``unfetched``."""
        frame = self.cache.read(sym, tf.name, s, e, source=source)
        damaged = frame.attrs.pop("damaged", [])
        if not damaged:
            return frame
        now = pd.Timestamp.now(tz="UTC")
        for a, b in damaged:
            b = min(b, now)
            if a > b:
                continue
            again = self.fetch_missing(
                sym, tf.name, a, b, provider=provider, on_chunk=on_chunk, source=source
            )
            result.bars += again.bars
            result.requests += again.requests
            result.providers += [p for p in again.providers if p not in result.providers]
            result.errors.update(again.errors)
            result.failures.update(again.failures)
            result.unfetched.extend(again.unfetched)
        frame = self.cache.read(sym, tf.name, s, e, source=source)
        result.unfetched.extend(
            Unfetched(a, b, "the cached bars are damaged and could not be fetched again")
            for a, b in frame.attrs.pop("damaged", [])
        )
        result.unfetched.sort()
        return frame

    def _deadline_error(
        self,
        exc: DeadlineExceededError,
        sym: str,
        tf: Timeframe,
        s: pd.Timestamp,
        e: pd.Timestamp,
        src: str,
    ) -> DeadlineExceededError:
        """``exc`` restated with the ranges of ``[s, e]`` the coverage record still lacks."""
        reason = f"overall deadline of {exc.seconds or 0:g}s exceeded"
        holes = self.cache.missing_ranges(sym, tf.name, s, e, source=src)
        gone = [Unfetched(a, b, reason) for a, b in holes]
        shown = ", ".join(f"{u.start:%Y-%m-%d %H:%M}..{u.end:%Y-%m-%d %H:%M}" for u in gone)
        return DeadlineExceededError(
            f"{sym} {tf.name}: {reason}; not fetched: {shown or 'nothing'} "
            "(what arrived is stored)",
            seconds=exc.seconds,
            unfetched=gone,
        )

    def _fetch_locked(
        self,
        sym: str,
        tf: Timeframe,
        hole: tuple[pd.Timestamp, pd.Timestamp],
        start: pd.Timestamp,
        last: bool,
        refresh: bool,
        names: list[str],
        result: FetchResult,
        on_chunk: Callable[[Chunk], None] | None,
        src: str,
    ) -> None:
        """Fetch one hole of the ``src`` series holding its lock: one fetcher per hole among
        every process sharing the store; the others wait, then fetch only what is still missing
        (usually nothing)."""
        with self.cache.hole_lock(sym, tf.name, *hole, source=src):
            parts = [hole]
            if not refresh:
                parts = self.cache.missing_ranges(sym, tf.name, *hole, source=src)
            for j, (p_start, p_end) in enumerate(parts):
                fresh = None
                if last and j == len(parts) - 1:
                    recheck = self._recheck_start(sym, tf, p_start, src)
                    fresh, p_start = p_start, max(start, recheck)
                span = Span(p_start, p_end)
                self._fetch_hole(sym, tf, span, names, result, on_chunk, fresh, src)

    def update(
        self,
        symbol: str,
        timeframe: str,
        provider: str | None = None,
        source: str | None = None,
    ) -> FetchResult:
        """Extend a cached series to now (re-checking its last stored bars)."""
        sym, tf = normalize_symbol(symbol), parse_timeframe(timeframe)
        src = normalize_source(source) if source else self.resolve_source(sym, tf, provider)
        spans = self.cache.coverage(sym, tf.name, source=src)
        now = pd.Timestamp.now(tz="UTC")
        start = min(s.start for s in spans) if spans else bars_before(now, tf, DEFAULT_BARS)
        return self.fetch_missing(sym, tf.name, start, now, provider=provider, source=src)


def _reason(part: Span, notes: list[Unfetched], result: FetchResult, names: list[str]) -> str:
    """Why ``part`` was not fetched: the providers' own reasons, else their errors."""
    said = [n.reason for n in notes if n.start <= part.end and n.end >= part.start]
    if not said:
        said = [f"{name}: {result.errors[name]}" for name in names if name in result.errors]
    if not said:
        said = [f"{', '.join(names) or 'no provider'} could not prove it"]
    return "; ".join(dict.fromkeys(said))
