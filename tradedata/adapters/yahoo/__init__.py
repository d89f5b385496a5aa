"""Yahoo Finance via yfinance (see :mod:`tradedata.adapters.yahoo.provider`)."""

from __future__ import annotations

from tradedata.adapters.yahoo.provider import YahooProvider, yahoo_symbol
from tradedata.adapters.yahoo.session import YahooSession

__all__ = ["YahooProvider", "YahooSession", "yahoo_symbol"]
