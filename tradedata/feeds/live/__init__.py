"""Live trading data for backtrader: a store per exchange, live feeds, a paper broker.

``store`` holds :class:`TradeDataStore`, ``feed`` :class:`TradeDataLiveFeed`, ``broker`` the
paper broker; ``hub`` (shared websockets), ``dialects`` (exchange message formats), ``poll``
(REST polling), ``rest`` (backfill and cache writes), ``seam`` (joining history to the stream),
``series`` (one feed's bar flow) and ``model`` (plain data shared by all of them).
"""

from __future__ import annotations

from tradedata.feeds.live.store import (
    LiveSettings,
    PaperBroker,
    StoreNotice,
    TradeDataLiveFeed,
    TradeDataStore,
)

__all__ = ["LiveSettings", "PaperBroker", "StoreNotice", "TradeDataLiveFeed", "TradeDataStore"]
