"""Which source a request fills, who delivers it, and the opt-in failover across sources.

A series is ``(source, symbol, timeframe)`` (:mod:`tradedata.identity`). A request that names
no source fills the source of the first provider the selection rules pick; the providers
tried are those delivering that source. ``fallback="venues"`` (a call's, or a rule's
``fallback: venues``) then asks the other sources' providers for what the first source could
not deliver: their bars are stored in *their own* series, and the frame returned to the caller
shows them beside the first source's bars, labelled (``attrs["sources"]``), with the quality
report scoring the mix (:func:`score_mix`). The first source's series never holds them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tradedata.adapters.paging import Span, Unfetched, unproven_parts
from tradedata.errors import (
    InputError,
    MissingAPIKeyError,
    ProviderError,
    ProviderUnavailableError,
)
from tradedata.identity import default_source, is_crypto, normalize_source
from tradedata.model import Timeframe, parse_timeframe

if TYPE_CHECKING:
    from tradedata.cache.interface import Store
    from tradedata.selection import ProviderSelector
    from tradedata.validation import QualityReport

__all__ = [
    "FALLBACK_CHOICES",
    "cached_timeframes",
    "candidates_for",
    "check_fallback",
    "check_pinned",
    "covered_parts",
    "delete_read_series",
    "fill_from_other_sources",
    "labelled_frame",
    "other_sources",
    "resolve_source",
    "score_mix",
    "stored_series",
    "unfilled",
]

#: What ``fallback=`` accepts: ``"venues"`` (fill holes from other sources), ``"none"``.
FALLBACK_CHOICES = ("venues", "none")


def check_fallback(fallback: str | None) -> str | None:
    """``fallback`` checked (None keeps the rule's setting); raises :class:`InputError`."""
    if fallback is None or fallback in FALLBACK_CHOICES:
        return fallback
    raise InputError(f"fallback must be one of {', '.join(FALLBACK_CHOICES)}, got {fallback!r}")


def resolve_source(
    selector: ProviderSelector,
    symbol: str,
    tf: Timeframe,
    provider: str | None = None,
    exchange: str | None = None,
) -> str:
    """``exchange`` if named, else the pinned ``provider``'s source, else that of the first
    provider the rules pick (the symbol's default source when none is usable)."""
    if exchange:
        return normalize_source(exchange)
    if provider and provider != "cache":
        return selector.source_of(provider, symbol, tf.name)
    try:
        first = selector.get_provider_with_failover(symbol, tf.name)[0]
    except (ProviderError, MissingAPIKeyError, InputError):
        return default_source(symbol)
    return selector.source_of(first, symbol, tf.name)


def cached_timeframes(cache: Store, symbol: str) -> dict[str, list[str]]:
    """The timeframes with bars or coverage of ``symbol`` stored, each with its sources."""
    return stored_series(cache).get(symbol, {})


def stored_series(cache: Store) -> dict[str, dict[str, list[str]]]:
    """Every symbol with bars or coverage stored: its timeframes, each with its sources."""
    found: dict[str, dict[str, set[str]]] = {}
    for src, name, tf in cache.covered_series():
        found.setdefault(name, {}).setdefault(tf, set()).add(src)
    for info in cache.series():
        src = info.source or default_source(info.symbol)
        found.setdefault(info.symbol, {}).setdefault(info.timeframe, set()).add(src)
    return {
        sym: {tf: sorted(srcs) for tf, srcs in sorted(tfs.items())} for sym, tfs in found.items()
    }


def delete_read_series(
    cache: Store,
    resolve: Callable[[str, Timeframe, str | None, str | None], str],
    symbol: str,
    tf: Timeframe | None,
    named: str | None,
) -> list[tuple[str, str | None, int]]:
    """Delete the series a request for ``symbol`` reads: ``named``'s (every timeframe when
    ``tf`` is None), else at ``tf`` (or each cached timeframe) the source ``resolve(symbol,
    tf, provider, exchange)`` picks. Returns ``(source, timeframe, partitions removed)``."""
    if tf is None and named is not None:
        removed = cache.delete(symbol, None, source=named)
        return [(named, None, removed)] if removed else []
    done: list[tuple[str, str | None, int]] = []
    listed = cached_timeframes(cache, symbol) if tf is None else {}
    timeframes = [tf] if tf is not None else [parse_timeframe(t) for t in listed]
    for each in timeframes:
        src = named or resolve(symbol, each, None, None)
        removed = cache.delete(symbol, each.name, source=src)
        done += [(src, each.name, removed)] if removed else []
    return done


def check_pinned(
    selector: ProviderSelector, symbol: str, tf: Timeframe, provider: str, source: str
) -> None:
    """Raise :class:`InputError` when the pinned ``provider`` does not deliver ``source``
    (its bars would enter another source's series)."""
    delivers = selector.source_of(provider, symbol, tf.name)
    if delivers != source:
        raise InputError(
            f"provider {provider!r} delivers {symbol} from {delivers!r}, not {source!r}: "
            f"drop provider= or exchange="
        )


def candidates_for(
    selector: ProviderSelector, symbol: str, tf: Timeframe, source: str
) -> list[str]:
    """The rule's usable providers delivering ``source``, best first; for a crypto venue the
    rule does not list, the venue itself (its ccxt exchange id)."""
    try:
        names = selector.get_provider_with_failover(symbol, tf.name)
    except ProviderError:
        names = []
    same = [n for n in names if selector.source_of(n, symbol, tf.name) == source]
    if same:
        return same
    if is_crypto(symbol):
        return [source]
    raise ProviderUnavailableError(
        f"{symbol} {tf.name}: no usable provider delivers source {source!r} "
        f"(the rule's: {', '.join(names) or 'none'})"
    )


def other_sources(
    selector: ProviderSelector, symbol: str, tf: Timeframe, source: str
) -> dict[str, list[str]]:
    """The rule's usable providers of sources other than ``source``, grouped by source in the
    rule's order (what ``fallback="venues"`` tries)."""
    try:
        names = selector.get_provider_with_failover(symbol, tf.name)
    except ProviderError:
        return {}
    groups: dict[str, list[str]] = {}
    for name in names:
        other = selector.source_of(name, symbol, tf.name)
        if other != source:
            groups.setdefault(other, []).append(name)
    return groups


def fill_from_other_sources(
    cache: Store,
    selector: ProviderSelector,
    symbol: str,
    tf: Timeframe,
    result: Any,
    fetch: Callable[[Span, list[str], Any, str], None],
    new_result: Callable[..., Any],
) -> None:
    """``fallback="venues"``: ask the other sources, in the rule's order, for what
    ``result.source`` could not deliver, each into its own series; record what they proved in
    ``result.filled`` and keep in ``result.unfetched`` only what none proved.

    ``result`` is a :class:`~tradedata.fetching.FetchResult`; ``fetch(span, names, sub,
    source)`` fills ``span`` of the ``source`` series from ``names`` into the result ``sub``
    (made by ``new_result(source=...)``).
    """
    todo = [Span(u[0], u[1]) for u in result.unfetched]
    for other, names in other_sources(selector, symbol, tf, result.source).items():
        left: list[Span] = []
        for span in todo:
            sub = new_result(source=other)
            for a, b in cache.missing_ranges(symbol, tf.name, span.start, span.end, source=other):
                fetch(Span(a, b), names, sub, other)
            result.requests += sub.requests
            result.bars += sub.bars
            result.providers += [p for p in sub.providers if p not in result.providers]
            result.errors.update(sub.errors)
            result.failures.update(sub.failures)
            got = covered_parts(cache, symbol, tf, span, other)
            result.filled += [(part, other) for part in got]
            left += unproven_parts(span, got, tf)
        todo = left
        if not todo:
            break
    result.filled.sort(key=lambda item: item[0].start)
    result.unfetched = unfilled(result.unfetched, todo)


def covered_parts(cache: Store, symbol: str, tf: Timeframe, span: Span, source: str) -> list[Span]:
    """The parts of ``span`` the ``source`` series' coverage record holds."""
    return [
        Span(max(c.start, span.start), min(c.end, span.end))
        for c in cache.coverage(symbol, tf.name, source=source)
        if c.end >= span.start and c.start <= span.end
    ]


def unfilled(unfetched: list[Unfetched], todo: list[Span]) -> list[Unfetched]:
    """The parts in ``todo``, each with the reason of the unfetched range it lies in."""
    out = []
    for part in todo:
        reason = next((u.reason for u in unfetched if u[0] <= part.start <= u[1]), "")
        out.append(Unfetched(part.start, part.end, reason))
    return out


def labelled_frame(
    cache: Store,
    symbol: str,
    tf: Timeframe,
    own: pd.DataFrame,
    source: str,
    filled: list[tuple[Span, str]],
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """``own`` (the ``source`` series' bars read for the request) plus each filled span's bars
    from its own source; returns the frame and its source spans (``{"source", "start",
    "end", "bars"}``, one per run of consecutive bars from one source, oldest first)."""
    if not filled:  # one source: one run
        if own.empty:
            return own, []
        whole = {"source": source, "start": own.index[0], "end": own.index[-1]}
        return own, [{**whole, "bars": len(own)}]
    frames = [own]
    labels = [np.full(len(own), source, dtype=object)]
    for span, other in filled:
        part = cache.read(symbol, tf.name, span.start, span.end, source=other)
        part = part[~part.index.isin(own.index)]
        frames.append(part)
        labels.append(np.full(len(part), other, dtype=object))
    frame = pd.concat(frames)
    label = np.concatenate(labels)
    order = np.argsort(frame.index.asi8, kind="stable")
    frame, label = frame.iloc[order], label[order]
    frame.attrs.update(own.attrs)
    return frame, _runs(frame.index, label)


def _runs(index: pd.DatetimeIndex, label: np.ndarray) -> list[dict[str, Any]]:
    if not len(label):
        return []
    cuts = np.flatnonzero(label[1:] != label[:-1]) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [len(label)]))
    return [
        {"source": str(label[a]), "start": index[a], "end": index[b - 1], "bars": int(b - a)}
        for a, b in zip(starts, ends, strict=True)
    ]


def score_mix(report: QualityReport, spans: list[dict[str, Any]], source: str) -> QualityReport:
    """Score a frame that mixes sources: the share of bars from other sources than ``source``
    lowers the score (by half that share) and is named in ``validation_errors``."""
    total = sum(s["bars"] for s in spans)
    foreign: dict[str, int] = {}
    for span in spans:
        if span["source"] != source:
            foreign[span["source"]] = foreign.get(span["source"], 0) + span["bars"]
    if not total or not foreign:
        return report
    share = sum(foreign.values()) / total
    named = ", ".join(f"{n} bars from {s}" for s, n in foreign.items())
    report.validation_errors.append(
        f"mixed sources: {named} ({share:.1%} of {total}) fill what {source} could not deliver"
    )
    report.score = round(report.score * (1 - share / 2), 4)
    return report
