"""Outputs of tradedata for other tools: backtrader feeds, the live store, zipline, pandas.

Names load lazily, so importing :mod:`tradedata.feeds` does not import backtrader or zipline
until a feed is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tradedata._lazy import lazy_module

__all__ = ["TradeDataFeed", "TradeDataLiveFeed", "TradeDataStore", "register_bundle"]

_LAZY = {
    "TradeDataFeed": "tradedata.feeds.backtrader",
    "TradeDataStore": "tradedata.feeds.live",
    "TradeDataLiveFeed": "tradedata.feeds.live",
    "register_bundle": "tradedata.feeds.zipline",
}

if TYPE_CHECKING:
    from tradedata.feeds.backtrader import TradeDataFeed
    from tradedata.feeds.live import TradeDataLiveFeed, TradeDataStore
    from tradedata.feeds.zipline import register_bundle


__getattr__, __dir__ = lazy_module(__name__, _LAZY)
