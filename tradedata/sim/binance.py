"""Binance's spot REST dialect (plus the futures exchangeInfo that ccxt's load_markets asks for).

Shapes follow Binance's spot API docs: klines as arrays of strings with 8 decimals, errors as
``{"code": -1121, "msg": "Invalid symbol."}`` with HTTP 400, request weights (ping/time 1,
exchangeInfo 20, klines 2) reported in ``X-MBX-USED-WEIGHT-1M``, 429 then 418 with ``Retry-After``.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

import tradedata.sim.timeframes as tfs
from tradedata.sim.bars import Bars, fixed_exact, format_fixed
from tradedata.sim.market import Market
from tradedata.sim.protocol import EMPTY_PAGE, ParamError, RestProtocol, int_param, json_response
from tradedata.sim.ratelimit import BINANCE_WEIGHT_PER_MINUTE, Verdict

EXCHANGE = "binance"
INTERVALS = frozenset(tfs.TIMEFRAMES)
MAX_LIMIT = 1000
DEFAULT_LIMIT = 500
_WEIGHTS = {"exchangeInfo": 20, "klines": 2, "uiKlines": 2}
_FUTURES_PREFIXES = ("/fapi/v1", "/dapi/v1")


def _error(code: int, msg: str, status: int = 400) -> web.Response:
    return json_response({"code": code, "msg": msg}, status=status)


def kline_rows(bars: Bars, timeframe: str) -> list[list[Any]]:
    """Binance's kline arrays for ``bars`` of ``timeframe``, oldest first."""
    closes = tfs.close_times(bars.open_time, timeframe)
    cols = [
        format_fixed(bars.open),
        format_fixed(bars.high),
        format_fixed(bars.low),
        format_fixed(bars.close),
        format_fixed(bars.volume),
        format_fixed(bars.quote_volume),
        format_fixed(bars.taker_base),
        format_fixed(bars.taker_quote),
    ]
    o, h, lo, c, v, q, tb, tq = cols
    return [
        [t, o[i], h[i], lo[i], c[i], v[i], ct, q[i], n, tb[i], tq[i], "0"]
        for i, (t, ct, n) in enumerate(
            zip(bars.open_time.tolist(), closes.tolist(), bars.trades.tolist(), strict=True)
        )
    ]


#: One kline as compact JSON, for columns whose values all print exactly with 8 decimals.
_KLINE_ROW = '[%d,"%.8f","%.8f","%.8f","%.8f","%.8f",%d,"%.8f",%d,"%.8f","%.8f","0"]'


def kline_body(bars: Bars, timeframe: str) -> bytes:
    """The compact JSON of :func:`kline_rows` (byte for byte what ``json_response`` sends).

    The usual case (every price and volume printing exactly with 8 decimals, as synthetic bars
    do) is formatted by one ``%`` over the whole page rather than value by value.
    """
    floats = (bars.open, bars.high, bars.low, bars.close, bars.volume, bars.quote_volume,
              bars.taker_base, bars.taker_quote)  # fmt: skip
    if not len(bars) or not all(fixed_exact(col) for col in floats):
        return json.dumps(kline_rows(bars, timeframe), separators=(",", ":")).encode()
    closes = tfs.close_times(bars.open_time, timeframe)
    o, h, lo, c, v, q, tb, tq = (col.tolist() for col in floats)
    rows = zip(bars.open_time.tolist(), o, h, lo, c, v, closes.tolist(), q,
               bars.trades.tolist(), tb, tq, strict=True)  # fmt: skip
    template = "[" + ",".join([_KLINE_ROW] * len(bars)) + "]"
    return (template % tuple(x for row in rows for x in row)).encode()


def symbol_info(market: Market) -> dict[str, Any]:
    """One ``symbols`` entry of spot exchangeInfo."""
    decimals = market.decimals if market.decimals is not None else 8
    tick = f"{10.0**-decimals:.8f}"
    return {
        "symbol": market.market_id,
        "status": "TRADING",
        "baseAsset": market.base,
        "baseAssetPrecision": 8,
        "quoteAsset": market.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": tick,
                "maxPrice": "1000000.00000000",
                "tickSize": tick,
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": "0.00001000",
                "maxQty": "9000000.00000000",
                "stepSize": "0.00001000",
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": "5.00000000",
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


class BinanceRest(RestProtocol):
    """Binance spot REST endpoints over the simulator's markets."""

    exchange = EXCHANGE
    prefixes = ("/api/", "/fapi/", "/dapi/", "/sapi/", "/eapi/", "/papi/")
    ws_prefixes = ("/ws", "/stream")
    default_rate_limit = BINANCE_WEIGHT_PER_MINUTE
    default_rate_window = 60.0
    bans = True

    def routes(self) -> list[web.RouteDef]:
        r = [
            web.get("/api/v3/ping", self.ping),
            web.get("/api/v3/time", self.time),
            web.get("/api/v3/exchangeInfo", self.exchange_info),
            web.get("/api/v3/klines", self.klines),
            web.get("/api/v3/uiKlines", self.klines),
        ]
        for prefix in _FUTURES_PREFIXES:
            r += [
                web.get(prefix + "/ping", self.ping),
                web.get(prefix + "/time", self.time),
                web.get(prefix + "/exchangeInfo", self.futures_exchange_info),
            ]
        r.append(web.get("/eapi/v1/exchangeInfo", self.options_exchange_info))
        return r

    def weight(self, request: web.Request) -> int:
        if request.path.startswith(_FUTURES_PREFIXES):
            return 1
        return _WEIGHTS.get(request.path.rsplit("/", 1)[-1], 1)

    def is_page(self, path: str) -> bool:
        return path.endswith(("/klines", "/uiKlines"))

    def limit_headers(self, verdict: Verdict) -> dict[str, str]:
        return {"X-MBX-USED-WEIGHT-1M": str(verdict.used), "X-MBX-USED-WEIGHT": str(verdict.used)}

    def limited(self, verdict: Verdict) -> web.Response:
        headers = {"Retry-After": str(verdict.retry_after), **self.limit_headers(verdict)}
        if verdict.status == 418:
            until = int(verdict.reset_at * 1000)
            msg = (
                f"Way too much request weight used; IP banned until {until}. "
                "Please use WebSocket Streams for live updates to avoid bans."
            )
        else:
            limiter = self.state.limiters.get(EXCHANGE)
            window = limiter.window if limiter else 60.0
            per = "1 MINUTE" if window == 60.0 else f"{window:g} SECOND"
            msg = (
                f"Too much request weight used; current limit is {verdict.limit} request weight "
                f"per {per}. Please use WebSocket Streams for live updates to avoid polling "
                "the API."
            )
        return json_response({"code": -1003, "msg": msg}, status=verdict.status, headers=headers)

    def server_error(self, status: int) -> web.Response:
        if status == 500:
            msg = "Internal error; unable to process your request. Please try again."
            return _error(-1001, msg, status=500)
        reason = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Time-out"}[status]
        body = f"<html><body><h1>{status} {reason}</h1></body></html>"
        return web.Response(text=body, status=status, content_type="text/html")

    def empty_page(self, request: web.Request) -> web.Response:
        return json_response([])

    async def ping(self, request: web.Request) -> web.Response:
        """GET /api/v3/ping."""
        return json_response({})

    async def time(self, request: web.Request) -> web.Response:
        """GET /api/v3/time: sim time."""
        return json_response({"serverTime": self.state.served_ms()})

    def _rate_limits(self) -> list[dict[str, Any]]:
        limiter = self.state.limiters.get(EXCHANGE)
        limit = limiter.limit if limiter else BINANCE_WEIGHT_PER_MINUTE
        return [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": limit,
            },
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
            {
                "rateLimitType": "RAW_REQUESTS",
                "interval": "MINUTE",
                "intervalNum": 5,
                "limit": 61000,
            },
        ]

    def _requested_symbols(self, request: web.Request) -> list[str] | None:
        if "symbol" in request.query:
            return [request.query["symbol"]]
        if "symbols" in request.query:
            try:
                names = json.loads(request.query["symbols"])
            except ValueError as e:
                raise ParamError("symbols", "Invalid symbols.") from e
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise ParamError("symbols", "Invalid symbols.")
            return names
        return None

    async def exchange_info(self, request: web.Request) -> web.Response:
        """GET /api/v3/exchangeInfo (optionally ``symbol`` or ``symbols``)."""
        markets = self.state.markets.get(EXCHANGE, {})
        try:
            wanted = self._requested_symbols(request)
        except ParamError:
            return _error(-1100, "Illegal characters found in parameter 'symbols'.")
        if wanted is None:
            chosen = list(markets.values())
        else:
            chosen = [markets[w.upper()] for w in wanted if w.upper() in markets]
            if len(chosen) != len(wanted):
                return _error(-1121, "Invalid symbol.")
        body = {
            "timezone": "UTC",
            "serverTime": self.state.served_ms(),
            "rateLimits": self._rate_limits(),
            "exchangeFilters": [],
            "symbols": [symbol_info(m) for m in chosen],
        }
        return json_response(body)

    async def futures_exchange_info(self, request: web.Request) -> web.Response:
        """GET /fapi/v1/exchangeInfo and /dapi/v1/exchangeInfo: no futures are simulated."""
        body: dict[str, Any] = {
            "timezone": "UTC",
            "serverTime": self.state.served_ms(),
            "rateLimits": self._rate_limits()[:2],
            "exchangeFilters": [],
            "symbols": [],
        }
        if request.path.startswith("/fapi/"):
            body["futuresType"] = "U_MARGINED"
            body["assets"] = []
        return json_response(body)

    async def options_exchange_info(self, request: web.Request) -> web.Response:
        """GET /eapi/v1/exchangeInfo: no options are simulated."""
        body = {
            "timezone": "UTC",
            "serverTime": self.state.served_ms(),
            "optionContracts": [],
            "optionAssets": [],
            "optionSymbols": [],
            "rateLimits": self._rate_limits()[:1],
        }
        return json_response(body)

    async def klines(self, request: web.Request) -> web.Response:
        """GET /api/v3/klines: symbol, interval, startTime, endTime, limit (1..1000)."""
        q = request.query
        symbol, interval = q.get("symbol", ""), q.get("interval", "")
        if not symbol:
            return _error(
                -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."
            )
        if not interval:
            return _error(
                -1102, "Mandatory parameter 'interval' was not sent, was empty/null, or malformed."
            )
        market = self.state.market(EXCHANGE, symbol)
        if market is None:
            return _error(-1121, "Invalid symbol.")
        if interval not in INTERVALS:
            return _error(-1120, "Invalid interval.")
        try:
            start = int_param(request, "startTime")
            end = int_param(request, "endTime")
            limit = int_param(request, "limit", DEFAULT_LIMIT)
        except ParamError as e:
            return _error(-1100, f"{e} legal range is '^[0-9]{{1,20}}$'.")
        assert limit is not None
        if limit < 1:
            return _error(-1130, "Data sent for parameter 'limit' is not valid.")
        if start is not None and end is not None and start > end:
            return _error(-1023, "Start time is greater than end time.")
        if request.get(EMPTY_PAGE):
            return self.empty_page(request)
        now = self.state.clock.now_ms()
        # With startTime the oldest `limit` bars from it (ccxt issue #8068 records a
        # startTime+limit=6 answer starting at startTime, skipping a halted hour); "If startTime
        # and endTime are not sent, the most recent klines are returned" (Binance spot REST
        # docs, Kline/Candlestick data). Halted periods have no rows (see SyntheticMarket).
        bars = market.klines(interval, start, end, min(limit, MAX_LIMIT), now)
        self.state.stats.add("bars_served", len(bars))
        body = kline_body(bars, interval)
        return web.Response(body=body, content_type="application/json")
