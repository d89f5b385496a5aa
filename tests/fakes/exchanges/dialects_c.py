"""Wire dialects of htx, mexc, bitfinex and bitstamp (see :mod:`tests.fakes.exchanges.core`).

Paths are the ones ccxt 4.5 requests for ``load_markets``, ``fetch_time`` and spot
``fetch_ohlcv``; shapes follow ccxt's parse code and the exchange's docs; every kline rule
cites its source next to it.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.exchanges.core import (
    HOUR_MS,
    CandleRules,
    Dialect,
    ExchangeFake,
    Window,
    fmt,
)
from tests.fakes.exchanges.dialects_a import _int, _minutes
from tests.fakes.exchanges.dialects_b import _seconds
from tests.fakes.server import FakeRequest

__all__ = ["bitfinex", "bitstamp", "htx", "mexc"]

# -- htx -----------------------------------------------------------------------------------
# HTX spot klines. The classic "Get Klines (Candles)" GET /market/history/kline
# (huobiapi.github.io/docs/spot/v1/en/#get-klines-candles) takes only `size` [1, 2000]
# (default 150) and answers the newest `size` bars, newest first, no range at all. ccxt 4.5
# htx.fetch_ohlcv uses GET /market/history/candles by default (`useHistoricalEndpointForSpot`):
# `from`/`to` in seconds and `size` "max 1000, otherwise default returns 150"; public HTX
# clients note that it honours from/to alongside size (capped at 1000) and that `to` is
# inclusive. Which end of an over-full window it keeps is not documented, so the fake keeps the
# newest (the classic endpoint's rule: the harsher case). Rows {id, open, close, low, high,
# amount, vol, count}; the current candle included.
HTX_CANDLES = CandleRules(max_limit=1000, keeps="newest")
HTX_CLASSIC = CandleRules(max_limit=2000, keeps="newest")
_HTX_PERIODS = {
    "1min": 60_000,
    "5min": 300_000,
    "15min": 900_000,
    "30min": 1_800_000,
    "60min": HOUR_MS,
    "4hour": 4 * HOUR_MS,
    "1day": 24 * HOUR_MS,
}


def _htx_candles(rules: CandleRules) -> Any:
    def handler(fake: ExchangeFake, request: FakeRequest) -> Any:
        step = _HTX_PERIODS[request.query["period"]]
        ranged = rules is HTX_CANDLES
        window = Window(
            _seconds(request, "from") if ranged else None,
            _seconds(request, "to") if ranged else None,
            _int(request, "size") or 150,
        )
        rows = [
            {
                "id": t // 1000,
                "open": o,
                "close": c,
                "low": lo,
                "high": h,
                "amount": v,
                "vol": round(v * c, 4),
                "count": 42,
            }
            for t, o, h, lo, c, v, _closed in fake.bars(window, rules, step)
        ]
        ch = f"market.{request.query.get('symbol')}.kline.{request.query['period']}"
        return {"ch": ch, "status": "ok", "ts": fake.now_ms(), "data": rows[::-1]}

    return handler


def _htx_symbols(fake: ExchangeFake, request: FakeRequest) -> Any:
    # GET /v1/common/symbols, fields read by ccxt htx.fetch_markets_by_type_and_sub_type
    entry = {
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
        "leverage-ratio": 5,
        "api-trading": "enabled",
    }
    return {"status": "ok", "data": [entry]}


def htx() -> Dialect:
    """HTX spot: v2 reference/currencies, v1 common/symbols, common/timestamp, klines."""
    return Dialect(
        "htx",
        "BTC/USDT",
        "btcusdt",
        routes={
            "/v2/reference/currencies": lambda fake, _r: {"code": 200, "data": []},
            "/v1/common/symbols": _htx_symbols,
            "/v1/common/timestamp": lambda fake, _r: {"status": "ok", "data": fake.now_ms()},
            "/market/history/candles": _htx_candles(HTX_CANDLES),
            "/market/history/kline": _htx_candles(HTX_CLASSIC),
        },
        candle_paths=frozenset({"/market/history/candles", "/market/history/kline"}),
    )


# -- mexc ----------------------------------------------------------------------------------
# MEXC spot v3 "Kline/Candlestick Data" (mexcdevelop.github.io/apidocs/spot_v3_en/
# #kline-candlestick-data): startTime/endTime in ms, rows oldest first [openTime, open, high,
# low, close, volume, closeTime, quoteVolume]; bars from startTime; the docs say limit max 1000
# but ccxt mexc.fetch_ohlcv notes "in practice it's 500"; endTime "is not inclusive" (ccxt sends
# until + 1); the current candle included.
MEXC_KLINES = CandleRules(max_limit=500, keeps="oldest")
_MEXC_INTERVALS = {
    "1m": 60_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "60m": HOUR_MS,
    "4h": 4 * HOUR_MS,
    "1d": 24 * HOUR_MS,
}


def _mexc_klines(fake: ExchangeFake, request: FakeRequest) -> Any:
    step = _MEXC_INTERVALS[request.query["interval"]]
    window = Window(
        _int(request, "startTime"),
        _int(request, "endTime"),
        _int(request, "limit") or 500,
        end_inclusive=False,
    )
    return [
        [t, fmt(o), fmt(h), fmt(lo), fmt(c), fmt(v), t + step - 1, fmt(v * c)]
        for t, o, h, lo, c, v, _closed in fake.bars(window, MEXC_KLINES, step)
    ]


def _mexc_info(fake: ExchangeFake, request: FakeRequest) -> Any:
    # GET /api/v3/exchangeInfo, fields read by ccxt mexc.fetch_spot_markets
    entry = {
        "symbol": "BTCUSDT",
        "status": "1",
        "baseAsset": "BTC",
        "baseAssetPrecision": 8,
        "quoteAsset": "USDT",
        "quotePrecision": 2,
        "quoteAssetPrecision": 2,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 2,
        "orderTypes": ["LIMIT", "MARKET", "LIMIT_MAKER"],
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "quoteAmountPrecision": "1",
        "baseSizePrecision": "0.000001",
        "permissions": ["SPOT"],
        "filters": [],
        "maxQuoteAmount": "2000000",
        "makerCommission": "0",
        "takerCommission": "0.0005",
        "quoteAmountPrecisionMarket": "1",
        "maxQuoteAmountMarket": "100000",
        "fullName": "Bitcoin",
        "tradeSideType": 1,
    }
    return {
        "timezone": "CST",
        "serverTime": fake.now_ms(),
        "rateLimits": [],
        "exchangeFilters": [],
        "symbols": [entry],
    }


def mexc() -> Dialect:
    """MEXC: spot exchangeInfo, the contract detail ccxt also loads, time, spot klines."""
    return Dialect(
        "mexc",
        "BTC/USDT",
        "BTCUSDT",
        routes={
            "/api/v3/exchangeInfo": _mexc_info,
            "/api/v1/contract/detail": lambda fake, _r: {"success": True, "code": 0, "data": []},
            "/api/v3/time": lambda fake, _r: {"serverTime": fake.now_ms()},
            "/api/v3/klines": _mexc_klines,
        },
        candle_paths=frozenset({"/api/v3/klines"}),
    )


# -- bitfinex ------------------------------------------------------------------------------
# Bitfinex v2 "Candles" (docs.bitfinex.com/reference/rest-public-candles):
# /v2/candles/trade:{TF}:{SYMBOL}/hist with limit (max 10000), start/end in ms (inclusive) and
# sort (+1: oldest first from start; -1, the default: newest first); rows [MTS, OPEN, CLOSE,
# HIGH, LOW, VOLUME]; the current candle included; history back to the listing.
BITFINEX_CANDLES = CandleRules(max_limit=10000, keeps="oldest")
_BITFINEX_CANDLE_PREFIX = "/v2/candles/trade:"


def _bitfinex_candles(fake: ExchangeFake, request: FakeRequest) -> Any:
    key = request.path[len(_BITFINEX_CANDLE_PREFIX) :].split(":")[0]
    step = _minutes(key.replace("D", "d"))
    ascending = request.query.get("sort") == "1"
    rules = BITFINEX_CANDLES if ascending else CandleRules(max_limit=10000, keeps="newest")
    window = Window(_int(request, "start"), _int(request, "end"), _int(request, "limit") or 100)
    rows = [[t, o, c, h, lo, v] for t, o, h, lo, c, v, _closed in fake.bars(window, rules, step)]
    return rows if ascending else rows[::-1]


def _bitfinex_conf(fake: ExchangeFake, request: FakeRequest) -> Any:
    # /v2/conf/<labels>: one list per label asked for (docs.bitfinex.com/reference/rest-public-conf)
    labels = request.path[len("/v2/conf/") :].split(",")
    answers = {
        # "pub:info:pair": [[pair, [null, null, null, min_size, max_size, ...]], ...]
        "pub:info:pair": [["BTCUSD", [None, None, None, "0.00006", "2000.0", None, None, None]]],
        "pub:list:currency": ["BTC", "USD"],
    }
    return [answers.get(label, []) for label in labels]


def bitfinex() -> Dialect:
    """Bitfinex v2: the conf lists ccxt reads for currencies and markets, candles/hist."""
    return Dialect(
        "bitfinex",
        "BTC/USD",
        "tBTCUSD",
        routes={},
        prefix_routes={"/v2/conf/": _bitfinex_conf, _BITFINEX_CANDLE_PREFIX: _bitfinex_candles},
        candle_paths=frozenset({"/v2/candles/trade:1h:tBTCUSD/hist"}),
    )


# -- bitstamp ------------------------------------------------------------------------------
# Bitstamp "OHLC data" (www.bitstamp.net/api/#tag/Market-info/operation/GetOHLCData): step in
# seconds, limit 1..1000, start/end in seconds; "If both start and end timestamps are posted,
# end timestamp will be used", i.e. the `limit` bars up to `end` (inclusive); rows oldest first
# as objects of strings; the current candle included; history back to the listing.
BITSTAMP_OHLC = CandleRules(max_limit=1000, keeps="newest")


def _bitstamp_ohlc(fake: ExchangeFake, request: FakeRequest) -> Any:
    step = int(request.query["step"]) * 1000
    start, end = _seconds(request, "start"), _seconds(request, "end")
    window = Window(None if end is not None else start, end, _int(request, "limit") or 1000)
    rows = [
        {
            "timestamp": str(t // 1000),
            "open": fmt(o),
            "high": fmt(h),
            "low": fmt(lo),
            "close": fmt(c),
            "volume": fmt(v),
        }
        for t, o, h, lo, c, v, _closed in fake.bars(window, BITSTAMP_OHLC, step)
    ]
    return {"data": {"pair": "BTC/USD", "ohlc": rows}}


def _bitstamp_markets(fake: ExchangeFake, request: FakeRequest) -> Any:
    # GET /api/v2/markets/, the shape in ccxt bitstamp.fetch_markets' comment
    return [
        {
            "name": "BTC/USD",
            "market_symbol": "btcusd",
            "base_currency": "BTC",
            "base_decimals": 8,
            "counter_currency": "USD",
            "counter_decimals": 0,
            "minimum_order_value": "10",
            "trading": "Enabled",
            "instant_order_counter_decimals": 2,
            "instant_and_market_orders": "Enabled",
            "description": "Bitcoin / U.S. dollar",
            "market_type": "SPOT",
        }
    ]


def bitstamp() -> Dialect:
    """Bitstamp v2: markets, ohlc/{pair}."""
    return Dialect(
        "bitstamp",
        "BTC/USD",
        "btcusd",
        routes={"/api/v2/markets/": _bitstamp_markets, "/api/v2/ohlc/btcusd/": _bitstamp_ohlc},
        candle_paths=frozenset({"/api/v2/ohlc/btcusd/"}),
    )
