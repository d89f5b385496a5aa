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
from tradedata.model import Timeframe

if TYPE_CHECKING:
    from tradedata.cache import Cache
    from tradedata.selection import ProviderSelector
    from tradedata.validation import QualityReport

__all__ = [
    "FALLBACK_CHOICES",
    "candidates_for",
    "check_fallback",
    "check_pinned",
    "covered_parts",
    "labelled_frame",
    "other_sources",
    "remaining",
    "resolve_source",
    "score_mix",
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


def covered_parts(cache: Cache, symbol: str, tf: Timeframe, span: Span, source: str) -> list[Span]:
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


def remaining(span: Span, proven: list[Span], tf: Timeframe) -> list[Span]:
    """What of ``span`` no span in ``proven`` covers."""
    return unproven_parts(span, proven, tf)


def labelled_frame(
    cache: Cache,
    symbol: str,
    tf: Timeframe,
    start: Any,
    end: Any,
    source: str,
    filled: list[tuple[Span, str]],
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The ``source`` series' bars in ``[start, end]`` plus each filled span's bars from its
    own source; returns the frame and its source spans (``{"source", "start", "end",
    "bars"}``, one per run of consecutive bars from one source, oldest first)."""
    frames = [cache.read(symbol, tf.name, start, end, source=source)]
    labels = [np.full(len(frames[0]), source, dtype=object)]
    for span, other in filled:
        part = cache.read(symbol, tf.name, span.start, span.end, source=other)
        part = part[~part.index.isin(frames[0].index)]
        frames.append(part)
        labels.append(np.full(len(part), other, dtype=object))
    frame = pd.concat(frames) if len(frames) > 1 else frames[0]
    label = np.concatenate(labels) if labels else np.array([], dtype=object)
    if len(frames) > 1:
        order = np.argsort(frame.index.asi8, kind="stable")
        frame, label = frame.iloc[order], label[order]
    return frame, _runs(frame.index, label)


def _runs(index: pd.DatetimeIndex, label: np.ndarray) -> list[dict[str, Any]]:
    spans: list[dict[str, Any]] = []
    for i, name in enumerate(label):
        if spans and spans[-1]["source"] == name:
            spans[-1]["end"] = index[i]
            spans[-1]["bars"] += 1
        else:
            spans.append({"source": str(name), "start": index[i], "end": index[i], "bars": 1})
    return spans


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
