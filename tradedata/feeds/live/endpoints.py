"""Where a live stream connects: the exchange's market id of a symbol and the websocket base
URL, for :class:`~tradedata.feeds.live.store.TradeDataStore` and
:class:`~tradedata.feeds.live.plain.LiveFeed` alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tradedata.config import Config, provider_settings
from tradedata.errors import ConfigurationError, SymbolNotFoundError
from tradedata.feeds.live.dialects import DIALECTS, WsDialect

if TYPE_CHECKING:
    from tradedata.manager import DataManager

__all__ = ["default_exchange", "market_id", "ws_base"]


def market_id(markets: Mapping[str, Any], exchange: str, symbol: str) -> str:
    """The exchange's id of ``symbol`` (``BTCUSDT``) in its loaded ``markets`` (ccxt's
    ``load_markets()``); raises SymbolNotFoundError when the exchange lacks it. Without
    markets (a provider that lists none), the id is the symbol without ``/`` and settle."""
    if markets:
        market = markets.get(symbol)
        if market is None:
            raise SymbolNotFoundError(f"{exchange} has no market {symbol!r}", provider=exchange)
        return str(market.get("id") or symbol.replace("/", ""))
    return symbol.split(":")[0].replace("/", "")


def ws_base(config: Config, exchange: str, dialect: WsDialect | None, sandbox: bool) -> str:
    """The websocket base URL: ``ws_url`` from the config, else ``url`` (http -> ws), else the
    exchange's own, or its testnet's with ``sandbox``."""
    settings = provider_settings(exchange, config)
    if settings.ws_url:
        return str(settings.ws_url)
    if settings.url:
        scheme, _, rest = str(settings.url).partition("://")
        return ("wss" if scheme == "https" else "ws") + "://" + rest
    if dialect is None:
        raise ConfigurationError(f"{exchange} has no websocket")
    return dialect.sandbox_base if sandbox else dialect.live_base


def default_exchange(manager: DataManager, symbol: str, timeframe: str) -> str:
    """The exchange a feed of ``symbol`` streams from when none is named: the first provider
    the config's rules pick that has a websocket dialect, else the first they pick."""
    try:
        names = manager.selector.get_provider_with_failover(symbol, timeframe)
    except Exception:  # no rule fits: the store's default exchange
        names = []
    for name in names:
        if name in DIALECTS:
            return name
    return names[0] if names else "binance"
