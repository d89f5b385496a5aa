"""Live trading data for backtrader: a store per exchange, live feeds, a paper broker.

``store`` holds :class:`TradeDataStore`, ``feed`` :class:`TradeDataLiveFeed`, ``broker`` the
paper broker; ``hub`` (shared websockets), ``dialects`` (exchange message formats), ``poll``
(REST polling), ``rest`` (backfill and cache writes), ``seam`` (joining history to the stream),
``series`` (one feed's bar flow) and ``model`` (plain data shared by all of them).

The feed module imports the store module, never the other way round: importing the package
imports the feed, which registers itself as the store's ``DataCls`` (what ``getdata`` makes),
as backtrader's own live feeds do with their stores.
"""

from __future__ import annotations

from tradedata.feeds.live.broker import PaperBroker
from tradedata.feeds.live.feed import TradeDataLiveFeed
from tradedata.feeds.live.model import LiveSettings, StoreNotice
from tradedata.feeds.live.store import TradeDataStore

__all__ = ["LiveSettings", "PaperBroker", "StoreNotice", "TradeDataLiveFeed", "TradeDataStore"]
