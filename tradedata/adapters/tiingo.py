"""Tiingo (US equities): end-of-day prices and IEX intraday bars.

* daily/weekly/monthly: ``GET /tiingo/daily/{ticker}/prices?startDate&endDate&resampleFreq``.
  Dates are session dates; Tiingo labels a week by its Friday and a month by its last business
  day, relabelled here to the period start. Raw OHLCV plus ``adjClose`` as ``adj_close``.
* intraday: ``GET /iex/{ticker}/prices?startDate&endDate&resampleFreq=5min`` (bar opens in UTC,
  IEX-exchange volume only), fetched in windows.

The key goes in an ``Authorization: Token`` header. An unknown ticker is a 404
(``{"detail": "Error: Ticker 'X' not found"}``).
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote

import pandas as pd

from tradedata.actions import CorporateActions
from tradedata.adapters.base import Capabilities, Page, RateLimit
from tradedata.adapters.http import HttpResponse, RestProvider
from tradedata.adapters.rest_common import (
    OHLCV_KEYS,
    bars_frame,
    fetch_windows,
    row_columns,
    session_labels,
)
from tradedata.errors import (
    InvalidResponseError,
    ProviderError,
    RateLimitError,
    SymbolNotFoundError,
)
from tradedata.model import Timeframe
from tradedata.symbols import AssetClass

__all__ = ["TiingoProvider"]

_INTRADAY = {
    "1m": "1min",
    "5m": "5min",
    "15m": "15min",
    "30m": "30min",
    "1h": "1hour",
    "4h": "4hour",
}
_DAILY = {"1d": "daily", "1w": "weekly", "1M": "monthly"}
#: days of intraday bars asked for in one request (Tiingo caps the rows of one answer)
_WINDOW_DAYS = {"1m": 5, "5m": 20, "15m": 60, "30m": 120, "1h": 240, "4h": 720}


class TiingoProvider(RestProvider):
    """US stocks from Tiingo's end-of-day and IEX endpoints."""

    name = "tiingo"
    default_url = "https://api.tiingo.com"
    reports_unknown_symbols: ClassVar[bool] = True
    capabilities = Capabilities(
        timeframes=(*_INTRADAY, *_DAILY),
        max_candles=10_000,
        asset_classes=frozenset({AssetClass.STOCK}),
        rate_limit=RateLimit(50, 3600.0, daily=1000),
        needs_api_key=True,
        key_env="TIINGO_API_KEY",
        markets=frozenset({"XNYS"}),
        adjusted=True,
        # end-of-day rows: raw open/high/low/close/volume plus adjOpen.. adjVolume, divCash and
        # splitFactor (api.tiingo.com/documentation/end-of-day; tiingo.com/kb "If
        # splitFactor != 1 or divCash > 0 ... redownload" to get the latest adjusted prices)
        basis="raw",
        actions=True,
    )

    def auth_headers(self) -> dict[str, str]:
        """Tiingo's token header."""
        return {"Authorization": f"Token {self.api_key()}"}

    def classify_response(self, response: HttpResponse) -> ProviderError | None:
        """Tiingo's quota answers and not-found details."""
        data = response.body
        detail = self.http.redact(str(data.get("detail", "")))
        low = detail.lower()
        if "allocation" in low or "rate limit" in low:
            return RateLimitError(
                f"tiingo: {detail}", provider=self.name, retry_after=response.retry_after
            )
        if "not found" in low and response.status in (200, 404):
            return SymbolNotFoundError(f"tiingo: {detail}", provider=self.name)
        return None

    def fetch_page(
        self,
        symbol: str,
        timeframe: Timeframe,
        since: pd.Timestamp,
        until: pd.Timestamp,
        limit: int,
    ) -> Page:
        """Daily bars in one request; intraday bars window by window."""
        ticker = quote(symbol.lower(), safe="-.")
        if timeframe.name in _DAILY:
            params = {
                "startDate": since.strftime("%Y-%m-%d"),
                "endDate": until.strftime("%Y-%m-%d"),
                "resampleFreq": _DAILY[timeframe.name],
                "format": "json",
            }
            rows = self._rows(f"/tiingo/daily/{ticker}/prices", params)
            return Page(parse_daily(rows, timeframe), complete=True)

        def window(start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
            params = {
                "startDate": start.strftime("%Y-%m-%d"),
                "endDate": (end + pd.Timedelta(days=1)).strftime("%Y-%m-%d"),
                "resampleFreq": _INTRADAY[timeframe.name],
                "columns": "open,high,low,close,volume",
                "format": "json",
            }
            return parse_intraday(self._rows(f"/iex/{ticker}/prices", params))

        span = pd.Timedelta(days=_WINDOW_DAYS[timeframe.name])
        return fetch_windows(window, since, until, span)

    def fetch_actions(
        self, symbol: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> CorporateActions:
        """Splits and dividends read from the end-of-day rows' ``splitFactor`` and ``divCash``
        (cash as paid, i.e. as traded)."""
        ticker = quote(symbol.lower(), safe="-.")
        params = {
            "startDate": start.strftime("%Y-%m-%d"),
            "endDate": end.strftime("%Y-%m-%d"),
            "format": "json",
        }
        rows = self.call(lambda: self._rows(f"/tiingo/daily/{ticker}/prices", params))
        splits: dict[pd.Timestamp, float] = {}
        cash: dict[pd.Timestamp, float] = {}
        for row in rows:
            day = pd.Timestamp(str(row.get("date"))[:10], tz="UTC")
            factor, dividend = row.get("splitFactor"), row.get("divCash")
            if factor not in (None, 1, 1.0):
                splits[day] = float(factor)
            if dividend:
                cash[day] = float(dividend)
        return CorporateActions(
            pd.Series(splits, dtype="float64"),
            pd.Series(cash, dtype="float64"),
            checked_at=self.now(),
            source=self.name,
        )

    def _rows(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        data = self.http.get_json(path, params)
        if isinstance(data, dict):  # an error object with a 200 status
            err = self.classify_response(HttpResponse(200, {}, data, "", path))
            raise err or InvalidResponseError(
                f"tiingo: unexpected answer for {path}", provider=self.name
            )
        return data


def parse_daily(rows: list[dict[str, Any]], timeframe: Timeframe) -> pd.DataFrame:
    """Tiingo end-of-day rows as an OHLCV frame with ``adj_close``."""
    index = session_labels([r.get("date") for r in rows], timeframe)
    return bars_frame(index, row_columns(rows, {**OHLCV_KEYS, "adj_close": "adjClose"}))


def parse_intraday(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Tiingo IEX rows (``date`` is the bar open in UTC) as an OHLCV frame."""
    index = pd.DatetimeIndex(pd.to_datetime([r.get("date") for r in rows], utc=True))
    return bars_frame(index, row_columns(rows))
