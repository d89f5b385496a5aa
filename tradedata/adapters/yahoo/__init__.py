"""Yahoo Finance via yfinance (see :mod:`tradedata.adapters.yahoo.provider`)."""

from __future__ import annotations

from tradedata.adapters.yahoo.provider import YahooProvider, yahoo_symbol
from tradedata.adapters.yahoo.session import YahooSession
from tradedata.logs import route_yfinance

route_yfinance()  # yfinance's own messages go through tradedata.yfinance, not stderr

__all__ = ["YahooProvider", "YahooSession", "yahoo_symbol"]
