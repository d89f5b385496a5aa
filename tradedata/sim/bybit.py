"""Bybit's v5 public REST dialect: market time, instruments-info and kline.

Every answer is HTTP 200 with the ``retCode``/``retMsg``/``result``/``retExtInfo``/``time``
envelope; bad parameters or unknown symbols are ``retCode`` 10001; too many requests ``retCode``
10006 with ``X-Bapi-Limit*`` headers. Spot markets are simulated, and each USDT- or USDC-quoted
one is also listed as a linear perpetual (``BTC/USDT:USDT``; its klines are the spot bars, as
the simulated markets answer kline requests as spot and linear) with an open-interest history
(:meth:`BybitRest.open_interest`, values from :func:`open_interest_at`); inverse and option
categories list nothing.

Kline windows behave as Bybit v5's do (each rule cited where it is applied in :meth:`kline`):
lists are newest first; a ``start`` inside a bar includes that bar; a window ``[start, end]``
holding more than ``limit`` bars answers with its *newest* ``limit`` bars; ``start`` alone
answers with the oldest ``limit`` bars from it; neither answers with the newest up to now.
"""

from __future__ import annotations

import zlib
from typing import Any

from aiohttp import web

import tradedata.sim.timeframes as tfs
from tradedata.sim.bars import Bars, format_plain
from tradedata.sim.market import Market
from tradedata.sim.protocol import EMPTY_PAGE, ParamError, RestProtocol, int_param, json_response
from tradedata.sim.ratelimit import BYBIT_REQUESTS_PER_5S, Verdict

EXCHANGE = "bybit"
INTERVALS = {
    "1": "1m",
    "3": "3m",
    "5": "5m",
    "15": "15m",
    "30": "30m",
    "60": "1h",
    "120": "2h",
    "240": "4h",
    "360": "6h",
    "720": "12h",
    "D": "1d",
    "W": "1w",
    "M": "1M",
}
CATEGORIES = ("spot", "linear", "inverse", "option")
MAX_LIMIT = 1000
DEFAULT_LIMIT = 200


def envelope(result: Any, now_ms: int, code: int = 0, msg: str = "OK") -> dict[str, Any]:
    """Bybit's response envelope."""
    return {"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": now_ms}


def kline_rows(bars: Bars) -> list[list[str]]:
    """Bybit kline arrays for ``bars``, newest first."""
    cols = [
        [str(t) for t in bars.open_time.tolist()],
        format_plain(bars.open),
        format_plain(bars.high),
        format_plain(bars.low),
        format_plain(bars.close),
        format_plain(bars.volume),
        format_plain(bars.quote_volume),
    ]
    return [list(row) for row in zip(*cols, strict=True)][::-1]


def instrument_info(market: Market) -> dict[str, Any]:
    """One spot ``list`` entry of instruments-info."""
    decimals = market.decimals if market.decimals is not None else 8
    return {
        "symbol": market.market_id,
        "baseCoin": market.base,
        "quoteCoin": market.quote,
        "innovation": "0",
        "status": "Trading",
        "marginTrading": "none",
        "stTag": "0",
        "lotSizeFilter": {
            "basePrecision": "0.00001",
            "quotePrecision": "0.00000001",
            "minOrderQty": "0.00001",
            "maxOrderQty": "9000000",
            "minOrderAmt": "5",
            "maxOrderAmt": "9000000",
        },
        "priceFilter": {"tickSize": format_plain_one(10.0**-decimals)},
        "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.05"},
    }


#: quote coins whose spot markets are also listed as linear perpetuals
LINEAR_SETTLE = ("USDT", "USDC")
#: v5 "Get Open Interest" intervalTime values (bybit-exchange.github.io/docs/v5/market/
#: open-interest: "5min,15min,30min,1h,4h,1d") in milliseconds
OI_INTERVALS = {
    "5min": 300_000,
    "15min": 900_000,
    "30min": 1_800_000,
    "1h": 3_600_000,
    "4h": 14_400_000,
    "1d": 86_400_000,
}


def open_interest_at(market_id: str, stamp_ms: int) -> float:
    """The simulated open interest (one side) of ``market_id`` at ``stamp_ms``: a pure function
    of the 5-minute stamp, so every interval shows the same snapshot at the same time."""
    h = zlib.crc32(f"{market_id}:{stamp_ms // 300_000}".encode())
    return round(50_000 + (h % 2_000_000) / 100, 2)


def linear_instrument_info(market: Market) -> dict[str, Any]:
    """One ``category=linear`` entry of instruments-info: the fields of the linear sample in
    ccxt's bybit.fetch_future_markets comment; launched with the market's first bar."""
    decimals = market.decimals if market.decimals is not None else 2
    return {
        "symbol": market.market_id,
        "contractType": "LinearPerpetual",
        "status": "Trading",
        "baseCoin": market.base,
        "quoteCoin": market.quote,
        "launchTime": str(market.first_open_ms),
        "deliveryTime": "0",
        "deliveryFeeRate": "",
        "priceScale": str(decimals),
        "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
        "priceFilter": {
            "minPrice": format_plain_one(10.0**-decimals),
            "maxPrice": "9999999",
            "tickSize": format_plain_one(10.0**-decimals),
        },
        "lotSizeFilter": {
            "maxOrderQty": "1000.000",
            "minOrderQty": "0.001",
            "qtyStep": "0.001",
            "postOnlyMaxOrderQty": "1000.000",
        },
        "unifiedMarginTrade": True,
        "fundingInterval": 480,
        "settleCoin": market.quote,
    }


def format_plain_one(value: float) -> str:
    """One number in Bybit's plain decimal style."""
    return f"{value:.8f}".rstrip("0").rstrip(".")


class BybitRest(RestProtocol):
    """Bybit v5 public REST endpoints over the simulator's markets."""

    exchange = EXCHANGE
    prefixes = ("/v5/market/", "/v5/asset/", "/v5/account/", "/v5/user/")
    ws_prefixes = ("/v5/public/",)
    default_rate_limit = BYBIT_REQUESTS_PER_5S
    default_rate_window = 5.0
    bans = False

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/v5/market/time", self.time),
            web.get("/v5/market/instruments-info", self.instruments_info),
            web.get("/v5/market/kline", self.kline),
            web.get("/v5/market/open-interest", self.open_interest),
        ]

    def weight(self, request: web.Request) -> int:
        return 1

    def is_page(self, path: str) -> bool:
        return path.endswith("/kline")

    def _now(self) -> int:
        return self.state.served_ms()

    def _fail(self, msg: str, code: int = 10001) -> web.Response:
        return json_response(envelope({}, self._now(), code=code, msg=msg))

    def limit_headers(self, verdict: Verdict) -> dict[str, str]:
        return {
            "X-Bapi-Limit": str(verdict.limit),
            "X-Bapi-Limit-Status": str(max(0, verdict.limit - verdict.used)),
            "X-Bapi-Limit-Reset-Timestamp": str(int(verdict.reset_at * 1000)),
        }

    def limited(self, verdict: Verdict) -> web.Response:
        body = envelope({}, self._now(), code=10006, msg="Too many visits!")
        headers = {"Retry-After": str(verdict.retry_after), **self.limit_headers(verdict)}
        return json_response(body, headers=headers)

    def server_error(self, status: int) -> web.Response:
        reason = {
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
        }[status]
        body = f"<html><head><title>{status} {reason}</title></head><body>{reason}</body></html>"
        return web.Response(text=body, status=status, content_type="text/html")

    def empty_page(self, request: web.Request) -> web.Response:
        q = request.query
        result = {
            "category": q.get("category", "linear"),
            "symbol": q.get("symbol", ""),
            "list": [],
        }
        return json_response(envelope(result, self._now()))

    async def time(self, request: web.Request) -> web.Response:
        """GET /v5/market/time: sim time."""
        now = self._now()
        result = {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}
        return json_response(envelope(result, now))

    async def instruments_info(self, request: web.Request) -> web.Response:
        """GET /v5/market/instruments-info: spot instruments; other categories are empty."""
        category = request.query.get("category", "")
        if category not in CATEGORIES:
            return self._fail("params error: category is invalid")
        markets = list(self.state.markets.get(EXCHANGE, {}).values())
        if category == "linear":
            markets = [m for m in markets if m.quote in LINEAR_SETTLE]
        elif category != "spot":
            markets = []
        symbol = request.query.get("symbol")
        if symbol:
            markets = [m for m in markets if m.market_id == symbol.upper()]
        status = request.query.get("status")
        if status and status != "Trading":
            markets = []
        base = request.query.get("baseCoin")
        if base:
            markets = [m for m in markets if m.base == base.upper()]
        info = linear_instrument_info if category == "linear" else instrument_info
        result: dict[str, Any] = {"category": category, "list": [info(m) for m in markets]}
        if category != "spot":
            result["nextPageCursor"] = ""
        return json_response(envelope(result, self._now()))

    async def kline(self, request: web.Request) -> web.Response:
        """GET /v5/market/kline: category, symbol, interval, start, end, limit (1..1000)."""
        q = request.query
        category = q.get("category") or "linear"
        interval = INTERVALS.get(q.get("interval", ""))
        market = self.state.market(EXCHANGE, q.get("symbol", ""))
        if category not in ("spot", "linear", "inverse"):
            return self._fail("params error: category is invalid")
        if interval is None:
            return self._fail("params error: interval is invalid")
        if market is None or category not in ("spot", "linear"):  # as on the linear stream
            return self._fail("params error: symbol invalid")
        try:
            start = int_param(request, "start")
            end = int_param(request, "end")
            limit = int_param(request, "limit", DEFAULT_LIMIT)
        except ParamError as e:
            return self._fail(f"params error: {e.name} invalid")
        assert limit is not None
        if limit < 1:
            return self._fail("params error: limit invalid")
        if start is not None and end is not None and start > end:
            return self._fail("params error: start must be less than end")
        if request.get(EMPTY_PAGE):
            return self.empty_page(request)
        now = self.state.clock.now_ms()
        # A start inside a bar includes that bar: ccxt's bybit.fetch_ohlcv aligns `since` up to
        # the interval because "bybit returns the candle that contains `start`" (ccxt
        # python/ccxt/bybit.py, ccxt issue #26736).
        aligned = None if start is None else tfs.floor_open(start, interval)
        # An over-full [start, end] window answers with its newest `limit` bars: the list is
        # "sorted in reverse by startTime" (https://bybit-exchange.github.io/docs/v5/market/kline)
        # and is cut from `end` backwards, which is why public clients page Bybit backwards with
        # `end` or with windows of exactly `limit` bars (e.g. yasai-nodame/bybit_order
        # csv_data_*.py: start = end - 200 bars, limit 200; issue 10 measured it on Bybit).
        # `start` alone pages forwards from it: start=9999&limit=1 "returns the earliest
        # available 1m candle" (bybit-exchange/pybit issue #186, 2026-03-13).
        from_start = start is not None and end is None
        bars = market.klines(interval, aligned, end, min(limit, MAX_LIMIT), now, from_start)
        self.state.stats.add("bars_served", len(bars))
        result = {"category": category, "symbol": market.market_id, "list": kline_rows(bars)}
        return json_response(envelope(result, self._now()))

    async def open_interest(self, request: web.Request) -> web.Response:
        """GET /v5/market/open-interest (bybit-exchange.github.io/docs/v5/market/open-interest):
        category linear, symbol, intervalTime, startTime, endTime, limit [1, 200] (default 50),
        cursor; rows ``{"openInterest", "singleOpenInterest", "timestamp"}`` as strings,
        newest first, from the contract's launch ("The upper limit time you can query is the
        launch time of the symbol").

        As ccxt PR 30016 measured on the live endpoint: ends are inclusive, a lone
        ``startTime`` is ignored (rows walk back from now), an over-full window answers with
        its newest ``limit`` rows and ``nextPageCursor`` pages on to older ones inside it.
        ``openInterest`` is "the sum of both sides", ``singleOpenInterest`` one side.
        """
        q = request.query
        step = OI_INTERVALS.get(q.get("intervalTime", ""))
        market = self.state.market(EXCHANGE, q.get("symbol", ""))
        if q.get("category") != "linear" or market is None or market.quote not in LINEAR_SETTLE:
            return self._fail("params error: symbol invalid")
        if step is None:
            return self._fail("params error: intervalTime is invalid")
        try:
            start = int_param(request, "startTime")
            end = int_param(request, "endTime")
            limit = int_param(request, "limit", 50)
            cursor = int(q.get("cursor") or 0)
        except (ParamError, ValueError):
            return self._fail("params error: invalid parameter")
        assert limit is not None
        if not 1 <= limit <= 200:
            return self._fail("params error: limit invalid")
        now = self.state.clock.now_ms()
        hi = now if end is None else min(end, now)
        lo = start if start is not None and end is not None else 0
        if cursor:
            hi = min(hi, cursor - 1)
        first = -(-max(lo, market.first_open_ms) // step) * step
        last = hi // step * step
        count = max(0, (last - first) // step + 1)
        page = [last - i * step for i in range(min(limit, count))]  # newest first
        rows = [
            {
                "openInterest": f"{2 * open_interest_at(market.market_id, t):.8f}",
                "singleOpenInterest": f"{open_interest_at(market.market_id, t):.2f}",
                "timestamp": str(t),
            }
            for t in page
        ]
        more = count > limit
        result = {
            "symbol": market.market_id,
            "category": "linear",
            "list": rows,
            "nextPageCursor": str(page[-1]) if more and page else "",
        }
        return json_response(envelope(result, self._now()))
