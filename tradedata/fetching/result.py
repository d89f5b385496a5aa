"""What one fetch did: :class:`FetchResult`, filled in by :class:`~tradedata.fetching.FetchEngine`.

Bars and requests counted, the providers whose answers proved a span, each provider's error,
and the ranges no provider could prove (:attr:`FetchResult.unfetched`, each with its reason):
the caller sees what is missing and why, never a silent hole.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tradedata.adapters.paging import Span, Unfetched

__all__ = ["FetchResult"]


@dataclass
class FetchResult:
    """What one :meth:`DataManager.fetch_missing` call did."""

    bars: int = 0
    requests: int = 0
    providers: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    #: ranges not fetched, each a ``(start, end)`` pair with its ``reason``
    unfetched: list[Unfetched] = field(default_factory=list)
    #: the exception behind each entry of ``errors``
    failures: dict[str, BaseException] = field(default_factory=dict, repr=False)
    #: the series' source (venue or equity volume scope) the fetch filled
    source: str = ""
    #: with ``fallback="venues"``: spans another source proved, as ``(span, source)``, oldest
    #: first; their bars are stored in that source's series, and the range is still listed in
    #: ``unfetched`` for this ``source`` only when no other source proved it either
    filled: list[tuple[Span, str]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when every hole in the requested range was fetched."""
        return not self.unfetched

    def reasons(self) -> str:
        """One line naming every range not fetched and why ("" when complete)."""
        return "; ".join(str(u) for u in self.unfetched)
