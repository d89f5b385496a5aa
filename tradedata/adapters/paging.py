"""How an exchange pages its bars, as data, and the one page contract built on it.

:class:`PagingRules` says what a provider's bar endpoint does with a request (``since``, an
optional end, ``limit``): how many candles one answer holds, which end of an over-full window it
keeps, whether the end is inclusive, the widest window accepted and how deep its history goes.
Providers declare them (:meth:`tradedata.adapters.base.Provider.paging_rules`); the page
contract in this module decides from them what each answer proves.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KEEPS", "PagingRules"]

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
