"""htx works out of the box: real ccxt loads its spot markets from a loopback answer.

ccxt's htx reads ``options["fetchMarkets"]["types"]`` as a mapping of market type to on/off
(``{"spot": True, "linear": True, "inverse": True}`` in its ``describe()``); handing it a list
raised ``AttributeError: 'list' object has no attribute 'keys'`` inside ``load_markets``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tradedata.adapters.base import ProviderSettings
from tradedata.adapters.ccxt_ import CcxtProvider
from tradedata.adapters.ccxt_.client import market_types_option

# Shapes copied from the response comments in ccxt's htx.py: fetch_currencies
# (GET /v2/reference/currencies, "code": 200) and fetch_markets_by_type_and_sub_type for spot
# (GET /v1/common/symbols, "status": "ok"); values trimmed to one currency and one market.
CURRENCIES = {
    "code": 200,
    "data": [
        {"currency": "usdt", "assetType": "1", "chains": [], "instStatus": "normal"},
    ],
}
SPOT_SYMBOLS = {
    "status": "ok",
    "data": [
        {
            "base-currency": "btc",
            "quote-currency": "usdt",
            "price-precision": 2,
            "amount-precision": 6,
            "symbol-partition": "main",
            "symbol": "btcusdt",
            "state": "online",
            "value-precision": 8,
            "min-order-amt": 0.0001,
            "max-order-amt": 1000,
            "min-order-value": 5,
            "api-trading": "enabled",
        }
    ],
}
ROUTES = {"/v2/reference/currencies": CURRENCIES, "/v1/common/symbols": SPOT_SYMBOLS}


class _Htx(BaseHTTPRequestHandler):
    paths: list[str] = []

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        self.paths.append(path)
        body = ROUTES.get(path)
        code = 200 if body is not None else 404
        data = json.dumps(body or {"status": "error", "err-code": "not-found"}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def htx_url() -> Iterator[str]:
    _Htx.paths = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Htx)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_htx_loads_its_spot_markets_with_default_settings(htx_url: str) -> None:
    provider = CcxtProvider("htx", ProviderSettings(url=htx_url))

    markets = provider.load_markets()

    assert "BTC/USDT" in markets and markets["BTC/USDT"]["spot"]
    assert provider.spot_symbols(quote="USDT") == ["BTC/USDT"]
    assert "/v1/common/symbols" in _Htx.paths
    assert not [p for p in _Htx.paths if "swap" in p or "contract" in p]  # spot only


def test_market_types_take_the_shape_ccxt_reads() -> None:
    assert market_types_option("htx", ["spot"]) == {
        "spot": True,
        "linear": False,
        "inverse": False,
    }
    assert market_types_option("htx", ["spot", "swap"])["linear"] is True
    assert market_types_option("binance", ["spot", "future"]) == ["spot", "future"]
