"""The steps of :meth:`DataManager.get_ohlcv <tradedata.manager.DataManager.get_ohlcv>`.

A read pins its range against eviction, fetches what the coverage record lacks, reads the
series back (healing damaged parts), fills open interest when asked, shows bars other sources
delivered beside it (``fallback="venues"``), adjusts equities and decorates the frame with
its provenance and quality report. A part nothing could deliver is reported, never filled;
when nothing at all arrived, :func:`no_data_error` names why.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from tradedata.actions import check_mode
from tradedata.adjusting import is_as_traded, is_equity
from tradedata.deadline import deadline_scope, resolve_seconds
from tradedata.errors import (
    AllProvidersFailedError,
    ProviderError,
    SymbolNotFoundError,
    SymbolNotListedError,
)
from tradedata.fetching import CACHE_ONLY, DEFAULT_BARS, FetchResult, bars_before, storable_range
from tradedata.identity import identify
from tradedata.judging import calendar_of
from tradedata.model import Timeframe, parse_range, parse_timeframe
from tradedata.range_quality import range_report
from tradedata.rescoring import FreshCheck
from tradedata.symbols import symbol_info
from tradedata.venues import check_fallback, labelled_frame, score_mix

if TYPE_CHECKING:
    from tradedata.adapters.base import Chunk
    from tradedata.adjusting import Adjuster
    from tradedata.cache.interface import Store
    from tradedata.fetching import FetchEngine
    from tradedata.judging import Judge
    from tradedata.open_interest import OpenInterestFiller
    from tradedata.rescoring import Rescorer

__all__ = ["Reader", "no_data_error"]


class Reader:
    """Serves :meth:`~tradedata.manager.DataManager.get_ohlcv` from the manager's parts.

    ``fetch_missing`` is the manager's own (so the read fetches as a direct call would),
    ``deadline()`` the configured default deadline in seconds (None: none).
    """

    def __init__(
        self,
        cache: Store,
        engine: FetchEngine,
        adjuster: Adjuster,
        judge: Judge,
        rescorer: Rescorer,
        open_interest: OpenInterestFiller,
        *,
        fetch_missing: Callable[..., FetchResult],
        deadline: Callable[[], float | None],
    ) -> None:
        self.cache, self.engine, self.adjuster = cache, engine, adjuster
        self.judge, self.rescorer, self.open_interest = judge, rescorer, open_interest
        self._fetch_missing = fetch_missing
        self._deadline = deadline

    def get_ohlcv(
        self,
        symbol: str,
        timeframe: str,
        start: Any,
        end: Any,
        *,
        provider: str | None,
        refresh: bool,
        on_chunk: Callable[[Chunk], None] | None,
        deadline: float | None,
        exchange: str | None,
        fallback: str | None,
        adjust: str,
        open_interest: bool,
    ) -> pd.DataFrame:
        """The bars :meth:`DataManager.get_ohlcv` returns (same arguments); its warnings
        point at the code that called the manager."""
        named, sym = identify(symbol, exchange)
        tf = parse_timeframe(timeframe)
        check_mode(adjust)
        s, e = storable_range(*parse_range(start, end))
        fallback = check_fallback(fallback)
        src = self.engine.resolve_source(sym, tf, provider, named)
        oi_source = None
        if open_interest:
            oi_source = self.open_interest.source_for_read(sym, tf, provider, src)
        oi_reasons: dict[pd.Timestamp, str] = {}
        seconds = resolve_seconds(deadline, self._deadline())
        result = FetchResult(source=src)
        with self.cache.pinned(sym, tf.name, s, e, source=src), deadline_scope(seconds):
            cached = self.cache.has(sym, tf.name, source=src)
            if not (s is None and e is None and cached and not refresh):
                e = e if e is not None else pd.Timestamp.now(tz="UTC")
                s = s if s is not None else bars_before(e, tf, DEFAULT_BARS)
                result = self._fetch_missing(
                    sym, tf.name, s, e, provider=provider, on_chunk=on_chunk, refresh=refresh,
                    exchange=src, fallback=fallback,
                )  # fmt: skip
            own = self.engine.read_healing(sym, tf, s, e, provider, on_chunk, result, src)
            if oi_source is not None and len(own):
                own, oi_reasons = self.open_interest.fill(own, sym, tf, src, oi_source, refresh)
        frame, spans = labelled_frame(self.cache, sym, tf, own, src, result.filled)
        if result.unfetched:
            if frame.empty:
                raise no_data_error(sym, tf, result, pinned=provider)
            warnings.warn(f"{sym} {tf.name}: could not fetch {result.reasons()}", stacklevel=3)
        if spans:  # each source's run adjusted as its own market's bars
            frame = self.adjuster.apply_runs(
                frame, sym, tf, adjust, spans, fetch=provider != CACHE_ONLY
            )
        else:
            frame = self.adjuster.apply(
                frame, sym, tf, adjust, fetch=provider != CACHE_ONLY, source=src
            )
        for note in frame.attrs.get("adjust_notes", []):
            warnings.warn(f"{sym} {tf.name}: {note}", stacklevel=3)
        frame = self.decorate(frame, sym, tf, result, src, spans)
        if open_interest:
            self.open_interest.annotate(
                frame, sym, tf, oi_reasons, fetched=oi_source is not None, stacklevel=3
            )
        return frame

    def decorate(
        self,
        frame: pd.DataFrame,
        symbol: str,
        tf: Timeframe,
        result: FetchResult,
        source: str,
        spans: list[dict[str, Any]],
    ) -> pd.DataFrame:
        """``frame`` with its provenance (``attrs["source"]``, ``"sources"``, ``"provider"``,
        ``"unfetched"``) and its quality report (``attrs["quality"]``): the stored reports of
        whole years still judged with the current splits, the rest validated afresh (stale
        stored reports are stored anew); a mix of sources is scored as a mix."""
        providers: list[str] = []
        for run in spans:
            for span in self.cache.coverage(symbol, tf.name, source=run["source"]):
                if span.end >= run["start"] and span.start <= run["end"]:
                    providers += [span.provider] if span.provider not in providers else []
        mixed = any(run["source"] != source for run in spans)
        if mixed:
            report = score_mix(self.judge.validate(frame, symbol, tf, source), spans, source)
        else:
            fresh = None
            if is_equity(symbol) and is_as_traded(source):  # judged with other splits: unused
                tz = symbol_info(symbol).timezone
                fresh = FreshCheck(frame.attrs.get("actions"), tf, tz)
            report = range_report(
                self.cache, frame, symbol, tf, calendar_of(symbol),
                lambda part: self.judge.validate(part, symbol, tf, source), source=source,
                fresh=fresh,
            )  # fmt: skip
            if fresh is not None and fresh.stale:
                self.rescorer.heal(symbol, tf, source, fresh.stale)
        frame.attrs.update(
            symbol=symbol,
            timeframe=tf.name,
            source=source,
            sources=spans,
            provider="+".join(providers) if providers else None,
            quality=report,
            unfetched=list(result.unfetched),
        )
        return frame


def no_data_error(
    symbol: str, tf: Timeframe, result: FetchResult, pinned: str | None
) -> ProviderError:
    """The error naming why nothing at all could be fetched.

    A symbol no provider lists is a :class:`SymbolNotFoundError` (a pinned provider's own, else
    a :class:`SymbolNotListedError`, which is both); anything else an
    :class:`AllProvidersFailedError` carrying every provider's reason.
    """
    failures = {k: v for k, v in result.failures.items() if k != "selection"}
    if failures and all(isinstance(e, SymbolNotFoundError) for e in failures.values()):
        if pinned and isinstance(failures.get(pinned), SymbolNotFoundError):
            return failures[pinned]  # type: ignore[return-value]
        said = "; ".join(f"{k}: {v}" for k, v in result.errors.items())
        return SymbolNotListedError(f"no provider lists {symbol}: {said}", errors=failures)
    reasons = "; ".join(f"{k}: {v}" for k, v in result.errors.items() if v) or result.reasons()
    errors = dict(result.failures)
    errors.update({k: ProviderError(v) for k, v in result.errors.items() if k not in errors})
    return AllProvidersFailedError(
        f"no data for {symbol} {tf.name}: {reasons or 'no provider could serve it'}",
        errors=errors,
    )
