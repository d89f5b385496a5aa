"""The fetch engine behind :class:`~tradedata.manager.DataManager`.

Only the holes of the coverage record are fetched, from the best provider, failing over
mid-request to the next; pages are buffered and written to the cache together with their
coverage (one transaction per batch), so an interrupted fetch resumes where it stopped and a
failing provider's partial work is kept. The still-open candle is never stored (providers clip
at their own clock), and the newest stored bars are fetched again when a series is extended.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from tradedata.errors import (
    DataValidationError,
    MissingAPIKeyError,
    ProviderError,
    ProviderUnavailableError,
    UnsupportedError,
)
from tradedata.model import Timeframe, parse_range, parse_timeframe
from tradedata.symbols import normalize_symbol

if TYPE_CHECKING:
    from tradedata.adapters.base import Chunk, Provider
    from tradedata.cache import Cache
    from tradedata.selection import ProviderSelector

__all__ = ["CACHE_ONLY", "DEFAULT_BARS", "FetchResult", "FetchingMixin"]

log = logging.getLogger("tradedata")

#: Bars fetched when neither the cache nor the caller says where to start.
DEFAULT_BARS = 1000

#: ``provider=CACHE_ONLY`` serves from the cache and never fetches.
CACHE_ONLY = "cache"
#: Bars buffered before a write while fetching (one partition re-encode per batch).
FLUSH_BARS = 50_000
#: Bar length used to step back DEFAULT_BARS bars (longer timeframes would leave int64 ns).
_LONGEST = pd.Timedelta(days=31)
#: Most recent stored bars fetched again when a series is extended (late corrections).
RECHECK_BARS = 2


@dataclass
class FetchResult:
    """What one :meth:`DataManager.fetch_missing` call did."""

    bars: int = 0
    requests: int = 0
    providers: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    unfetched: list[tuple[pd.Timestamp, pd.Timestamp]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when every hole in the requested range was fetched."""
        return not self.unfetched


@dataclass
class _Cursor:
    """Where the next fetch of a hole starts; advanced chunk by chunk."""

    start: pd.Timestamp


class FetchingMixin:
    """Cache-aware fetching with failover; mixed into :class:`DataManager`."""

    cache: Cache

    if TYPE_CHECKING:  # supplied by DataManager

        @property
        def selector(self) -> ProviderSelector: ...

        def provider(self, name: str) -> Provider: ...

        def _quality_fn(
            self, symbol: str, tf: Timeframe
        ) -> Callable[[pd.DataFrame], dict[str, Any]]: ...

    def _candidates(self, symbol: str, tf: Timeframe, provider: str | None) -> list[str]:
        if provider == CACHE_ONLY:
            raise ProviderUnavailableError(
                f"{symbol} {tf.name}: not in the cache (provider='cache' fetches nothing)"
            )
        if provider:
            return [provider]
        return self.selector.get_provider_with_failover(symbol, tf.name)

    def _recheck_start(self, symbol: str, tf: Timeframe, start: pd.Timestamp) -> pd.Timestamp:
        """Move a hole that extends the series' end back over its last stored bars."""
        spans = self.cache.coverage(symbol, tf.name)
        if not spans:
            return start
        last_end = max(s.end for s in spans)
        if tf.next_open(last_end) != start:
            return start
        back = last_end
        for _ in range(RECHECK_BARS - 1):
            back = tf.floor(back - pd.Timedelta(nanoseconds=1))
        return back

    def _fetch_hole(
        self,
        symbol: str,
        tf: Timeframe,
        hole: tuple[pd.Timestamp, pd.Timestamp],
        names: list[str],
        result: FetchResult,
        on_chunk: Callable[[Chunk], None] | None,
    ) -> None:
        cursor = _Cursor(hole[0])
        end = hole[1]
        for name in names:
            if cursor.start > end:
                return
            try:
                prov = self.provider(name)
                depth = prov.history_start(tf, prov.now())
                if depth is not None and cursor.start < depth:
                    if name != names[-1]:
                        raise UnsupportedError(
                            f"{name} keeps {tf.name} history only from {depth:%Y-%m-%d}",
                            provider=name,
                        )
                    result.unfetched.append((cursor.start, depth))  # last resort: recent part
                    cursor.start = depth if tf.floor(depth) == depth else tf.next_open(depth)
                self._fetch_from(prov, symbol, tf, cursor, end, result, on_chunk)
                return
            except (ProviderError, MissingAPIKeyError) as exc:
                result.errors[name] = str(exc)
                log.warning("%s failed for %s %s: %s", name, symbol, tf.name, exc)
        if cursor.start <= end:
            result.unfetched.append((cursor.start, end))

    def _fetch_from(
        self,
        prov: Provider,
        symbol: str,
        tf: Timeframe,
        cursor: _Cursor,
        end: pd.Timestamp,
        result: FetchResult,
        on_chunk: Callable[[Chunk], None] | None,
    ) -> None:
        """Fetch ``[cursor.start, end]`` from one provider, storing in batches as pages arrive.

        Pages are buffered up to :data:`FLUSH_BARS` bars and written with their coverage in
        one go (a partition is re-encoded once per batch, not once per page). Whatever has
        arrived is stored before an error propagates, so failover continues from there.
        """
        buffer: list[Chunk] = []
        pending = 0
        try:
            for chunk in prov.iter_chunks(symbol, tf, cursor.start, end):
                result.requests += chunk.requests
                result.bars += len(chunk.frame)
                if prov.name not in result.providers:
                    result.providers.append(prov.name)
                buffer.append(chunk)
                pending += len(chunk.frame)
                if on_chunk is not None:
                    on_chunk(chunk)
                if pending >= FLUSH_BARS:
                    self._store(symbol, tf, buffer, cursor)
                    buffer, pending = [], 0
        finally:
            self._store(symbol, tf, buffer, cursor)

    def _store(self, symbol: str, tf: Timeframe, chunks: list[Chunk], cursor: _Cursor) -> None:
        """Write consecutive chunks of one provider and record their coverage."""
        if not chunks:
            return
        first, last = chunks[0], chunks[-1]
        frames = [c.frame for c in chunks if len(c.frame)]
        if frames:
            data = pd.concat(frames) if len(frames) > 1 else frames[0]
            self.cache.write(
                symbol,
                tf.name,
                data,
                source=first.provider,
                quality=self._quality_fn(symbol, tf),
                coverage=(first.start, last.end),  # data and coverage in one transaction
            )
        else:
            self.cache.add_coverage(symbol, tf.name, first.start, last.end, first.provider)
        cursor.start = tf.next_open(chunks[-1].end)

    def fetch_missing(
        self,
        symbol: str,
        timeframe: str,
        start: Any,
        end: Any,
        provider: str | None = None,
        on_chunk: Callable[[Chunk], None] | None = None,
        refresh: bool = False,
    ) -> FetchResult:
        """Fetch the parts of ``[start, end]`` the coverage record lacks; store them as they come.

        With ``refresh`` the whole range is fetched again. The still-open candle is never
        stored. Returns a :class:`FetchResult`; holes no provider could fill are listed in
        ``unfetched`` (and each provider's error in ``errors``), never filled in.
        """
        sym, tf = normalize_symbol(symbol), parse_timeframe(timeframe)
        s, e = parse_range(start, end)
        if s is None or e is None:
            raise DataValidationError("fetch_missing needs both start and end")
        holes = [(s, e)] if refresh else self.cache.missing_ranges(sym, tf.name, s, e)
        result = FetchResult()
        if not holes:
            return result
        try:
            names = self._candidates(sym, tf, provider)
        except (ProviderError, MissingAPIKeyError) as exc:
            result.errors["selection"] = str(exc)
            result.unfetched.extend(holes)
            return result
        for i, (h_start, h_end) in enumerate(holes):
            if i == len(holes) - 1:
                h_start = max(s, self._recheck_start(sym, tf, h_start))
            self._fetch_hole(sym, tf, (h_start, h_end), names, result, on_chunk)
        return result

    def update(self, symbol: str, timeframe: str, provider: str | None = None) -> FetchResult:
        """Extend a cached series to now (re-checking its last stored bars)."""
        sym, tf = normalize_symbol(symbol), parse_timeframe(timeframe)
        spans = self.cache.coverage(sym, tf.name)
        now = pd.Timestamp.now(tz="UTC")
        start = (
            min(s.start for s in spans) if spans else now - min(tf.delta, _LONGEST) * DEFAULT_BARS
        )
        return self.fetch_missing(sym, tf.name, start, now, provider=provider)
