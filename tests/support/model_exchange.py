"""A model exchange in pure Python: any paging rule, trading gaps, zero-trade bars, no server.

:class:`ModelExchange` holds 1m bars by minute index from :data:`BASE` and answers a request
(``since``, optional end, ``limit``) the way the :class:`~tradedata.adapters.paging.PagingRules`
it is built with say an exchange does: which end of an over-full window it keeps (an exchange
whose rules say "unknown" keeps the end named by ``truth``), inclusive or exclusive end, the
widest window it accepts (a wider one is refused and counted as a violation), its history depth
a silent cap below ``max_candles`` where the rules do not trust short pages, and one failing
request (``fail_at``) to exercise failover and resuming. The bar at
``now`` is still open and is served like any other (exchanges do). :class:`ModelProvider` puts
it behind the real provider machinery, so the real engine pages it.

:func:`optimal_requests` is an oracle that knows every bar: the fewest requests any pager
needs to prove a range under rules that can prove one (oldest-first with trusted short pages,
or newest-before-the-end), by the greedy argument (each request can at best reach the
``limit``-th bar or the window edge from where the proven part ends).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tradedata.adapters.base import Capabilities, Provider, RateLimit
from tradedata.adapters.paging import PagingRules
from tradedata.adapters.resilience import RetryPolicy
from tradedata.errors import TemporaryProviderError, UnsupportedError
from tradedata.model import Timeframe
from tradedata.symbols import AssetClass

BASE = pd.Timestamp("2024-01-01", tz="UTC")
MINUTE = pd.Timedelta(minutes=1)
#: Requests after which a fetch counts as an endless loop.
HARD_CAP = 2_000


def ts(index: int) -> pd.Timestamp:
    """The open time of minute ``index``."""
    return BASE + index * MINUTE


def index_of(when: pd.Timestamp) -> int:
    """The minute index of an aligned open time."""
    return int((when - BASE) // MINUTE)


@dataclass
class ModelExchange:
    """Bars at the minute indexes ``present`` (``zero`` of them without trades)."""

    rules: PagingRules
    present: list[int]
    now_index: int
    zero: frozenset[int] = frozenset()
    truth: str = "oldest"
    cap: int | None = None
    #: the request (1-based) that fails with a temporary error, once
    fail_at: int | None = None
    requests: int = 0
    violations: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.present = sorted(set(self.present))
        self.rows: dict[int, tuple[float, float, float, float, float]] = {}
        close = 100.0
        for i in self.present:
            if i in self.zero:  # a closed candle with no trades: flat at the last close
                self.rows[i] = (close, close, close, close, 0.0)
            else:
                o = close
                close = 100.0 + (i * 7919 % 1000) / 100.0
                self.rows[i] = (o, max(o, close) + 0.5, min(o, close) - 0.5, close, 1.0 + i % 5)

    @property
    def keeps(self) -> str:
        """Which end an over-full window keeps, whatever the rules admit to."""
        return self.rules.keeps if self.rules.keeps != "unknown" else self.truth

    @property
    def oldest_served(self) -> int:
        """The oldest minute served (history depth counted back from the open bar)."""
        depth = self.rules.history_bars
        return -(10**9) if depth is None else self.now_index - (depth - 1)

    def served(self) -> list[int]:
        """Every bar the exchange would ever hand out (the open one included)."""
        return [i for i in self.present if self.oldest_served <= i <= self.now_index]

    def closed(self, lo: int, hi: int) -> list[int]:
        """Closed, servable bars with ``lo <= index <= hi``."""
        return [i for i in self.served() if lo <= i <= min(hi, self.now_index - 1)]

    def answer(self, since: pd.Timestamp, end: pd.Timestamp | None, limit: int) -> list[int]:
        """The minute indexes answered to one request."""
        self.requests += 1
        if self.requests > HARD_CAP:
            raise RuntimeError("endless paging loop")
        if self.requests == self.fail_at:
            raise TemporaryProviderError("model: 503 (injected)", provider="model")
        lo = index_of(since)
        if end is None:
            hi = self.now_index
        else:
            hi = index_of(end) if self.rules.end_inclusive else index_of(end) - 1
            window = self.rules.max_window
            if window is not None and hi - lo + 1 > window:
                self.violations.append(f"window {lo}..{hi} over {window}")
                raise UnsupportedError(f"window over {window} candles", provider="model")
        take = min(limit, self.cap or limit)
        inside = [i for i in self.served() if lo <= i <= hi]
        return inside[:take] if self.keeps == "oldest" else inside[-take:]

    def frame(self, indexes: list[int]) -> pd.DataFrame:
        """The OHLCV frame of the bars at ``indexes``."""
        idx = pd.DatetimeIndex([ts(i) for i in indexes], name="timestamp")
        values = np.array([self.rows[i] for i in indexes], dtype=np.float64).reshape(-1, 5)
        return pd.DataFrame(values, index=idx, columns=["open", "high", "low", "close", "volume"])


class ModelProvider(Provider):
    """The model exchange behind the provider contract (no retries, no re-asked empty pages)."""

    name = "model"
    capabilities = Capabilities(
        timeframes=("1m",),
        max_candles=1000,
        asset_classes=frozenset({AssetClass.CRYPTO}),
        rate_limit=RateLimit(1_000_000, 1),
    )
    retry_policy = RetryPolicy(max_attempts=1, base_delay=0.0001)
    #: the model never glitches: an empty answer is the answer
    empty_page_retries = 0

    def __init__(self, model: ModelExchange, name: str = "model") -> None:
        self.__dict__["name"] = name
        self.__dict__["capabilities"] = Capabilities(
            timeframes=("1m",),
            max_candles=model.rules.max_candles,
            asset_classes=frozenset({AssetClass.CRYPTO}),
            rate_limit=RateLimit(1_000_000, 1),
        )
        super().__init__()
        self.model = model

    def now(self) -> pd.Timestamp:
        return ts(self.model.now_index) + pd.Timedelta(seconds=30)

    def paging_rules(self, timeframe: Timeframe) -> PagingRules:
        return self.model.rules

    def fetch_page(
        self,
        symbol: str,
        timeframe: Timeframe,
        since: pd.Timestamp,
        until: pd.Timestamp,
        limit: int,
    ) -> pd.DataFrame:
        end = until if self.model.rules.sends_end else None
        return self.model.frame(self.model.answer(since, end, limit))


def provable(rules: PagingRules) -> bool:
    """Rules under which every range can be proven (the oracle knows the minimum)."""
    if rules.keeps == "oldest":
        return rules.short_page_is_end
    return rules.keeps == "newest" and rules.sends_end and rules.short_page_is_end


def optimal_requests(model: ModelExchange, lo: int, hi: int) -> int:
    """The fewest requests proving ``[lo, hi]`` under ``provable`` rules (greedy is optimal)."""
    rules, limit = model.rules, model.rules.max_candles
    served = model.served()
    lo = max(lo, model.oldest_served)
    hi = min(hi, model.now_index - 1)
    count = 0
    window = rules.max_window if rules.sends_end else None
    if rules.keeps == "oldest":
        p = lo
        while p <= hi:
            count += 1
            edge = hi if window is None else min(hi, p + window - 1)
            top = edge if rules.sends_end else model.now_index
            got = [i for i in served if p <= i <= top][:limit]
            p = edge + 1 if len(got) < limit else min(got[-1], edge) + 1
        return count
    q = hi
    while q >= lo:
        count += 1
        start = lo if window is None else max(lo, q - window + 1)
        got = [i for i in served if start <= i <= q]
        fits = q - start + 1 <= limit
        q = start - 1 if len(got) < limit or fits else got[-limit] - 1
    return count
