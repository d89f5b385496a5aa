"""Klines through ccxt's implicit (raw) API, parsed column-wise with numpy.

ccxt's unified ``fetch_ohlcv`` turns every candle into a list of Python floats through a chain
of ``safe_*`` calls, a few milliseconds per 1000-bar page, which is most of a bulk download's
CPU time. For the exchanges named in :data:`RAW_KLINES` the adapter calls the endpoint ccxt's
own ``fetch_ohlcv`` calls (``publicGetKlines`` on Binance, ``publicGetV5MarketKline`` on Bybit),
so ccxt still builds the URL, signs, sends and raises its errors, and parses the answer here
in one go: the timestamps and the five OHLCV columns are converted as whole columns.

Only spot markets take this path (the endpoints differ for derivatives); a reader returns None
for any other market and the caller falls back to ``fetch_ohlcv``. Response shapes follow the
exchanges' docs (Binance: ``[[openTime, "open", "high", "low", "close", "volume", closeTime,
...], ...]`` oldest first; Bybit v5: ``{"result": {"list": [["startTime", "open", "high", "low",
"close", "volume", "turnover"], ...]}}`` newest first).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tradedata.errors import InvalidResponseError
from tradedata.model import OHLCV_COLUMNS, empty_frame

#: Epoch milliseconds a nanosecond timestamp can hold.
_MAX_MS = np.iinfo(np.int64).max // 1_000_000

__all__ = ["RAW_KLINES", "KlineRequest", "binance_klines", "bybit_klines", "parse_kline_rows"]


@dataclass(frozen=True)
class KlineRequest:
    """One page asked for: unified ``symbol``, ccxt ``timeframe`` name, ms bounds and ``limit``."""

    symbol: str
    timeframe: str
    since: int
    until: int | None
    limit: int


def parse_kline_rows(rows: Any, exchange: str) -> pd.DataFrame:
    """The OHLCV frame of kline ``rows`` ``[time, open, high, low, close, volume, ...]``.

    Times may be integers or digit strings (epoch ms), prices and volumes numbers or decimal
    strings; rows come in any order. Raises :class:`InvalidResponseError` for anything else.
    """
    if not isinstance(rows, list):
        raise InvalidResponseError(
            f"{exchange} sent {type(rows).__name__} instead of candles", provider=exchange
        )
    if not rows:
        return empty_frame()
    try:
        table = np.array(rows, dtype=object)
        if table.ndim != 2 or table.shape[1] < 6:
            raise ValueError("rows must be arrays of at least 6 fields")
        times = table[:, 0].astype(np.int64)
        values = table[:, 1:6].astype(np.float64)
        if np.abs(times).max() > _MAX_MS:
            raise ValueError("open times beyond what a timestamp can hold")
    except (TypeError, ValueError, OverflowError) as exc:
        msg = f"{exchange} sent bad candles: {exc}"
        raise InvalidResponseError(msg, provider=exchange) from exc
    if times.size > 1 and not (np.diff(times) > 0).all():
        order = np.argsort(times, kind="stable")
        times, values = times[order], values[order]
    # what model.frame_from_arrays builds, without pd.to_datetime's per-call overhead
    opens = times.astype("datetime64[ms]").astype("datetime64[ns]")
    index = pd.DatetimeIndex(opens, name="timestamp").tz_localize("UTC")
    return pd.DataFrame(values, index=index, columns=list(OHLCV_COLUMNS))


def _spot_market(client: Any, symbol: str) -> Mapping[str, Any] | None:
    market = client.market(symbol)  # raises ccxt.BadSymbol for an unknown symbol
    return market if market.get("spot") else None


def binance_klines(client: Any, req: KlineRequest) -> pd.DataFrame | None:
    """A page from Binance spot ``GET /api/v3/klines`` (None: not a spot market)."""
    market = _spot_market(client, req.symbol)
    if market is None:
        return None
    params: dict[str, Any] = {
        "symbol": market["id"],
        "interval": client.timeframes.get(req.timeframe, req.timeframe),
        "startTime": req.since,
        "limit": req.limit,
    }
    if req.until is not None:
        params["endTime"] = req.until
    return parse_kline_rows(client.publicGetKlines(params), client.id)


def bybit_klines(client: Any, req: KlineRequest) -> pd.DataFrame | None:
    """A page from Bybit v5 ``GET /v5/market/kline`` with ``category=spot`` (None: not spot)."""
    market = _spot_market(client, req.symbol)
    if market is None:
        return None
    params: dict[str, Any] = {
        "category": "spot",
        "symbol": market["id"],
        "interval": client.timeframes.get(req.timeframe, req.timeframe),
        "start": req.since,
        "limit": req.limit,
    }
    if req.until is not None:
        params["end"] = req.until
    response = client.publicGetV5MarketKline(params)
    result = response.get("result") if isinstance(response, dict) else None
    rows = result.get("list") if isinstance(result, dict) else None
    if rows is None:
        raise InvalidResponseError(
            f"{client.id} sent a kline answer without result.list", provider=client.id
        )
    return parse_kline_rows(rows, client.id)


#: Raw kline readers by name (``ExchangeTraits.raw_klines``).
RAW_KLINES: dict[str, Callable[[Any, KlineRequest], pd.DataFrame | None]] = {
    "binance": binance_klines,
    "bybit": bybit_klines,
}
