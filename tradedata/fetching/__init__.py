"""The fetch engine owned by :class:`~tradedata.manager.DataManager`.

:class:`FetchEngine` is the one home of fetching: it finds the holes of the coverage record,
drives each candidate provider's page loop (pages asked and judged by the page contract,
:mod:`tradedata.adapters.paging`), fails over mid-request, and records coverage only for the
spans an answer *proved*. What no provider could prove is reported with its reason
(:attr:`FetchResult.unfetched`), never recorded as fetched, so the next call asks again.

Pages are buffered and written to the cache together with their coverage (one transaction per
batch), so an interrupted fetch resumes where it stopped and a failing provider's partial work
is kept. The still-open candle is never stored (providers clip at their own clock), and the
newest stored bars are fetched again when a series is extended.

Every fetch fills one series, ``(source, symbol, timeframe)`` (:mod:`tradedata.identity`):
only providers delivering that source are tried, and their bars are stored under it. With
``fallback="venues"`` (a call's or the rule's), what the source could not deliver is then
fetched from the other sources' providers into *their own* series, and
:attr:`FetchResult.filled` says which source proved which span: the caller may show those
bars, labelled, but they never enter the first source's series.

The parts, one idea each:

- :mod:`~tradedata.fetching.engine`: :class:`FetchEngine` (holes, failover, re-checks,
  deadlines, venue fallback, reads that heal damaged ranges);
- :mod:`~tradedata.fetching.pages`: :class:`~tradedata.fetching.pages.PageWriter`, one
  provider's page loop and the batched writes of the spans it proves (open interest kept on
  bars fetched again);
- :mod:`~tradedata.fetching.result`: :class:`FetchResult`, what one fetch did;
- :mod:`~tradedata.fetching.bounds`: the storable years (:func:`storable_range`) and the
  default depth (:data:`DEFAULT_BARS`, :func:`bars_before`).
"""

from tradedata.fetching.bounds import DEFAULT_BARS, bars_before, storable_range
from tradedata.fetching.engine import CACHE_ONLY, FetchEngine
from tradedata.fetching.engine import RECHECK_BARS as RECHECK_BARS
from tradedata.fetching.engine import RECHECK_SECONDS as RECHECK_SECONDS
from tradedata.fetching.pages import FLUSH_BARS as FLUSH_BARS
from tradedata.fetching.pages import AsTradedFn as AsTradedFn
from tradedata.fetching.pages import QualityFn as QualityFn
from tradedata.fetching.result import FetchResult

__all__ = [
    "CACHE_ONLY",
    "DEFAULT_BARS",
    "FetchEngine",
    "FetchResult",
    "bars_before",
    "storable_range",
]
