"""Data providers: one module (or folder) per provider, all behind :class:`Provider`.

Providers are looked up by name and imported lazily, so ``import tradedata`` never pulls in
ccxt or yfinance. Any ccxt exchange id (``binance``, ``bybit``, ``kraken`` ...) names the ccxt
adapter for that exchange.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from tradedata.errors import ConfigurationError

if TYPE_CHECKING:
    from tradedata.adapters.base import Provider, ProviderSettings

__all__ = ["PROVIDERS", "STOCK_PROVIDERS", "create_provider", "is_ccxt_exchange", "provider_class"]

#: Non-ccxt providers: name -> "module:Class".
STOCK_PROVIDERS: dict[str, str] = {
    "yahoo": "tradedata.adapters.yahoo:YahooProvider",
    "alpha_vantage": "tradedata.adapters.alpha_vantage:AlphaVantageProvider",
    "fmp": "tradedata.adapters.fmp:FMPProvider",
    "alpaca": "tradedata.adapters.alpaca:AlpacaProvider",
    "polygon": "tradedata.adapters.polygon:PolygonProvider",
    "tiingo": "tradedata.adapters.tiingo:TiingoProvider",
    "coingecko": "tradedata.adapters.coingecko:CoinGeckoProvider",
}
CCXT_PROVIDER = "tradedata.adapters.ccxt_:CcxtProvider"
#: Every provider name with a built-in adapter (ccxt exchanges besides these work too).
PROVIDERS: tuple[str, ...] = ("binance", "bybit", *STOCK_PROVIDERS)


def _load(path: str) -> type[Provider]:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


def is_ccxt_exchange(name: str) -> bool:
    """True when ``name`` is a ccxt exchange id (imports ccxt)."""
    if name in STOCK_PROVIDERS:
        return False
    import ccxt

    return name in ccxt.exchanges


def provider_class(name: str) -> type[Provider]:
    """The provider class for ``name``; raises :class:`ConfigurationError` if unknown."""
    if name in STOCK_PROVIDERS:
        return _load(STOCK_PROVIDERS[name])
    if is_ccxt_exchange(name):
        return _load(CCXT_PROVIDER)
    raise ConfigurationError(
        f"unknown provider {name!r} (built in: {', '.join(PROVIDERS)}, or any ccxt exchange id)"
    )


def create_provider(name: str, settings: ProviderSettings | None = None) -> Provider:
    """Instantiate provider ``name`` with ``settings``."""
    cls = provider_class(name)
    if name in STOCK_PROVIDERS:
        return cls(settings)
    return cls(name, settings)  # type: ignore[call-arg,arg-type]
