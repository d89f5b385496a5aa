"""The ccxt adapter: OHLCV from any ccxt exchange (Binance and Bybit tested on the simulator).

The registry loads :class:`CcxtProvider` as ``tradedata.adapters.ccxt_:CcxtProvider`` and calls
``CcxtProvider(exchange_id, settings)``. Parts: ``traits`` (per-exchange capability table),
``errors`` (ccxt -> tradedata translation), ``client`` (per-thread ccxt clients), ``clock`` (the
exchange's server time), ``urls`` (endpoint overrides), ``klines`` (pages through ccxt's raw API,
parsed with numpy), ``provider`` (the provider itself).
"""

from __future__ import annotations

from tradedata.adapters.ccxt_.provider import CcxtProvider

__all__ = ["CcxtProvider"]
