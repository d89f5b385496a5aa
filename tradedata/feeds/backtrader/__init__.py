"""backtrader feeds from tradedata: :class:`TradeDataFeed` (historical bars).

``feed`` holds the feed class, ``source`` turns frames into backtrader stamps and values,
``time`` converts between bar open times and backtrader's date numbers. The live feed and its
store are in :mod:`tradedata.feeds.live`.
"""

from __future__ import annotations

from tradedata.feeds.backtrader.feed import TradeDataFeed, infer_timeframe

__all__ = ["TradeDataFeed", "infer_timeframe"]
