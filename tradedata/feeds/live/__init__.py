"""Live trading data: a store per exchange, live feeds, a paper broker, and a plain live feed.

``store`` holds :class:`TradeDataStore`, ``feed`` :class:`TradeDataLiveFeed`, ``broker`` the
paper broker; ``plain`` the backtrader-free :class:`~tradedata.feeds.live.plain.LiveFeed`
(``DataManager.get_live_feed``); ``hub`` (shared websockets), ``dialects`` (exchange message
formats), ``poll`` (REST polling), ``rest`` (backfill and cache writes), ``seam`` (joining
history to the stream), ``series`` (one feed's bar flow) and ``model`` (plain data shared by
all of them).

Names load lazily, so the backtrader-free modules (everything but ``store``, ``feed`` and
``broker``) can be imported without backtrader. The feed module imports the store module,
never the other way round: ``TradeDataStore`` is loaded through the feed module, which
registers itself as the store's ``DataCls`` (what ``getdata`` makes), as backtrader's own live
feeds do with their stores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tradedata._lazy import lazy_module

__all__ = [
    "LiveFeed",
    "LiveSettings",
    "PaperBroker",
    "StoreNotice",
    "TradeDataLiveFeed",
    "TradeDataStore",
]

_LAZY = {
    "LiveFeed": "tradedata.feeds.live.plain",
    "LiveSettings": "tradedata.feeds.live.model",
    "PaperBroker": "tradedata.feeds.live.broker",
    "StoreNotice": "tradedata.feeds.live.model",
    "TradeDataLiveFeed": "tradedata.feeds.live.feed",
    "TradeDataStore": "tradedata.feeds.live.feed",  # the feed module registers DataCls
}

if TYPE_CHECKING:
    from tradedata.feeds.live.broker import PaperBroker
    from tradedata.feeds.live.feed import TradeDataLiveFeed
    from tradedata.feeds.live.model import LiveSettings, StoreNotice
    from tradedata.feeds.live.plain import LiveFeed
    from tradedata.feeds.live.store import TradeDataStore


__getattr__, __dir__ = lazy_module(__name__, _LAZY)
