"""Loopback fakes of twelve ccxt exchanges, in their real wire formats and paging rules.

``ExchangeFake(DIALECTS["okx"]())`` serves exactly what ccxt requests for ``load_markets``,
``fetch_time`` and spot ``fetch_ohlcv`` on that exchange; point ccxt (or tradedata, with
``ProviderSettings(url=fake.url)`` / ``TRADEDATA_OKX_URL``) at ``fake.url``. See
:mod:`tests.fakes.exchanges.core` for what every fake shares and the ``dialects_*`` modules for
each exchange's routes, shapes and cited rules.
"""

from collections.abc import Callable

from tests.fakes.exchanges.core import (
    CandleRules,
    Dialect,
    ExchangeFake,
    Window,
    bar_values,
    select,
)
from tests.fakes.exchanges.dialects_a import binance, bybit, coinbase, okx
from tests.fakes.exchanges.dialects_b import bitget, gate, kraken, kucoin
from tests.fakes.exchanges.dialects_c import bitfinex, bitstamp, htx, mexc

#: dialect factories by ccxt exchange id
DIALECTS: dict[str, Callable[[], Dialect]] = {
    "binance": binance,
    "bybit": bybit,
    "okx": okx,
    "coinbase": coinbase,
    "kraken": kraken,
    "kucoin": kucoin,
    "gate": gate,
    "bitget": bitget,
    "htx": htx,
    "mexc": mexc,
    "bitfinex": bitfinex,
    "bitstamp": bitstamp,
}

__all__ = ["DIALECTS", "CandleRules", "Dialect", "ExchangeFake", "Window", "bar_values", "select"]
