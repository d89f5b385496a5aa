"""An in-memory provider for tests of the shared provider machinery and the manager.

It serves a fixed frame exactly as an exchange would (bars in [since, until], at most ``limit``),
can fail on chosen calls, and counts its calls. Real protocol clients are tested against the
simulator and the fake HTTP servers; this one tests the logic above them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from tradedata.adapters.base import Capabilities, Provider, ProviderSettings, RateLimit
from tradedata.adapters.paging import PagingRules
from tradedata.adapters.resilience import RetryPolicy
from tradedata.model import Timeframe, to_utc
from tradedata.symbols import AssetClass


def synthetic(start: str, periods: int, freq: str = "1min", seed: int = 0) -> pd.DataFrame:
    """A clean random-walk OHLCV frame."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range(start, periods=periods, freq=freq, tz="UTC", name="timestamp")
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, periods)))
    open_ = np.concatenate([[100.0], close[:-1]])
    high = np.maximum(open_, close) * 1.001
    low = np.minimum(open_, close) * 0.999
    vol = rng.uniform(1, 10, periods)
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": vol}, index=idx
    )


class MemoryProvider(Provider):
    """Serves ``data`` like an exchange; ``fail`` decides per call whether to raise."""

    name = "memory"
    capabilities = Capabilities(
        timeframes=("1m", "5m", "1h", "1d"),
        max_candles=100,
        asset_classes=frozenset({AssetClass.CRYPTO}),
        rate_limit=RateLimit(1_000_000, 1),
    )
    retry_policy = RetryPolicy(max_attempts=4, base_delay=0.0001)

    def __init__(
        self,
        data: pd.DataFrame,
        now: str | pd.Timestamp,
        *,
        name: str = "memory",
        fail: Callable[[int], Exception | None] | None = None,
        settings: ProviderSettings | None = None,
    ) -> None:
        self.name = name  # type: ignore[misc]
        super().__init__(settings)
        self.data = data
        self._now = to_utc(now)
        self.fail = fail
        self.pages = 0

    def now(self) -> pd.Timestamp:
        return self._now

    def paging_rules(self, timeframe: Timeframe) -> PagingRules:
        # what fetch_page below does: the oldest bars from since, up to an inclusive until
        return replace(
            super().paging_rules(timeframe), keeps="oldest", sends_end=True, short_page_is_end=True
        )

    def fetch_page(
        self,
        symbol: str,
        timeframe: Timeframe,
        since: pd.Timestamp,
        until: pd.Timestamp,
        limit: int,
    ) -> pd.DataFrame:
        self.pages += 1
        if self.fail is not None:
            err = self.fail(self.pages)
            if err is not None:
                raise err
        # like an exchange: bars from since, the open candle included
        visible = self.data[self.data.index <= self._now]
        return visible[(visible.index >= since) & (visible.index <= until)].iloc[:limit]
