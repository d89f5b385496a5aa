"""One provider's pages into a series: the page loop, batched writes, proven coverage.

:class:`PageWriter` drives one provider's page loop (:meth:`Provider.iter_chunks
<tradedata.adapters.base.Provider.iter_chunks>`, pages asked and judged by the page contract,
:mod:`tradedata.adapters.paging`) for the span :class:`~tradedata.fetching.FetchEngine` hands it.
Pages are buffered up to :data:`FLUSH_BARS` bars and written together with the spans they
*prove* (data and coverage in one transaction per batch), so an interrupted fetch resumes where
it stopped and a failing provider's partial work is kept. Bars fetched again keep the open
interest already stored for them, as it comes from another endpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from tradedata.adapters.paging import Span, Unfetched
from tradedata.model import OPEN_INTEREST, Timeframe

if TYPE_CHECKING:
    from tradedata.adapters.base import Chunk, Provider
    from tradedata.cache.interface import Store
    from tradedata.fetching.result import FetchResult

__all__ = ["FLUSH_BARS", "AsTradedFn", "PageWriter", "QualityFn"]

#: Bars buffered before a write while fetching (one partition re-encode per batch).
FLUSH_BARS = 50_000

#: ``quality_fn(symbol, timeframe, source)``: the function computing a partition's quality block.
QualityFn = Callable[[str, Timeframe, "str | None"], Callable[[pd.DataFrame], dict[str, Any]]]
#: ``as_traded(symbol, timeframe, provider, since) -> (convert, basis)``: how a provider's
#: answers become as-traded bars before they are stored (raises PriceBasisError if they can't)
AsTradedFn = Callable[
    [str, Timeframe, "Provider", pd.Timestamp],
    tuple[Callable[[pd.DataFrame], pd.DataFrame], str],
]


class PageWriter:
    """Fetches a span from one provider and stores its pages in batches with their coverage.

    ``cache`` is the store; ``quality_fn(symbol, timeframe, source)`` the function computing a
    stored partition's quality block; ``as_traded`` (optional) puts each provider's answers on
    the as-traded basis before they are stored, and its basis is recorded in the partitions'
    ``provider_info``.
    """

    def __init__(
        self, cache: Store, quality_fn: QualityFn, as_traded: AsTradedFn | None = None
    ) -> None:
        self.cache = cache
        self._quality_fn = quality_fn
        self._as_traded = as_traded

    def fetch(
        self,
        prov: Provider,
        symbol: str,
        tf: Timeframe,
        want: Span,
        result: FetchResult,
        on_chunk: Callable[[Chunk], None] | None,
        proven: list[Span],
        notes: list[Unfetched],
        source: str | None = None,
    ) -> None:
        """Fetch ``want`` from one provider into the ``source`` series, storing in batches.

        Pages are buffered up to :data:`FLUSH_BARS` bars and written with the spans they
        prove in one go (a partition is re-encoded once per batch, not once per page).
        Whatever has arrived is stored before an error propagates, so failover continues
        from there; ``proven`` collects the spans stored as covered, ``notes`` the providers'
        reasons for what they could not prove.
        """
        convert: Callable[[pd.DataFrame], pd.DataFrame] | None = None
        info: dict[str, Any] | None = None
        if self._as_traded is not None:
            convert, basis = self._as_traded(symbol, tf, prov, want.start)
            info = {"basis": basis, "stored": "raw"}
        buffer: list[Chunk] = []
        pending = 0
        try:
            for chunk in prov.iter_chunks(symbol, tf, want.start, want.end):
                if convert is not None and len(chunk.frame):
                    chunk.frame = convert(chunk.frame)
                result.requests += chunk.requests
                result.bars += len(chunk.frame)
                notes.extend(chunk.unfetched)
                if chunk.proven and prov.name not in result.providers:
                    result.providers.append(prov.name)
                buffer.append(chunk)
                pending += len(chunk.frame)
                if on_chunk is not None:
                    on_chunk(chunk)
                if pending >= FLUSH_BARS:
                    proven += self.store(symbol, tf, buffer, source, info)
                    buffer, pending = [], 0
        finally:
            proven += self.store(symbol, tf, buffer, source, info)

    def store(
        self,
        symbol: str,
        tf: Timeframe,
        chunks: list[Chunk],
        series: str | None,
        info: dict[str, Any] | None = None,
    ) -> list[Span]:
        """Write the bars of one provider's chunks into the ``series`` source's series and
        record the spans they prove."""
        spans = _runs([Span(c.start, c.end) for c in chunks if c.proven], tf)
        if not spans:
            return []
        source = chunks[0].provider
        frames = [c.frame for c in chunks if len(c.frame)]
        if frames:
            data = pd.concat(frames) if len(frames) > 1 else frames[0]
            if not data.index.is_monotonic_increasing:
                data = data.sort_index(kind="stable")
            data = self._keep_open_interest(symbol, tf, data, series)
            first = spans[0]
            self.cache.write(
                symbol,
                tf.name,
                data,
                source=series,
                provider=source,
                provider_info=info,
                quality=self._quality_fn(symbol, tf, series),
                coverage=(first.start, first.end),  # data and coverage in one transaction
            )
            rest = spans[1:]
        else:
            rest = spans
        for span in rest:  # recorded after the data: a crash leaves less coverage, never more
            self.cache.add_coverage(symbol, tf.name, span.start, span.end, source, source=series)
        return spans

    def _keep_open_interest(
        self, symbol: str, tf: Timeframe, data: pd.DataFrame, series: str | None
    ) -> pd.DataFrame:
        """``data`` with the open interest stored for the same bars: bars fetched again (the
        re-checked newest ones, a refresh) keep it, as it comes from another endpoint
        (:mod:`tradedata.open_interest`). Only read where the series has coverage."""
        if OPEN_INTEREST in data.columns or data.empty:
            return data
        first, last = data.index[0], data.index[-1]
        spans = self.cache.coverage(symbol, tf.name, source=series)
        if not any(s.start <= last and s.end >= first for s in spans):
            return data
        stored = self.cache.read(symbol, tf.name, first, last, source=series)
        stored.attrs.pop("damaged", None)
        if OPEN_INTEREST not in stored.columns or stored[OPEN_INTEREST].isna().all():
            return data
        out = data.copy()
        out[OPEN_INTEREST] = stored[OPEN_INTEREST].reindex(data.index)
        return out


def _runs(spans: list[Span], tf: Timeframe) -> list[Span]:
    """``spans`` merged where they touch or overlap, oldest first."""
    out: list[Span] = []
    for span in sorted(spans, key=lambda s: s.start):
        if out and span.start <= tf.next_open(out[-1].end):
            if span.end > out[-1].end:
                out[-1] = Span(out[-1].start, span.end)
        else:
            out.append(span)
    return out
