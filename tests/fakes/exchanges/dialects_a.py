"""Wire dialects of binance, bybit, okx and coinbase (see :mod:`tests.fakes.exchanges.core`).

Each dialect answers exactly the requests ccxt 4.5 makes for ``load_markets``, ``fetch_time``
and spot ``fetch_ohlcv`` (paths found by running ccxt against the fake; parameters from
``python/ccxt/<id>.py``), in the shapes of ccxt's parse code and the exchange's docs. The
kline rules carry their source next to them.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.exchanges.core import (
    HOUR_MS,
    CandleRules,
    Dialect,
    ExchangeFake,
    RejectedWindow,
    Window,
    fmt,
)
from tests.fakes.server import FakeRequest, json_response

__all__ = ["binance", "bybit", "coinbase", "okx"]


def _int(request: FakeRequest, key: str) -> int | None:
    value = request.query.get(key)
    return None if value in (None, "") else int(float(value))  # type: ignore[arg-type]


def _minutes(text: str) -> int:
    units = {"m": 60_000, "h": HOUR_MS, "d": 24 * HOUR_MS, "w": 7 * 24 * HOUR_MS}
    return int(text[:-1]) * units[text[-1].lower()]


# -- binance -------------------------------------------------------------------------------
# Binance spot "Kline/Candlestick data" (developers.binance.com/docs/binance-spot-api-docs/
# rest-api/market-data-endpoints): limit default 500, max 1000; startTime/endTime inclusive on
# the open time; "If startTime and endTime are not sent, the most recent klines are returned",
# otherwise klines run from startTime; rows oldest first; the current candle is included (its
# closeTime lies in the future); history back to the listing.
BINANCE_KLINES = CandleRules(max_limit=1000, keeps="oldest")


def binance_kline_rows(fake: ExchangeFake, request: FakeRequest, rules: CandleRules) -> Any:
    """A Binance klines answer (spot and USDⓈ-M share it) under ``rules``."""
    window = Window(
        _int(request, "startTime"), _int(request, "endTime"), _int(request, "limit") or 500
    )
    step = _minutes(request.query["interval"])
    # row shape: ccxt binance.parse_ohlcv comment and the API docs' example
    return [
        [t, fmt(o), fmt(h), fmt(lo), fmt(c), fmt(v), t + step - 1, fmt(v * c), 100, "0", "0", "0"]
        for t, o, h, lo, c, v, _closed in fake.bars(window, rules, step)
    ]


def _binance_klines(fake: ExchangeFake, request: FakeRequest) -> Any:
    return binance_kline_rows(fake, request, BINANCE_KLINES)


def _binance_info(fake: ExchangeFake, request: FakeRequest) -> Any:
    # GET /api/v3/exchangeInfo, fields read by ccxt binance.parse_market
    symbol = {
        "symbol": "BTCUSDT",
        "status": "TRADING",
        "baseAsset": "BTC",
        "baseAssetPrecision": 8,
        "quoteAsset": "USDT",
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "orderTypes": ["LIMIT", "MARKET"],
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": "0.01",
                "maxPrice": "1000000.00",
                "tickSize": "0.01",
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": "0.00001",
                "maxQty": "9000.0",
                "stepSize": "0.00001",
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
    }
    limits = [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000}
    ]
    return {
        "timezone": "UTC",
        "serverTime": fake.now_ms(),
        "rateLimits": limits,
        "exchangeFilters": [],
        "symbols": [symbol],
    }


def binance() -> Dialect:
    """Binance spot: ``/api/v3/exchangeInfo``, ``/api/v3/time``, ``/api/v3/klines``."""
    return Dialect(
        "binance",
        "BTC/USDT",
        "BTCUSDT",
        routes={
            "/api/v3/exchangeInfo": _binance_info,
            "/api/v3/time": lambda fake, _r: {"serverTime": fake.now_ms()},
            "/api/v3/klines": _binance_klines,
        },
        candle_paths=frozenset({"/api/v3/klines"}),
    )


# -- bybit ---------------------------------------------------------------------------------
# Bybit v5 "Get Kline" (bybit-exchange.github.io/docs/v5/market/kline): limit [1, 1000],
# default 200; rows "Sort in reverse by startTime" (newest first). With start and end the
# answer is the newest `limit` bars of [start, end] (issue 10: three public Bybit clients page
# backwards around this), and without end the newest before now. Ends inclusive. The current
# candle is included; no history limit on spot.
BYBIT_KLINES = CandleRules(max_limit=1000, keeps="newest")


def _bybit_envelope(fake: ExchangeFake, result: Any) -> Any:
    return {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": fake.now_ms()}


def _bybit_kline(fake: ExchangeFake, request: FakeRequest) -> Any:
    window = Window(_int(request, "start"), _int(request, "end"), _int(request, "limit") or 200)
    step = _bybit_period(request.query["interval"])
    rows = [
        [str(t), fmt(o), fmt(h), fmt(lo), fmt(c), fmt(v), fmt(v * c)]
        for t, o, h, lo, c, v, _closed in fake.bars(window, BYBIT_KLINES, step)
    ]
    result = {"category": "spot", "symbol": "BTCUSDT", "list": rows[::-1]}
    return _bybit_envelope(fake, result)


def _bybit_period(interval: str) -> int:
    letters = {"D": 24 * HOUR_MS, "W": 7 * 24 * HOUR_MS}
    return letters.get(interval) or int(interval) * 60_000


def _bybit_instruments(fake: ExchangeFake, request: FakeRequest) -> Any:
    # GET /v5/market/instruments-info?category=spot, fields read by ccxt bybit.fetch_spot_markets
    entry = {
        "symbol": "BTCUSDT",
        "baseCoin": "BTC",
        "quoteCoin": "USDT",
        "innovation": "0",
        "status": "Trading",
        "marginTrading": "none",
        "lotSizeFilter": {
            "basePrecision": "0.000001",
            "quotePrecision": "0.00000001",
            "minOrderQty": "0.000048",
            "maxOrderQty": "71.73956243",
            "minOrderAmt": "1",
            "maxOrderAmt": "2000000",
        },
        "priceFilter": {"tickSize": "0.01"},
    }
    return _bybit_envelope(fake, {"category": "spot", "list": [entry], "nextPageCursor": ""})


def _bybit_time(fake: ExchangeFake, request: FakeRequest) -> Any:
    now = fake.now_ms()
    return _bybit_envelope(fake, {"timeSecond": str(now // 1000), "timeNano": str(now * 10**6)})


def bybit() -> Dialect:
    """Bybit v5 spot: instruments-info, market/time, market/kline."""
    return Dialect(
        "bybit",
        "BTC/USDT",
        "BTCUSDT",
        routes={
            "/v5/market/instruments-info": _bybit_instruments,
            "/v5/market/time": _bybit_time,
            "/v5/market/kline": _bybit_kline,
        },
        candle_paths=frozenset({"/v5/market/kline"}),
    )


# -- okx -----------------------------------------------------------------------------------
# OKX v5 "Get candlesticks" (www.okx.com/docs-v5/en/#order-book-trading-market-data-get-
# candlesticks): "This endpoint can retrieve the latest 1,440 data entries"; limit "The maximum
# is 300. The default is 100."; "after": records earlier than the ts, "before": newer than the
# ts (both exclusive); rows newest first [ts,o,h,l,c,vol,volCcy,volCcyQuote,confirm], confirm
# "0" while the K line is uncompleted. "Get candlesticks history" (...-get-candlesticks-history):
# "history candlestick charts from recent years", the same parameters, limit max 300. ccxt
# okx.fetch_ohlcv switches to history-candles for since < now - 1439 bars.
OKX_CANDLES = CandleRules(max_limit=300, keeps="newest", history_bars=1440)
OKX_HISTORY = CandleRules(max_limit=300, keeps="newest")


def _okx_candles(rules: CandleRules) -> Any:
    def handler(fake: ExchangeFake, request: FakeRequest) -> Any:
        before, after = _int(request, "before"), _int(request, "after")
        window = Window(before, after, _int(request, "limit") or 100, False, False)
        step = _minutes(request.query["bar"].rstrip("utc"))
        rows = [
            [
                str(t),
                fmt(o),
                fmt(h),
                fmt(lo),
                fmt(c),
                fmt(v),
                fmt(v * c),
                fmt(v * c),
                "1" if done else "0",
            ]
            for t, o, h, lo, c, v, done in fake.bars(window, rules, step)
        ]
        return {"code": "0", "msg": "", "data": rows[::-1]}

    return handler


def _okx_instruments(fake: ExchangeFake, request: FakeRequest) -> Any:
    # GET /api/v5/public/instruments?instType=SPOT, fields read by ccxt okx.parse_market
    entry = {
        "instType": "SPOT",
        "instId": "BTC-USDT",
        "instFamily": "",
        "uly": "",
        "baseCcy": "BTC",
        "quoteCcy": "USDT",
        "settleCcy": "",
        "ctVal": "",
        "ctMult": "",
        "ctValCcy": "",
        "listTime": "1606468572000",
        "expTime": "",
        "lever": "10",
        "tickSz": "0.1",
        "lotSz": "0.00000001",
        "minSz": "0.00001",
        "ctType": "",
        "state": "live",
        "maxLmtSz": "9999999999",
        "maxMktSz": "1000000",
    }
    return {"code": "0", "msg": "", "data": [entry]}


def okx() -> Dialect:
    """OKX v5 spot: public/instruments, public/time, market/candles, market/history-candles."""
    return Dialect(
        "okx",
        "BTC/USDT",
        "BTC-USDT",
        routes={
            "/api/v5/public/instruments": _okx_instruments,
            "/api/v5/public/time": lambda fake, _r: {
                "code": "0",
                "msg": "",
                "data": [{"ts": str(fake.now_ms())}],
            },
            "/api/v5/market/candles": _okx_candles(OKX_CANDLES),
            "/api/v5/market/history-candles": _okx_candles(OKX_HISTORY),
        },
        candle_paths=frozenset({"/api/v5/market/candles", "/api/v5/market/history-candles"}),
    )


# -- coinbase ------------------------------------------------------------------------------
# Coinbase Advanced Trade "Get Public Product Candles" (docs.cdp.coinbase.com/api-reference/
# advanced-trade-api/rest-api/public/get-public-product-candles): start/end in UNIX seconds,
# granularity by name; a window of more than 350 candles is refused with HTTP 400
# INVALID_ARGUMENT (issue 10 observed it); rows newest first as objects of strings; the current
# candle is included; history back to the listing.
COINBASE_CANDLES = CandleRules(max_limit=350, keeps="newest", max_window=350)
_COINBASE_GRANULARITY = {
    "ONE_MINUTE": 60_000,
    "FIVE_MINUTE": 300_000,
    "FIFTEEN_MINUTE": 900_000,
    "THIRTY_MINUTE": 1_800_000,
    "ONE_HOUR": HOUR_MS,
    "TWO_HOUR": 2 * HOUR_MS,
    "SIX_HOUR": 6 * HOUR_MS,
    "ONE_DAY": 24 * HOUR_MS,
}


def _coinbase_candles(fake: ExchangeFake, request: FakeRequest) -> Any:
    step = _COINBASE_GRANULARITY[request.query["granularity"]]
    start, end = _int(request, "start"), _int(request, "end")
    window = Window(
        None if start is None else start * 1000,
        None if end is None else end * 1000,
        _int(request, "limit") or 350,
    )
    try:
        bars = fake.bars(window, COINBASE_CANDLES, step)
    except RejectedWindow:
        body = {
            "error": "INVALID_ARGUMENT",
            "error_details": "number of candles requested should be less than 350",
            "message": "number of candles requested should be less than 350",
        }
        return json_response(body, 400)
    rows = [
        {
            "start": str(t // 1000),
            "low": fmt(lo),
            "high": fmt(h),
            "open": fmt(o),
            "close": fmt(c),
            "volume": fmt(v),
        }
        for t, o, h, lo, c, v, _closed in bars
    ]
    return {"candles": rows[::-1]}


def _coinbase_products(fake: ExchangeFake, request: FakeRequest) -> Any:
    # GET /api/v3/brokerage/market/products: fields read by ccxt coinbase.parse_spot_market;
    # the FUTURE listing ccxt asks for as well has no products here
    if request.query.get("product_type") == "FUTURE":
        return {"products": [], "num_products": 0}
    product = {
        "product_id": "BTC-USD",
        "price": "20000.00",
        "base_increment": "0.00000001",
        "quote_increment": "0.01",
        "quote_min_size": "1",
        "quote_max_size": "150000000",
        "base_min_size": "0.00000001",
        "base_max_size": "3400",
        "base_name": "Bitcoin",
        "quote_name": "US Dollar",
        "status": "online",
        "trading_disabled": False,
        "product_type": "SPOT",
        "quote_currency_id": "USD",
        "base_currency_id": "BTC",
        "price_increment": "0.01",
        "alias": "",
        "alias_to": [],
    }
    return {"products": [product], "num_products": 1}


def _coinbase_currencies(fake: ExchangeFake, request: FakeRequest) -> Any:
    # v2 currencies (fiat) and currencies/crypto, shapes of docs.cdp.coinbase.com track-apis
    if request.path.endswith("/crypto"):
        return {
            "data": [
                {
                    "asset_id": "5b71fc48-3dd3-540c-809b-f8c94d0e68b5",
                    "code": "BTC",
                    "name": "Bitcoin",
                    "color": "#F7931A",
                    "sort_index": 100,
                    "exponent": 8,
                    "type": "crypto",
                    "address_regex": "",
                }
            ]
        }
    return {"data": [{"id": "USD", "name": "US Dollar", "min_size": "0.01"}]}


def coinbase() -> Dialect:
    """Coinbase Advanced Trade public market endpoints plus the v2 currency/time endpoints."""
    return Dialect(
        "coinbase",
        "BTC/USD",
        "BTC-USD",
        routes={
            "/v2/currencies": _coinbase_currencies,
            "/v2/currencies/crypto": _coinbase_currencies,
            "/v2/exchange-rates": lambda fake, _r: {
                "data": {"currency": "USD", "rates": {"BTC": "0.00005"}}
            },
            "/api/v3/brokerage/market/products": _coinbase_products,
            "/v2/time": lambda fake, _r: {"data": {"iso": "", "epoch": fake.now_ms() // 1000}},
            "/api/v3/brokerage/market/products/BTC-USD/candles": _coinbase_candles,
        },
        candle_paths=frozenset({"/api/v3/brokerage/market/products/BTC-USD/candles"}),
    )
