"""What each exchange's OHLCV endpoint does, as data (freqtrade keeps the same in ``_ft_has``).

:data:`TRAITS` has one row per exchange we have read up on: candles per request, which end of
an over-full window the answer keeps, whether the window end is sent and inclusive, the widest
window accepted, the history depth of each kline endpoint ccxt uses, how the still-open candle
is marked, request weights and the published rate limit. Every row cites its sources (ccxt's
``python/ccxt/<id>.py`` in the installed ccxt 4.5, and the exchange's API docs) in ``source``.

The rows describe paging *as the adapter sees it through ccxt's* ``fetch_ohlcv(since, limit,
{until})``: where ccxt closes the window itself (okx ``after = since + limit bars``, coinbase,
kucoin, gate, bitget, bitstamp), an exchange that keeps the newest bars of a window still
answers the oldest ``limit`` from ``since``. :func:`paging_rules_for` maps a row to the
:class:`~tradedata.adapters.paging.PagingRules` the fetch engine pages by. An exchange without a
row gets the conservative default: ``since`` + ``limit`` only, which end is kept unknown (every
page verified), a short page never trusted as the end, candles per request from ccxt's own
``features[...]["fetchOHLCV"]["limit"]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tradedata.adapters.paging import PagingRules
from tradedata.model import Timeframe

__all__ = [
    "DEFAULT_MAX_CANDLES",
    "TRAITS",
    "Endpoint",
    "ExchangeTraits",
    "history_bars",
    "paging_rules_for",
    "traits_for",
]

#: Candles per request when neither the table nor ccxt says.
DEFAULT_MAX_CANDLES = 500


@dataclass(frozen=True)
class Endpoint:
    """One kline endpoint of an exchange.

    ``history_bars``: how many bars back from now it serves (None: back to the listing), the
    same for every timeframe unless ``history_days`` gives a timeframe's depth in days.
    ``used_by_ccxt``: ccxt's spot ``fetch_ohlcv`` calls it (ccxt picks among them by ``since``).
    """

    path: str
    max_candles: int
    history_bars: int | None = None
    history_days: Mapping[str, int] = field(default_factory=dict)
    used_by_ccxt: bool = True
    note: str = ""

    def depth(self, timeframe: Timeframe) -> int | None:
        """Bars of ``timeframe`` this endpoint reaches back (None: unlimited)."""
        days = self.history_days.get(timeframe.name)
        if days is not None and not timeframe.is_calendar:
            by_days = max(1, int(days * 86_400_000_000_000 // timeframe.delta.value))
            return by_days if self.history_bars is None else min(by_days, self.history_bars)
        return self.history_bars


@dataclass(frozen=True)
class ExchangeTraits:
    """The OHLCV-relevant quirks of one exchange.

    Paging: ``max_candles`` per request; ``keeps`` which end of an over-full window an answer
    keeps ("oldest" from since, "newest" before the end, "unknown"); ``end_param`` passes the
    requested end through ccxt's ``until`` (Binance ``endTime``, Bybit ``end``);
    ``end_inclusive``: a bar opening exactly at the end is returned; ``max_window``: widest
    window in candles accepted; ``short_page_is_end``: a page shorter than asked proves there
    is nothing more up to the end; ``endpoints``: the kline endpoints and their history depth;
    ``open_candle``: how the still-open candle shows in an answer; ``source``: where all this
    was read. Pacing: ``weight_limit`` is the published request weight allowed per
    ``weight_window`` seconds (None: ccxt's ``rateLimit``); ``page_weight``, ``markets_weight``
    and ``time_weight`` what one klines, markets and server-time request cost;
    ``history_days`` the depth per timeframe the selection layer sees; ``learn_limits`` names a
    parser reading the live limit from the exchange's listing; ``raw_klines`` a reader in
    :data:`~tradedata.adapters.ccxt_.klines.RAW_KLINES` (None: ccxt's ``fetch_ohlcv``).
    """

    max_candles: int = DEFAULT_MAX_CANDLES
    page_weight: float = 1.0
    weight_limit: float | None = None
    weight_window: float = 60.0
    markets_weight: float = 1.0
    time_weight: float = 1.0
    end_param: bool = False
    history_days: Mapping[str, int | None] = field(default_factory=dict)
    learn_limits: str | None = None
    raw_klines: str | None = None
    keeps: str = "unknown"
    end_inclusive: bool = True
    max_window: int | None = None
    short_page_is_end: bool = False
    endpoints: tuple[Endpoint, ...] = ()
    open_candle: str = "included, unmarked: dropped by the exchange's clock"
    source: str = ""


_BINANCE_SOURCE = (
    "ccxt binance.fetch_ohlcv (startTime=since, endTime=until, limit<=1000); Binance spot REST "
    "'Kline/Candlestick data' (developers.binance.com/docs/binance-spot-api-docs/rest-api/"
    "market-data-endpoints): limit default 500 max 1000, klines from startTime, startTime and "
    "endTime inclusive on the open time, weight 2; exchangeInfo weight 20, 6000 weight/minute"
)

#: Rows: see each ``source``. Keeps/ends are as seen through ccxt's fetch_ohlcv (module doc).
TRAITS: dict[str, ExchangeTraits] = {
    "binance": ExchangeTraits(
        max_candles=1000,
        page_weight=2,
        weight_limit=6000,
        weight_window=60.0,
        markets_weight=20,
        time_weight=1,
        learn_limits="binance",
        raw_klines="binance",
        keeps="oldest",
        end_param=True,
        short_page_is_end=True,
        endpoints=(Endpoint("/api/v3/klines", 1000),),
        open_candle="included (closeTime in the future)",
        source=_BINANCE_SOURCE,
    ),
    "binanceus": ExchangeTraits(
        max_candles=1000,
        page_weight=2,
        weight_limit=6000,
        markets_weight=20,
        learn_limits="binance",
        keeps="oldest",
        end_param=True,
        short_page_is_end=True,
        endpoints=(Endpoint("/api/v3/klines", 1000),),
        source="binance.us mirrors Binance spot REST: " + _BINANCE_SOURCE,
    ),
    "bybit": ExchangeTraits(
        max_candles=1000,
        page_weight=1,
        weight_limit=600,
        weight_window=5.0,
        raw_klines="bybit",
        keeps="newest",
        end_param=True,
        max_window=1000,
        short_page_is_end=True,
        endpoints=(Endpoint("/v5/market/kline", 1000),),
        open_candle="included, unmarked (newest row)",
        source=(
            "ccxt bybit.fetch_ohlcv (start=since rounded up, end=until, limit default 200); "
            "Bybit v5 'Get Kline' (bybit-exchange.github.io/docs/v5/market/kline): limit "
            "[1, 1000], rows newest first; real answers hold the newest `limit` bars of "
            "[start, end] (issue 10), so the end is always sent, windows at most 1000 wide (as "
            "public Bybit clients page) and a shorter answer is the whole window; 600 requests "
            "per 5 s per IP"
        ),
    ),
    "okx": ExchangeTraits(
        max_candles=300,
        keeps="oldest",
        end_inclusive=False,
        endpoints=(
            Endpoint("/api/v5/market/candles", 300, history_bars=1440),
            Endpoint("/api/v5/market/history-candles", 300, note="ccxt uses it for older since"),
        ),
        open_candle="confirm field (9th) '0'",
        source=(
            "ccxt okx.fetch_ohlcv: before=since-1, after=since+limit bars (or until: then the "
            "newest bars before until, so no end is sent), limit<=300, HistoryCandles when "
            "since < now-1439 bars; OKX v5 'Get candlesticks' (www.okx.com/docs-v5/en/"
            "#rest-api-market-data-get-candlesticks): latest 1,440 bars, after/before "
            "exclusive; 'Get candlesticks history' (...-get-candlesticks-history): all history"
        ),
    ),
    "coinbase": ExchangeTraits(
        max_candles=300,
        keeps="oldest",
        max_window=350,
        endpoints=(Endpoint("/api/v3/brokerage/market/products/{id}/candles", 300),),
        source=(
            "ccxt coinbase.fetch_ohlcv: start=since, end=until or since+limit bars, limit<=300; "
            "Coinbase Advanced Trade 'Get Public Product Candles' (docs.cdp.coinbase.com/"
            "api-reference/advanced-trade-api/rest-api/public/get-public-product-candles): "
            "windows over 350 candles refused (HTTP 400, issue 10), so no wider end is sent"
        ),
    ),
    "kraken": ExchangeTraits(
        max_candles=720,
        keeps="newest",
        endpoints=(Endpoint("/0/public/OHLC", 720, history_bars=720),),
        open_candle="included: 'the last entry ... is for the current, not-yet-committed frame'",
        source=(
            "ccxt kraken.fetch_ohlcv: since (seconds, minus one interval) only, no limit or end "
            "sent; Kraken 'Get OHLC Data' (docs.kraken.com/api-reference/market-data/"
            "get-ohlc-data): 'Returns up to 720 of the most recent entries (older data cannot "
            "be retrieved, regardless of the value of since)'"
        ),
    ),
    "kucoin": ExchangeTraits(
        max_candles=1500,
        keeps="oldest",
        endpoints=(Endpoint("/api/v1/market/candles", 1500),),
        source=(
            "ccxt kucoin.fetch_spot_ohlcv: startAt=since, endAt=since+limit bars (until is not "
            "used), max 1500; KuCoin 'Get Klines' (www.kucoin.com/docs-new/rest/spot-trading/"
            "market-data/get-klines): 'the system would return at most 1500 pieces of data. "
            "To obtain more data, please page the data by time', rows newest first"
        ),
    ),
    "gate": ExchangeTraits(
        max_candles=1000,
        keeps="oldest",
        end_param=True,
        max_window=1000,
        endpoints=(Endpoint("/api/v4/spot/candlesticks", 1000, history_bars=10000),),
        open_candle="8th field 'window closed' false",
        source=(
            "ccxt gate.fetch_ohlcv: from=since, to=min(from+(limit-1) bars, now, until), "
            "limit<=1000; Gate v4 'Market candlesticks' (www.gate.com/docs/developers/apiv4/"
            "#market-candlesticks): 'Maximum of 1000 points can be returned in a query'; "
            "older than 10000 points refused ('Candlestick too long ago. Maximum 10000 points "
            "ago are allowed')"
        ),
    ),
    "bitget": ExchangeTraits(
        max_candles=200,
        keeps="oldest",
        end_inclusive=False,
        endpoints=(
            Endpoint(
                "/api/v2/spot/market/candles",
                1000,
                history_days={"1m": 30, "5m": 30, "15m": 30, "30m": 30, "1h": 60, "4h": 240},
            ),
            Endpoint("/api/v2/spot/market/history-candles", 200),
        ),
        source=(
            "ccxt bitget.fetch_ohlcv: startTime=since, endTime=since+limit bars (until: the "
            "newest bars before it, so no end is sent), the history endpoint (max 200) once "
            "since is older than maxRecentDaysPerTimeframe (1h: 60 days); Bitget v2 spot 'Get "
            "Candlestick Data' / 'Get History Candlestick Data' (www.bitget.com/api-doc/spot/"
            "market/Get-Candle-Data): endTime exclusive (issue 10)"
        ),
    ),
    "htx": ExchangeTraits(
        max_candles=1000,
        keeps="newest",
        end_param=True,
        endpoints=(
            Endpoint("/market/history/candles", 1000),
            Endpoint(
                "/market/history/kline",
                2000,
                used_by_ccxt=False,
                note="classic endpoint: `size` newest bars only, no range",
            ),
        ),
        source=(
            "ccxt htx.fetch_ohlcv (useHistoricalEndpointForSpot): from=since, to=until, size "
            "'max 1000, otherwise default returns 150'; the classic GET /market/history/kline "
            "(huobiapi.github.io/docs/spot/v1/en/#get-klines-candles) answers the newest size "
            "<= 2000 bars with no range: the window end is always sent"
        ),
    ),
    "mexc": ExchangeTraits(
        max_candles=500,
        keeps="oldest",
        end_param=True,
        endpoints=(Endpoint("/api/v3/klines", 500),),
        source=(
            "ccxt mexc.fetch_ohlcv: startTime=since, endTime=until+1 ('mexc's endTime is not "
            "inclusive'), 'docs say 1000 for spot, but in practice it's 500'; MEXC spot v3 "
            "'Kline/Candlestick Data' (mexcdevelop.github.io/apidocs/spot_v3_en/"
            "#kline-candlestick-data): klines from startTime, oldest first"
        ),
    ),
    "bitfinex": ExchangeTraits(
        max_candles=10000,
        keeps="oldest",
        end_param=True,
        short_page_is_end=True,
        endpoints=(Endpoint("/v2/candles/trade:{tf}:{symbol}/hist", 10000),),
        open_candle="included, unmarked; ccxt has no server time here: the local clock",
        source=(
            "ccxt bitfinex.fetch_ohlcv: start=since with sort=1, end=until, limit<=10000; "
            "Bitfinex v2 'Candles' (docs.bitfinex.com/reference/rest-public-candles): limit "
            "max 10000, start/end in ms, sort=1 oldest first"
        ),
    ),
    "bitstamp": ExchangeTraits(
        max_candles=1000,
        keeps="oldest",
        end_param=True,
        endpoints=(Endpoint("/api/v2/ohlc/{pair}/", 1000),),
        open_candle="included, unmarked; ccxt has no server time here: the local clock",
        source=(
            "ccxt bitstamp.fetch_ohlcv: start=since, end=min(until, start+limit bars-1s), "
            "limit<=1000; Bitstamp 'OHLC data' (www.bitstamp.net/api/#tag/Market-info/"
            "operation/GetOHLCData): 'If both start and end timestamps are posted, end "
            "timestamp will be used' (the limit bars up to end)"
        ),
    ),
}


def _ccxt_ohlcv_limit(client: Any) -> int | None:
    features = getattr(client, "features", None) or {}
    spot = features.get("spot") if isinstance(features, Mapping) else None
    ohlcv = spot.get("fetchOHLCV") if isinstance(spot, Mapping) else None
    limit = ohlcv.get("limit") if isinstance(ohlcv, Mapping) else None
    return int(limit) if isinstance(limit, (int, float)) and limit > 0 else None


def traits_for(exchange_id: str, client: Any) -> ExchangeTraits:
    """The table's traits for ``exchange_id``, or the conservative default for ccxt ``client``.

    The default pages by ``since`` + ``limit`` only (no end sent), keeps "unknown" (every page
    verified), never takes a short page as the end; candles per request from ccxt's features.
    """
    known = TRAITS.get(exchange_id)
    if known is not None:
        return known
    return ExchangeTraits(
        max_candles=_ccxt_ohlcv_limit(client) or DEFAULT_MAX_CANDLES,
        source=f"no row: conservative default (ccxt {exchange_id} features for the page size)",
    )


def history_bars(traits: ExchangeTraits, timeframe: Timeframe) -> int | None:
    """Bars of ``timeframe`` reachable through ccxt: the deepest endpoint ccxt uses."""
    depths = [e.depth(timeframe) for e in traits.endpoints if e.used_by_ccxt]
    if not depths or any(d is None for d in depths):
        return None
    return max(d for d in depths if d is not None)


def paging_rules_for(
    exchange_id: str, traits: ExchangeTraits, timeframe: Timeframe, max_candles: int
) -> PagingRules:
    """The :class:`PagingRules` for ``timeframe`` pages of ``exchange_id`` with ``traits``.

    ``max_candles`` is the page size in force (the row's, or the user's ``max_candles``
    option); it never exceeds the widest window the exchange accepts, and a window the
    exchange bounds is sent no wider than one page.
    """
    depth = history_bars(traits, timeframe)
    reason = (
        f"{exchange_id} keeps only the latest {depth} {timeframe.name} bars"
        if depth is not None
        else ""
    )
    size = max_candles if traits.max_window is None else min(max_candles, traits.max_window)
    return PagingRules(
        max_candles=size,
        keeps=traits.keeps,
        sends_end=traits.end_param,
        end_inclusive=traits.end_inclusive,
        # a window no wider than a page cannot be over-full, whichever end the answer keeps
        max_window=None if traits.max_window is None else size,
        history_bars=depth,
        history_reason=reason,
        short_page_is_end=traits.short_page_is_end,
    )
