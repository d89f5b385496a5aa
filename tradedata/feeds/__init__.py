"""Outputs of tradedata for other tools: backtrader feeds, the live store, zipline, pandas.

Names load lazily, so importing :mod:`tradedata.feeds` does not import backtrader or zipline
until a feed is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tradedata.feeds' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
