"""Loopback fakes of Binance USDⓈ-M futures and Bybit linear perpetuals: markets, klines and
open-interest history, in the wire formats real ccxt 4.5 parses.

``DerivativesFake(binance_usdm())`` / ``DerivativesFake(bybit_linear())`` serve
``BTC/USDT:USDT`` (and the spot routes of :mod:`tests.fakes.exchanges.dialects_a`, which ccxt
uses for the server time): 1h klines from :func:`~tests.fakes.exchanges.core.bar_values`, and an
open-interest record at every 5-minute stamp from the listing to now, whose value is a pure
function of its stamp (:func:`oi_value`), so the same instant has the same open interest in
every period, as a snapshot does.

Every rule served is cited next to it. What the venues' docs do not say (which rows an
over-full Binance window keeps, a lone ``startTime``, a limit above the maximum) is not
invented: such a request is answered 400 and recorded in :attr:`DerivativesFake.undocumented`,
and the tests assert that list stays empty. Adversarial knobs: :attr:`DerivativesFake.oi_gaps`
(stamps the venue has no record for: it answers fewer rows than asked) and
:attr:`DerivativesFake.oi_failing` (request windows, by their ``startTime``, answered 503).
"""

from __future__ import annotations

import threading
from typing import Any

from tests.fakes.exchanges.core import HOUR_MS, CandleRules, Dialect, ExchangeFake, Window, fmt
from tests.fakes.exchanges.dialects_a import (
    _binance_info,
    _bybit_envelope,
    _bybit_instruments,
    _bybit_period,
    _bybit_time,
    _int,
    _minutes,
    binance_kline_rows,
)
from tests.fakes.server import FakeRequest, FakeResponse, json_response

__all__ = ["DerivativesFake", "binance_usdm", "bybit_linear", "oi_value"]

FIVE_MIN_MS = 300_000
DAY_MS = 24 * HOUR_MS


def oi_value(stamp_ms: int) -> float:
    """The open interest (one side) at ``stamp_ms`` (a 5-minute stamp): three decimals, exact
    in every wire format."""
    k = stamp_ms // FIVE_MIN_MS
    return round(70000 + (k * 7919) % 20000 / 1000 + (k % 13) * 0.125, 3)


class DerivativesFake(ExchangeFake):
    """An :class:`ExchangeFake` with open-interest history and a record of undocumented asks."""

    def __init__(self, dialect: Dialect, *, listing_bars: int = 6000) -> None:
        #: requests the venue's docs say nothing about (answered 400): must stay empty
        self.undocumented: list[str] = []
        #: 5-minute stamps (ms) the venue has no open-interest record for
        self.oi_gaps: set[int] = set()
        #: ``startTime`` values (ms) of request windows answered with an HTTP 503 outage
        self.oi_failing: set[int] = set()
        #: Binance's openInterestHist ends, which its docs leave open: inclusive (default) or
        #: exclusive; the client must get the same records either way
        self.binance_inclusive_ends = True
        #: Bybit's rows carry singleOpenInterest (today's docs) or not (the docs' older
        #: examples, before the field was added)
        self.bybit_single_side = True
        self._oi_lock = threading.Lock()
        super().__init__(dialect, listing_bars=listing_bars)

    def refuse(self, what: str) -> FakeResponse:
        """Record an undocumented request and answer it 400."""
        with self._oi_lock:
            self.undocumented.append(what)
        return json_response({"fake": f"undocumented: {what}"}, 400)

    def oi_stamps(self, step: int, lo: int, hi: int, oldest: int | None = None) -> list[int]:
        """Record stamps of period ``step`` in ``[lo, hi]`` (ascending): from the listing (or
        ``oldest``) to now, minus :attr:`oi_gaps`."""
        first = max(self.listed_ms, oldest or self.listed_ms)
        lo = max(lo, -(-first // step) * step)
        hi = min(hi, self.now_ms() // step * step)
        start = -(-lo // step) * step
        return [t for t in range(start, hi + 1, step) if t not in self.oi_gaps]

    def oi_requests(self) -> int:
        """Open-interest requests answered so far."""
        with self._lock:
            return sum(1 for r in self.requests if r.path in _OI_PATHS)


_OI_PATHS = frozenset({"/futures/data/openInterestHist", "/v5/market/open-interest"})


def _outage() -> FakeResponse:
    """An injected outage of one request window (:attr:`DerivativesFake.oi_failing`): not a
    documented answer but the adversarial case, a bare HTTP 503 as any gateway in front of a
    venue sends it (ccxt's ``httpExceptions`` map 503 to ExchangeNotAvailable)."""
    return FakeResponse(503, "Service Unavailable", content_type="text/plain")


# -- binance USDⓈ-M ------------------------------------------------------------------------
# "Open Interest Statistics", GET /futures/data/openInterestHist (developers.binance.com/docs/
# derivatives/usds-margined-futures/market-data/rest-api/Open-Interest-Statistics): period
# "5m","15m","30m","1h","2h","4h","6h","12h","1d"; limit default 30, max 500; "If startTime
# and endTime are not sent, the most recent data is returned"; "Only the data of the latest 30
# days is available". Rows oldest first, as in the docs' response example.
BINANCE_OI_PERIODS = {"5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d"}
BINANCE_OI_DAYS = 30


def _binance_oi(fake: DerivativesFake, request: FakeRequest) -> Any:
    q = request.query
    period = q.get("period", "")
    if period not in BINANCE_OI_PERIODS:
        return fake.refuse(f"openInterestHist period {period!r}")
    step = _minutes(period)
    limit = _int(request, "limit") or 30
    if limit > 500:
        return fake.refuse(f"openInterestHist limit {limit} > 500")
    start, end = _int(request, "startTime"), _int(request, "endTime")
    oldest = fake.now_ms() - BINANCE_OI_DAYS * DAY_MS
    if start is not None and start < oldest:
        # ccxt issue 23712 (a ccxt maintainer): "The `invalid startTime` rejection comes from
        # binance itself: the underlying openInterestHist endpoint only serves roughly the
        # most recent 30 days - any since older than that is refused server-side". The exact
        # code is not recorded there: this is -1130 INVALID_PARAMETER of the USDⓈ-M error-code
        # list (developers.binance.com/docs/derivatives/usds-margined-futures/error-code,
        # "Data sent for parameter '%s' is not valid."). The client never relies on it: it
        # asks nothing older than the 30 days, and any error answer is reported as such
        body = {"code": -1130, "msg": "Data sent for parameter 'startTime' is not valid."}
        return json_response(body, 400)
    if (start is None) != (end is None):
        return fake.refuse("openInterestHist with only one of startTime/endTime")
    if start is not None and start in fake.oi_failing:
        return _outage()
    if start is None or end is None:
        stamps = fake.oi_stamps(step, 0, fake.now_ms(), oldest)[-limit:]  # "most recent"
    else:
        # ends: the docs do not say whether they are inclusive; the client asks windows whose
        # answer is the same either way, and this fake serves them inclusive (as Binance's
        # kline endpoints document); an over-full window is undocumented
        inclusive = fake.binance_inclusive_ends
        stamps = fake.oi_stamps(step, start if inclusive else start + 1,
                                end if inclusive else end - 1, oldest)  # fmt: skip
        if len(stamps) > limit:
            return fake.refuse(f"over-full openInterestHist window ({len(stamps)} > {limit})")
    # row shape: ccxt binance.fetch_open_interest_history's recorded comment
    # ({"symbol":"BTCUSDT","sumOpenInterest":"75375.61700000","sumOpenInterestValue":
    # "3248828883.71251440","timestamp":1642179900000}) and the live answer in hexdocs.pm
    # binance_futures' open_interest_hist example: amounts as decimal strings, the timestamp
    # an integer of epoch ms (the docs' own example prints it as a string; ccxt reads either)
    return [
        {
            "symbol": "BTCUSDT",
            "sumOpenInterest": f"{oi_value(t):.8f}",
            "sumOpenInterestValue": f"{oi_value(t) * 20000:.8f}",
            "timestamp": t,
        }
        for t in stamps
    ]


# USDⓈ-M "Kline/Candlestick Data", GET /fapi/v1/klines (developers.binance.com/docs/
# derivatives/usds-margined-futures/market-data/rest-api/Kline-Candlestick-Data): limit default
# 500, max 1500; "If startTime and endTime are not sent, the most recent klines are returned";
# rows as on spot, oldest first, from startTime.
BINANCE_FUTURES_KLINES = CandleRules(max_limit=1500, keeps="oldest")


def _binance_fapi_klines(fake: DerivativesFake, request: FakeRequest) -> Any:
    return binance_kline_rows(fake, request, BINANCE_FUTURES_KLINES)


def _binance_fapi_info(fake: DerivativesFake, request: FakeRequest) -> Any:
    # GET /fapi/v1/exchangeInfo: the USDⓈ-M perpetual entry in the shape of the fapi and dapi
    # samples in ccxt binance.fetch_markets' comments (contractType, deliveryDate, onboardDate,
    # marginAsset, precisions, filters), the fields ccxt binance.parse_market reads
    symbol = {
        "symbol": "BTCUSDT",
        "pair": "BTCUSDT",
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": fake.listed_ms,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": "BTC",
        "quoteAsset": "USDT",
        "marginAsset": "USDT",
        "pricePrecision": 2,
        "quantityPrecision": 3,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "filters": [
            {
                "minPrice": "0.01",
                "maxPrice": "1000000",
                "filterType": "PRICE_FILTER",
                "tickSize": "0.01",
            },
            {"stepSize": "0.001", "filterType": "LOT_SIZE", "maxQty": "1000", "minQty": "0.001"},
            {
                "stepSize": "0.001",
                "filterType": "MARKET_LOT_SIZE",
                "maxQty": "1000",
                "minQty": "0.001",
            },
        ],
        "orderTypes": ["LIMIT", "MARKET", "STOP"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
    }
    limits = [  # as in ccxt's fapi sample
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 1200}
    ]
    return {
        "timezone": "UTC",
        "serverTime": fake.now_ms(),
        "rateLimits": limits,
        "exchangeFilters": [],
        "symbols": [symbol] if request.path.startswith("/fapi/") else [],
    }


def binance_usdm() -> Dialect:
    """Binance: spot info and time (ccxt's clock), USDⓈ-M (and an empty COIN-M) exchangeInfo,
    futures klines and open-interest statistics."""
    return Dialect(
        "binance",
        "BTC/USDT:USDT",
        "BTCUSDT",
        routes={
            "/api/v3/exchangeInfo": _binance_info,
            "/api/v3/time": lambda fake, _r: {"serverTime": fake.now_ms()},
            "/fapi/v1/exchangeInfo": _binance_fapi_info,
            "/dapi/v1/exchangeInfo": _binance_fapi_info,
            "/fapi/v1/klines": _binance_fapi_klines,
            "/futures/data/openInterestHist": _binance_oi,
        },
        candle_paths=frozenset({"/fapi/v1/klines"}),
    )


# -- bybit linear --------------------------------------------------------------------------
# v5 "Get Open Interest", GET /v5/market/open-interest (bybit-exchange.github.io/docs/v5/market/
# open-interest): category linear|inverse; intervalTime 5min,15min,30min,1h,4h,1d; limit
# [1, 200], default 50; cursor "Used to paginate"; "The upper limit time you can query is the
# launch time of the symbol"; list rows {"openInterest": string, "timestamp": string (ms)},
# newest first, as in the docs' response example (whose startTime=1669571100000 and
# endTime=1669571400000 answer both ends: inclusive). ccxt PR 30016, checked against the live
# endpoint: it is "newest-first, end-anchored": a lone startTime is ignored (the answer walks
# back from now), an over-full [startTime, endTime] gives its newest `limit` rows (start
# 00:00, end 05:00, limit 5 -> 05:00 .. 01:00) and the cursor pages on to older rows inside
# the window until nextPageCursor is "". singleOpenInterest: one side (ccxt issue 30014's
# recorded row carries it, and the docs list it). Stamps fall on period boundaries: the docs'
# 1d example rows are 1780963200000 and 1780876800000 (00:00 UTC), the 5min ones
# 1669571400000 and 1669571100000, ccxt issue 30014's 1h row 1787248800000 (18:00 UTC); Binance's
# 5m examples likewise (1583127900000, 1642179900000). So is every record this fake serves.
BYBIT_OI_INTERVALS = {
    "5min": FIVE_MIN_MS,
    "15min": 3 * FIVE_MIN_MS,
    "30min": 6 * FIVE_MIN_MS,
    "1h": HOUR_MS,
    "4h": 4 * HOUR_MS,
    "1d": DAY_MS,
}


def _bybit_oi(fake: DerivativesFake, request: FakeRequest) -> Any:
    q = request.query
    step = BYBIT_OI_INTERVALS.get(q.get("intervalTime", ""))
    if step is None or q.get("category") not in ("linear", "inverse"):
        return fake.refuse(f"open-interest {q.get('category')!r} {q.get('intervalTime')!r}")
    limit = _int(request, "limit") or 50
    if not 1 <= limit <= 200:
        return fake.refuse(f"open-interest limit {limit} outside [1, 200]")
    start, end = _int(request, "startTime"), _int(request, "endTime")
    if start is not None and start in fake.oi_failing:
        return _outage()
    hi = end if end is not None else fake.now_ms()
    lo = start if start is not None and end is not None else 0  # a lone startTime is ignored
    cursor = q.get("cursor") or ""
    if cursor:
        oldest_served = cursor.replace("lastid%3D", "").replace("lastid=", "")  # sent encoded
        hi = min(hi, int(oldest_served) - 1)
    stamps = fake.oi_stamps(step, lo, hi)
    page = stamps[-limit:][::-1]  # newest first
    more = len(stamps) > limit
    result = {
        "symbol": "BTCUSDT",
        "category": q["category"],
        "list": [
            {
                "openInterest": f"{2 * oi_value(t):.8f}",  # both sides
                **({"singleOpenInterest": f"{oi_value(t):.3f}"} if fake.bybit_single_side else {}),
                "timestamp": str(t),
            }
            for t in page
        ],
        # the docs' v3 example shows a cursor "lastid%3D44487872"; this one names the oldest
        # row served, "" once the window is exhausted
        "nextPageCursor": f"lastid%3D{page[-1]}" if more else "",
    }
    return _bybit_envelope(fake, result)


# v5 "Get Kline" for category=linear: the spot rules (dialects_a.BYBIT_KLINES, cited there)
BYBIT_LINEAR_KLINES = CandleRules(max_limit=1000, keeps="newest")


def _bybit_linear_kline(fake: DerivativesFake, request: FakeRequest) -> Any:
    if request.query.get("category") != "linear":
        return fake.refuse(f"kline category {request.query.get('category')!r}")
    window = Window(_int(request, "start"), _int(request, "end"), _int(request, "limit") or 200)
    step = _bybit_period(request.query["interval"])
    rows = [
        [str(t), fmt(o), fmt(h), fmt(lo), fmt(c), fmt(v), fmt(v * c)]
        for t, o, h, lo, c, v, _closed in fake.bars(window, BYBIT_LINEAR_KLINES, step)
    ]
    result = {"category": "linear", "symbol": "BTCUSDT", "list": rows[::-1]}
    return _bybit_envelope(fake, result)


def _bybit_linear_instruments(fake: DerivativesFake, request: FakeRequest) -> Any:
    category = request.query.get("category")
    if category == "spot":
        return _bybit_instruments(fake, request)
    # the linear sample in ccxt bybit.fetch_future_markets' comment (fields it parses);
    # inverse and the PreLaunch listing ccxt also asks for hold nothing here
    entry = {
        "symbol": "BTCUSDT",
        "contractType": "LinearPerpetual",
        "status": "Trading",
        "baseCoin": "BTC",
        "quoteCoin": "USDT",
        "launchTime": str(fake.listed_ms),
        "deliveryTime": "0",
        "deliveryFeeRate": "",
        "priceScale": "2",
        "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
        "priceFilter": {"minPrice": "0.50", "maxPrice": "999999.00", "tickSize": "0.50"},
        "lotSizeFilter": {
            "maxOrderQty": "100.000",
            "minOrderQty": "0.001",
            "qtyStep": "0.001",
            "postOnlyMaxOrderQty": "1000.000",
        },
        "unifiedMarginTrade": True,
        "fundingInterval": 480,
        "settleCoin": "USDT",
    }
    listed = category == "linear" and request.query.get("status") != "PreLaunch"
    result = {"category": category, "list": [entry] if listed else [], "nextPageCursor": ""}
    return _bybit_envelope(fake, result)


def bybit_linear() -> Dialect:
    """Bybit v5: instruments-info (spot, linear, inverse), time, linear klines, open interest."""
    return Dialect(
        "bybit",
        "BTC/USDT:USDT",
        "BTCUSDT",
        routes={
            "/v5/market/instruments-info": _bybit_linear_instruments,
            "/v5/market/time": _bybit_time,
            "/v5/market/kline": _bybit_linear_kline,
            "/v5/market/open-interest": _bybit_oi,
        },
        candle_paths=frozenset({"/v5/market/kline"}),
    )
