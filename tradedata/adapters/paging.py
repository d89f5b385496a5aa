"""How an exchange pages its bars, as data, and the one page contract built on it.

:class:`PagingRules` says what a provider's bar endpoint does with a request (``since``, an
optional end, ``limit``): how many candles one answer holds, which end of an over-full window it
keeps, whether the end is inclusive, the widest window accepted and how deep its history goes.
Providers declare them (:meth:`tradedata.adapters.base.Provider.paging_rules`); the page
contract in this module decides from them what each answer proves.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from tradedata.model import Timeframe

__all__ = [
    "CONTINUE",
    "DONE",
    "KEEPS",
    "UNPROVABLE",
    "PageDecision",
    "PagePlan",
    "PageRequest",
    "PagingRules",
    "Span",
    "Unfetched",
    "decide",
    "plan",
    "request_for",
    "unproven_parts",
]

#: Values of :attr:`PagingRules.keeps`.
KEEPS = ("oldest", "newest", "unknown")


@dataclass(frozen=True)
class PagingRules:
    """What one provider's bar endpoint does with ``since`` / end / ``limit``.

    The defaults are the conservative ones: pages asked by ``since`` + ``limit`` only, nothing
    trusted beyond the bars an answer actually holds.
    """

    #: candles per request
    max_candles: int
    #: which end an over-full window keeps: "oldest" (from since) | "newest" (before end) |
    #: "unknown"
    keeps: str = "unknown"
    #: whether requests carry the window end (ccxt ``until``)
    sends_end: bool = False
    #: is a bar opening exactly at the end returned
    end_inclusive: bool = True
    #: widest window (in candles) the exchange accepts
    max_window: int | None = None
    #: bars back from now the exchange serves (None: unlimited)
    history_bars: int | None = None
    #: why older bars cannot be fetched, e.g. "kraken keeps only the latest 720 1h bars"
    history_reason: str = ""
    #: a page shorter than asked proves "no more bars" up to the end
    short_page_is_end: bool = False

    def __post_init__(self) -> None:
        if self.max_candles < 1:
            raise ValueError(f"max_candles must be at least 1, not {self.max_candles}")
        if self.keeps not in KEEPS:
            raise ValueError(f"keeps must be one of {KEEPS}, not {self.keeps!r}")
        if self.max_window is not None and self.max_window < 1:
            raise ValueError(f"max_window must be at least 1, not {self.max_window}")
        if self.history_bars is not None and self.history_bars < 1:
            raise ValueError(f"history_bars must be at least 1, not {self.history_bars}")


#: Verdicts of :class:`PageDecision`.
CONTINUE, DONE, UNPROVABLE = "continue", "done", "unprovable"


@dataclass(frozen=True)
class Span:
    """Bar opens ``start`` .. ``end``, both inclusive."""

    start: pd.Timestamp
    end: pd.Timestamp


class Unfetched(tuple[pd.Timestamp, pd.Timestamp]):
    """Bar opens ``start`` .. ``end`` (inclusive) that could not be proven, and ``reason``.

    A ``(start, end)`` pair (it unpacks and compares like one) that also carries the reason.
    """

    reason: str

    def __new__(cls, start: pd.Timestamp, end: pd.Timestamp, reason: str = "") -> Unfetched:
        self = super().__new__(cls, (start, end))
        self.reason = reason
        return self

    @property
    def start(self) -> pd.Timestamp:
        """The first bar open not fetched."""
        return self[0]

    @property
    def end(self) -> pd.Timestamp:
        """The last bar open not fetched."""
        return self[1]

    def __getnewargs__(self) -> tuple[pd.Timestamp, pd.Timestamp, str]:  # type: ignore[override]
        return (self[0], self[1], self.reason)

    def __repr__(self) -> str:
        return f"Unfetched({self[0]!r}, {self[1]!r}, reason={self.reason!r})"

    def __str__(self) -> str:
        text = f"{_fmt(self[0])}..{_fmt(self[1])}"
        return f"{text} ({self.reason})" if self.reason else text


@dataclass(frozen=True)
class PageRequest:
    """One page to ask for: bars opening in ``[since, until]``, at most ``limit``.

    ``end`` is the window end to send (None: no end is sent); for an exchange whose end is
    exclusive it is the open after ``until``.
    """

    since: pd.Timestamp
    until: pd.Timestamp
    limit: int
    end: pd.Timestamp | None = None


@dataclass(frozen=True)
class PagePlan:
    """Where fetching a range starts: ranges to fetch, the first request, the unfetchable part."""

    todo: tuple[Span, ...]
    next: PageRequest | None
    unfetched: tuple[Unfetched, ...] = ()


@dataclass(frozen=True)
class PageDecision:
    """What one answer means (see :func:`decide`).

    ``keep`` holds the answer's bars inside the window (deduplicated, oldest first);
    ``proven`` the span the answer proves (None: nothing); ``todo`` the parts of the wanted
    range still to fetch, in order, and ``next`` the request for the first of them;
    ``unfetched`` what this answer shows cannot be proven. ``verdict`` is :data:`CONTINUE`,
    :data:`DONE` or :data:`UNPROVABLE` (something was given up; ``reason`` says why, and
    ``next`` may still be set for the rest).
    """

    keep: pd.DataFrame
    proven: Span | None
    todo: tuple[Span, ...]
    next: PageRequest | None
    verdict: str
    unfetched: tuple[Unfetched, ...] = ()
    reason: str = ""


def _shift(tf: Timeframe, ts: pd.Timestamp, bars: int) -> pd.Timestamp:
    """The open ``bars`` bars after (before, when negative) the open ``ts``."""
    if tf.unit == "M":
        return ts + pd.DateOffset(months=bars * tf.amount)
    return ts + bars * tf.delta


def _prev(tf: Timeframe, ts: pd.Timestamp) -> pd.Timestamp:
    return tf.floor(ts - pd.Timedelta(nanoseconds=1))


def _slots(tf: Timeframe, start: pd.Timestamp, end: pd.Timestamp) -> int:
    """How many bar opens lie in ``[start, end]`` on a 24/7 clock."""
    if end < start:
        return 0
    if tf.unit == "M":
        months = (end.year - start.year) * 12 + end.month - start.month
        return months // tf.amount + 1
    return int((end - start) // tf.delta) + 1


def _fmt(ts: pd.Timestamp) -> str:
    return f"{ts:%Y-%m-%d %H:%M}"


def _backward(rules: PagingRules) -> bool:
    return rules.keeps == "newest" and rules.sends_end


def request_for(want: Span, rules: PagingRules, tf: Timeframe) -> PageRequest:
    """The request for the range ``want`` under ``rules``.

    Forward (from ``want.start``) unless the exchange keeps the newest bars of a window whose
    end it takes: then backward (ending at ``want.end``). The window is at most ``max_window``
    candles wide.
    """
    since, until = want.start, want.end
    if rules.max_window is not None and rules.sends_end:
        if _backward(rules):
            since = max(since, _shift(tf, until, -(rules.max_window - 1)))
        else:
            until = min(until, _shift(tf, since, rules.max_window - 1))
    end = None
    if rules.sends_end:
        end = until if rules.end_inclusive else tf.next_open(until)
    return PageRequest(since, until, rules.max_candles, end)


def plan(want: Span, rules: PagingRules, tf: Timeframe, now: pd.Timestamp) -> PagePlan:
    """Start fetching ``want``: the part older than the history depth is unfetchable."""
    unfetched: list[Unfetched] = []
    lo = want.start
    if rules.history_bars is not None:
        oldest = _shift(tf, tf.floor(now), -(rules.history_bars - 1))
        if lo < oldest:
            reason = rules.history_reason or (
                f"only the latest {rules.history_bars} {tf.name} bars are served"
            )
            unfetched.append(Unfetched(lo, min(want.end, _prev(tf, oldest)), reason))
            lo = oldest
    if lo > want.end:
        return PagePlan((), None, tuple(unfetched))
    first = Span(lo, want.end)
    return PagePlan((first,), request_for(first, rules, tf), tuple(unfetched))


def _window_bars(bars: pd.DataFrame, req: PageRequest) -> pd.DataFrame:
    index = bars.index
    kept = bars[(index >= req.since) & (index <= req.until)]
    if not kept.index.is_unique:
        kept = kept[~kept.index.duplicated(keep="last")]
    if not kept.index.is_monotonic_increasing:
        kept = kept.sort_index()
    return kept


def _after(tf: Timeframe, ts: pd.Timestamp, want: Span) -> tuple[Span, ...]:
    nxt = tf.next_open(ts)
    return (Span(nxt, want.end),) if nxt <= want.end else ()


def _before(tf: Timeframe, ts: pd.Timestamp, want: Span) -> tuple[Span, ...]:
    prev = _prev(tf, ts)
    return (Span(want.start, prev),) if prev >= want.start else ()


@dataclass(frozen=True)
class _Outcome:
    proven: Span | None
    todo: tuple[Span, ...]
    unfetched: tuple[Unfetched, ...] = ()


def _told_complete(
    req: PageRequest, keep: pd.DataFrame, want: Span, tf: Timeframe, complete: bool, source: str
) -> _Outcome:
    """A provider marking its pages: complete, or the oldest bars from since and more to come."""
    if complete:
        return _Outcome(Span(req.since, req.until), _after(tf, req.until, want))
    if len(keep):
        last = keep.index[-1]
        return _Outcome(Span(req.since, last), _after(tf, last, want))
    gone = Unfetched(req.since, req.until, f"{source} sent an empty page it did not call complete")
    return _Outcome(None, _after(tf, req.until, want), (gone,))


def _oldest(
    req: PageRequest, keep: pd.DataFrame, bars: pd.DataFrame, full: bool, want: Span,
    rules: PagingRules, tf: Timeframe, source: str,
) -> _Outcome:  # fmt: skip
    whole = _Outcome(Span(req.since, req.until), _after(tf, req.until, want))
    if len(bars) and bars.index.max() > req.until:
        return whole  # the oldest bars from since reach past the window: all of it is here
    if len(keep):
        if not full and rules.short_page_is_end:
            return whole
        last = keep.index[-1]
        return _Outcome(Span(req.since, last), _after(tf, last, want))
    if rules.short_page_is_end or req.end is not None:
        return whole  # an empty answer to a window the exchange honours
    gone = Unfetched(
        req.since,
        req.until,
        f"{source} sent no bars from {_fmt(req.since)}; a short answer is not known to mean "
        "none exist",
    )
    return _Outcome(None, _after(tf, req.until, want), (gone,))


def _newest_backward(
    req: PageRequest, keep: pd.DataFrame, full: bool, want: Span, rules: PagingRules,
    tf: Timeframe,
) -> _Outcome:  # fmt: skip
    earlier = _before(tf, req.since, want)
    whole = _Outcome(Span(req.since, req.until), earlier)
    if not len(keep):
        return whole  # the newest bars of the window: there are none
    if full and _slots(tf, req.since, req.until) <= req.limit:
        return whole  # a window that cannot be over-full came back whole
    if not full and rules.short_page_is_end:
        return whole
    first = keep.index[0]
    return _Outcome(Span(first, req.until), _before(tf, first, want))


def _newest_to_now(
    req: PageRequest, keep: pd.DataFrame, bars: pd.DataFrame, full: bool, want: Span,
    rules: PagingRules, tf: Timeframe, source: str,
) -> _Outcome:  # fmt: skip
    if not len(bars) or (not full and rules.short_page_is_end):
        return _Outcome(Span(req.since, req.until), _after(tf, req.until, want))
    reason = rules.history_reason or (
        f"{source} answers only its newest {rules.max_candles} {tf.name} bars"
    )
    oldest = bars.index.min()
    if oldest > req.until:
        gone = Unfetched(req.since, req.until, reason)
        return _Outcome(None, _after(tf, req.until, want), (gone,))
    gone = Unfetched(req.since, _prev(tf, oldest), reason)
    lost = (gone,) if oldest > req.since else ()
    return _Outcome(Span(max(oldest, req.since), req.until), _after(tf, req.until, want), lost)


def _unknown(
    req: PageRequest, keep: pd.DataFrame, want: Span, rules: PagingRules, tf: Timeframe,
    source: str,
) -> _Outcome:  # fmt: skip
    if not len(keep):
        gone = Unfetched(
            req.since,
            req.until,
            f"{source} sent no bars from {_fmt(req.since)} and its paging rules do not say that "
            "means none exist",
        )
        return _Outcome(None, _after(tf, req.until, want), (gone,))
    first, last = keep.index[0], keep.index[-1]
    after = _after(tf, last, want)
    if first == req.since:
        return _Outcome(Span(first, last), after)
    gap = Span(req.since, _prev(tf, first))
    if rules.sends_end:  # a narrower request tells a trading gap from bars left out
        return _Outcome(Span(first, last), (gap, *after))
    gone = Unfetched(
        gap.start,
        gap.end,
        f"{source} answered from {_fmt(first)} when asked from {_fmt(req.since)}; nothing "
        "proves there are no bars before",
    )
    return _Outcome(Span(first, last), after, (gone,))


def decide(
    want: Span,
    request: PageRequest,
    bars: pd.DataFrame,
    rules: PagingRules,
    tf: Timeframe,
    *,
    complete: bool | None = None,
    source: str = "the provider",
) -> PageDecision:
    """What the answer ``bars`` to ``request`` (made for the range ``want``) proves.

    ``bars`` is the answer as received (OHLCV schema, any bars, possibly outside the window);
    ``complete`` is the provider's own claim when it marks its pages (next-page tokens,
    one-shot ranges). ``source`` names the provider in reasons. See the module docstring for
    the rules.
    """
    keep = _window_bars(bars, request)
    full = len(bars) >= request.limit
    if complete is not None:
        out = _told_complete(request, keep, want, tf, complete, source)
    elif rules.keeps == "oldest":
        out = _oldest(request, keep, bars, full, want, rules, tf, source)
    elif _backward(rules):
        out = _newest_backward(request, keep, full, want, rules, tf)
    elif rules.keeps == "newest":
        out = _newest_to_now(request, keep, bars, full, want, rules, tf, source)
    else:
        out = _unknown(request, keep, want, rules, tf, source)
    nxt = request_for(out.todo[0], rules, tf) if out.todo else None
    if out.unfetched:
        verdict, reason = UNPROVABLE, "; ".join(u.reason for u in out.unfetched)
    else:
        verdict, reason = (CONTINUE if nxt is not None else DONE), ""
    return PageDecision(keep, out.proven, out.todo, nxt, verdict, out.unfetched, reason)


def unproven_parts(want: Span, proven: list[Span], tf: Timeframe) -> list[Span]:
    """The parts of ``want`` that no span in ``proven`` covers, oldest first."""
    out: list[Span] = []
    cursor = want.start
    for span in sorted(proven, key=lambda s: s.start):
        if span.end < cursor or span.start > want.end:
            continue
        if span.start > cursor:
            out.append(Span(cursor, _prev(tf, span.start)))
        cursor = max(cursor, tf.next_open(span.end))
        if cursor > want.end:
            return out
    if cursor <= want.end:
        out.append(Span(cursor, want.end))
    return out
