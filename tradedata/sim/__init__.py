"""A loopback exchange simulator: Binance and Bybit, REST and websocket, on 127.0.0.1.

Real clients (ccxt sync and async, ccxt.pro, plain ``websockets``) run against it unmodified,
with only their URLs pointed at it (see :func:`tradedata.adapters.ccxt_.urls.ccxt_url_overrides`).
Markets are deterministic synthetic series (or replayed frames), the clock can run faster than
real time, and faults (errors, latency, slow/truncated/malformed bodies, empty pages, rate limits,
websocket drops and silences) can be injected. ``sim.canonical(...)`` is the ground truth.

    from tradedata.sim import ExchangeSimulator, Faults

    with ExchangeSimulator(seed=1, speed=60.0, faults=Faults(error_rate=0.05)) as sim:
        print(sim.url, sim.ws_url("binance", ["btcusdt@kline_1m"]))

The package's modules: ``simulator`` (the public class), ``market``/``synthetic``/``bars``/
``timeframes`` (the data), ``binance``/``bybit`` (REST dialects), ``ws_binance``/``ws_bybit``/
``streams`` (websockets), ``server``/``faults``/``ratelimit``/``clock``/``state`` (machinery),
``cli`` (the ``tradedata sim`` verb).
"""

from __future__ import annotations

from tradedata.sim.cli import cli_main
from tradedata.sim.faults import Faults, SimStats
from tradedata.sim.simulator import (
    DEFAULT_SYMBOLS,
    EXCHANGES,
    ExchangeSimulator,
    generated_symbols,
    normalize_symbol,
)
from tradedata.sim.state import StreamSettings

__all__ = [
    "DEFAULT_SYMBOLS",
    "EXCHANGES",
    "ExchangeSimulator",
    "Faults",
    "SimStats",
    "StreamSettings",
    "cli_main",
    "generated_symbols",
    "normalize_symbol",
]
