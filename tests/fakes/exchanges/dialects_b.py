"""Wire dialects of kraken, kucoin, gate and bitget (see :mod:`tests.fakes.exchanges.core`).

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
    RejectedWindow,
    Window,
    fmt,
)
from tests.fakes.exchanges.dialects_a import _int, _minutes
from tests.fakes.server import FakeRequest, json_response

__all__ = ["bitget", "gate", "kraken", "kucoin"]


def _seconds(request: FakeRequest, key: str) -> int | None:
    value = _int(request, key)
    return None if value is None else value * 1000


# -- kraken --------------------------------------------------------------------------------
# Kraken "Get OHLC Data" (docs.kraken.com/api-reference/market-data/get-ohlc-data): interval in
# minutes, `since` in seconds; "Returns up to 720 of the most recent entries (older data cannot
# be retrieved, regardless of the value of since)"; the last entry is the current, not yet
# committed frame; `since` is exclusive (ccxt kraken.fetch_ohlcv sends since - 1 interval to get
# the bar at `since`); rows oldest first: [time, open, high, low, close, vwap, volume, count].
KRAKEN_OHLC = CandleRules(max_limit=720, keeps="newest", history_bars=720)


def _kraken_ohlc(fake: ExchangeFake, request: FakeRequest) -> Any:
    step = int(request.query.get("interval", "1")) * 60_000
    window = Window(_seconds(request, "since"), None, 720, start_inclusive=False)
    rows = [
        [t // 1000, fmt(o), fmt(h), fmt(lo), fmt(c), fmt((o + c) / 2), fmt(v), 42]
        for t, o, h, lo, c, v, _closed in fake.bars(window, KRAKEN_OHLC, step)
    ]
    last = rows[-1][0] if rows else fake.now_ms() // 1000
    return {"error": [], "result": {"XXBTZUSD": rows, "last": last}}


def _kraken_pairs(fake: ExchangeFake, request: FakeRequest) -> Any:
    # GET /0/public/AssetPairs, fields read by ccxt kraken.fetch_markets
    pair = {
        "altname": "XBTUSD",
        "wsname": "XBT/USD",
        "aclass_base": "currency",
        "base": "XXBT",
        "aclass_quote": "currency",
        "quote": "ZUSD",
        "lot": "unit",
        "cost_decimals": 5,
        "pair_decimals": 1,
        "lot_decimals": 8,
        "lot_multiplier": 1,
        "leverage_buy": [2, 3, 4, 5],
        "leverage_sell": [2, 3, 4, 5],
        "fees": [[0, 0.4]],
        "fees_maker": [[0, 0.25]],
        "fee_volume_currency": "ZUSD",
        "margin_call": 80,
        "margin_stop": 40,
        "ordermin": "0.00005",
        "costmin": "0.5",
        "tick_size": "0.1",
        "status": "online",
    }
    return {"error": [], "result": {"XXBTZUSD": pair}}


def _kraken_assets(fake: ExchangeFake, request: FakeRequest) -> Any:
    # GET /0/public/Assets (docs.kraken.com/api-reference/market-data/get-asset-info)
    def asset(alt: str, decimals: int) -> dict[str, Any]:
        return {
            "aclass": "currency",
            "altname": alt,
            "decimals": decimals,
            "display_decimals": 5,
            "status": "enabled",
        }

    return {"error": [], "result": {"XXBT": asset("XBT", 10), "ZUSD": asset("USD", 4)}}


def kraken() -> Dialect:
    """Kraken spot REST: Assets, AssetPairs, Time, OHLC."""
    return Dialect(
        "kraken",
        "BTC/USD",
        "XXBTZUSD",
        routes={
            "/0/public/Assets": _kraken_assets,
            "/0/public/AssetPairs": _kraken_pairs,
            "/0/public/Time": lambda fake, _r: {
                "error": [],
                "result": {"unixtime": fake.now_ms() // 1000, "rfc1123": ""},
            },
            "/0/public/OHLC": _kraken_ohlc,
        },
        candle_paths=frozenset({"/0/public/OHLC"}),
        history_bars=KRAKEN_OHLC.history_bars,
    )


# -- kucoin --------------------------------------------------------------------------------
# KuCoin "Get Klines" (www.kucoin.com/docs-new/rest/spot-trading/market-data/get-klines):
# startAt/endAt in seconds; "For each query, the system would return at most 1500 pieces of
# data. To obtain more data, please page the data by time."; rows newest first as
# [time, open, close, high, low, volume, turnover]; the current candle is included. endAt is
# exclusive as ccxt kucoin.fetch_spot_ohlcv builds windows (endAt = since + limit bars).
KUCOIN_CANDLES = CandleRules(max_limit=1500, keeps="newest")
_KUCOIN_TYPES = {
    "1min": 60_000,
    "5min": 300_000,
    "15min": 900_000,
    "1hour": HOUR_MS,
    "4hour": 4 * HOUR_MS,
    "1day": 24 * HOUR_MS,
}


def _kucoin_candles(fake: ExchangeFake, request: FakeRequest) -> Any:
    step = _KUCOIN_TYPES[request.query["type"]]
    window = Window(
        _seconds(request, "startAt"), _seconds(request, "endAt"), 1500, end_inclusive=False
    )
    rows = [
        [str(t // 1000), fmt(o), fmt(c), fmt(h), fmt(lo), fmt(v), fmt(v * c)]
        for t, o, h, lo, c, v, _closed in fake.bars(window, KUCOIN_CANDLES, step)
    ]
    return {"code": "200000", "data": rows[::-1]}


def _kucoin_symbols(fake: ExchangeFake, request: FakeRequest) -> Any:
    # GET /api/v2/symbols, fields read by ccxt kucoin.fetch_markets
    entry = {
        "symbol": "BTC-USDT",
        "name": "BTC-USDT",
        "baseCurrency": "BTC",
        "quoteCurrency": "USDT",
        "feeCurrency": "USDT",
        "market": "USDS",
        "baseMinSize": "0.00001",
        "quoteMinSize": "0.1",
        "baseMaxSize": "10000000000",
        "quoteMaxSize": "99999999",
        "baseIncrement": "0.00000001",
        "quoteIncrement": "0.000001",
        "priceIncrement": "0.1",
        "priceLimitRate": "0.1",
        "minFunds": "0.1",
        "isMarginEnabled": True,
        "enableTrading": True,
        "feeCategory": 1,
        "makerFeeCoefficient": "1.00",
        "takerFeeCoefficient": "1.00",
        "st": False,
    }
    return {"code": "200000", "data": [entry]}


def _kucoin_currencies(fake: ExchangeFake, request: FakeRequest) -> Any:
    def currency(code: str, name: str) -> dict[str, Any]:
        return {
            "currency": code,
            "name": code,
            "fullName": name,
            "precision": 8,
            "confirms": None,
            "contractAddress": None,
            "isMarginEnabled": True,
            "isDebitEnabled": True,
            "chains": [],
        }

    return {"code": "200000", "data": [currency("BTC", "Bitcoin"), currency("USDT", "Tether")]}


def kucoin() -> Dialect:
    """KuCoin spot: v3 currencies, v2 symbols, allTickers, timestamp, market/candles."""
    return Dialect(
        "kucoin",
        "BTC/USDT",
        "BTC-USDT",
        routes={
            "/api/v3/currencies": _kucoin_currencies,
            "/api/v2/symbols": _kucoin_symbols,
            "/api/v1/market/allTickers": lambda fake, _r: {
                "code": "200000",
                "data": {"time": fake.now_ms(), "ticker": []},
            },
            "/api/v1/timestamp": lambda fake, _r: {"code": "200000", "data": fake.now_ms()},
            "/api/v1/market/candles": _kucoin_candles,
        },
        candle_paths=frozenset({"/api/v1/market/candles"}),
    )


# -- gate ----------------------------------------------------------------------------------
# Gate v4 "Market candlesticks" (www.gate.com/docs/developers/apiv4/#market-candlesticks):
# from/to in seconds, inclusive; "Maximum of 1000 points can be returned in a query. Be sure
# not to exceed the limit when specifying from, to and interval" (a wider window is refused);
# only the latest 10000 points are served ("Candlestick too long ago. Maximum 10000 points ago
# are allowed"); rows oldest first: [t, quote volume, close, high, low, open, base volume,
# window closed] with "false" on the still-open candle.
GATE_CANDLES = CandleRules(max_limit=1000, keeps="newest", max_window=1000, history_bars=10000)


def _gate_error(message: str) -> Any:
    return json_response({"label": "INVALID_PARAM_VALUE", "message": message}, 400)


def _gate_candles(fake: ExchangeFake, request: FakeRequest) -> Any:
    step = _minutes(request.query["interval"])
    start, end = _seconds(request, "from"), _seconds(request, "to")
    # `limit` conflicts with from/to; without it a from/to window may hold the 1000 maximum
    default = 100 if start is None and end is None else 1000
    window = Window(start, end, _int(request, "limit") or default)
    oldest = fake.now_ms() // step * step - (GATE_CANDLES.history_bars or 0) * step
    if window.start is not None and window.start < oldest:
        return _gate_error("Candlestick too long ago. Maximum 10000 points ago are allowed")
    try:
        bars = fake.bars(window, GATE_CANDLES, step)
    except RejectedWindow:
        return _gate_error("Too many points requested. Maximum 1000 points allowed")
    return [
        [
            str(t // 1000),
            fmt(v * c),
            fmt(c),
            fmt(h),
            fmt(lo),
            fmt(o),
            fmt(v),
            "true" if done else "false",
        ]
        for t, o, h, lo, c, v, done in bars
    ]


def _gate_pairs(fake: ExchangeFake, request: FakeRequest) -> Any:
    # GET /api/v4/spot/currency_pairs, fields read by ccxt gate.fetch_spot_markets
    return [
        {
            "id": "BTC_USDT",
            "base": "BTC",
            "base_name": "Bitcoin",
            "quote": "USDT",
            "quote_name": "Tether",
            "fee": "0.2",
            "min_base_amount": "0.00001",
            "min_quote_amount": "3",
            "amount_precision": 6,
            "precision": 1,
            "trade_status": "tradable",
            "sell_start": 1516378650,
            "buy_start": 1516378650,
        }
    ]


def gate() -> Dialect:
    """Gate v4 spot: currencies, margin and spot currency_pairs, spot/time, spot/candlesticks."""
    return Dialect(
        "gate",
        "BTC/USDT",
        "BTC_USDT",
        routes={
            "/api/v4/spot/currencies": lambda fake, _r: [
                {"currency": "BTC", "name": "Bitcoin", "delisted": False, "chains": []},
                {"currency": "USDT", "name": "Tether", "delisted": False, "chains": []},
            ],
            "/api/v4/margin/currency_pairs": lambda fake, _r: [],
            "/api/v4/spot/currency_pairs": _gate_pairs,
            "/api/v4/spot/time": lambda fake, _r: {"server_time": fake.now_ms()},
            "/api/v4/spot/candlesticks": _gate_candles,
        },
        candle_paths=frozenset({"/api/v4/spot/candlesticks"}),
        history_bars=GATE_CANDLES.history_bars,
    )


# -- bitget --------------------------------------------------------------------------------
# Bitget v2 spot "Get Candlestick Data" (www.bitget.com/api-doc/spot/market/Get-Candle-Data):
# granularity, startTime/endTime in ms, limit default 100, max 1000; the newest `limit` bars
# before endTime, which is exclusive (issue 10); rows oldest first [ts, open, high, low, close,
# baseVol, usdtVol, quoteVol]; the current candle included; this endpoint reaches back only a
# timeframe-dependent number of days, 60 for 1h as ccxt bitget `maxRecentDaysPerTimeframe` has
# it. "Get History Candlestick Data" (.../Get-History-Candle-Data): endTime, limit max 200, the
# newest `limit` bars before endTime, any depth.
BITGET_CANDLES = CandleRules(max_limit=1000, keeps="newest", history_bars=60 * 24)
BITGET_HISTORY = CandleRules(max_limit=200, keeps="newest")


def _bitget_candles(rules: CandleRules) -> Any:
    def handler(fake: ExchangeFake, request: FakeRequest) -> Any:
        step = _minutes(request.query["granularity"].replace("min", "m"))
        start = None if rules is BITGET_HISTORY else _int(request, "startTime")
        window = Window(
            start, _int(request, "endTime"), _int(request, "limit") or 100, end_inclusive=False
        )
        rows = [
            [str(t), fmt(o), fmt(h), fmt(lo), fmt(c), fmt(v), fmt(v * c), fmt(v * c)]
            for t, o, h, lo, c, v, _closed in fake.bars(window, rules, step)
        ]
        return _bitget_envelope(fake, rows)

    return handler


def _bitget_envelope(fake: ExchangeFake, data: Any) -> Any:
    return {"code": "00000", "msg": "success", "requestTime": fake.now_ms(), "data": data}


def _bitget_symbols(fake: ExchangeFake, request: FakeRequest) -> Any:
    # GET /api/v2/spot/public/symbols, fields read by ccxt bitget.parse_market
    entry = {
        "symbol": "BTCUSDT",
        "baseCoin": "BTC",
        "quoteCoin": "USDT",
        "minTradeAmount": "0",
        "maxTradeAmount": "10000000000",
        "takerFeeRate": "0.002",
        "makerFeeRate": "0.002",
        "pricePrecision": "2",
        "quantityPrecision": "6",
        "quotePrecision": "6",
        "status": "online",
        "minTradeUSDT": "1",
        "buyLimitPriceRatio": "0.05",
        "sellLimitPriceRatio": "0.05",
        "areaSymbol": "no",
        "orderQuantity": "200",
        "openTime": "1532454360000",
        "offTime": "",
    }
    return _bitget_envelope(fake, [entry])


def bitget() -> Dialect:
    """Bitget v2 spot: public/coins, public/symbols, margin/currencies, public/time, candles."""
    return Dialect(
        "bitget",
        "BTC/USDT",
        "BTCUSDT",
        routes={
            "/api/v2/spot/public/coins": lambda fake, _r: _bitget_envelope(
                fake, [{"coinId": "1", "coin": "BTC", "transfer": "true", "chains": []}]
            ),
            "/api/v2/spot/public/symbols": _bitget_symbols,
            "/api/v2/margin/currencies": lambda fake, _r: _bitget_envelope(fake, []),
            "/api/v2/public/time": lambda fake, _r: _bitget_envelope(
                fake, {"serverTime": str(fake.now_ms())}
            ),
            "/api/v2/spot/market/candles": _bitget_candles(BITGET_CANDLES),
            "/api/v2/spot/market/history-candles": _bitget_candles(BITGET_HISTORY),
        },
        candle_paths=frozenset(
            {"/api/v2/spot/market/candles", "/api/v2/spot/market/history-candles"}
        ),
    )
