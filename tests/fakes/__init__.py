"""Fake HTTP servers for the stock data providers, reusable by every test suite.

:class:`FakeProviderServer` plays one provider (Yahoo's chart/quoteSummary endpoints, Alpha
Vantage, FMP, Alpaca, Polygon, Tiingo, CoinGecko) on loopback, with deterministic bars for any
symbol and range (:class:`FakeMarket`) and injectable faults. Response shapes follow the
providers' documentation; see ``tests/resources/<provider>/NOTE.md``.
"""

from tests.fakes.market import FakeMarket, venue_for
from tests.fakes.server import FakeProviderServer, FakeRequest, FakeResponse, Fault, Routes

__all__ = [
    "FakeMarket",
    "FakeProviderServer",
    "FakeRequest",
    "FakeResponse",
    "Fault",
    "Routes",
    "venue_for",
]
