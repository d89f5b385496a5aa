"""Financial Modeling Prep (v3 REST API): prices and fundamentals.

* intraday: ``GET /api/v3/historical-chart/{1min|5min|...}/{symbol}?from&to`` -> a list, newest
  first, ``date`` in the exchange's local time (``"2024-03-08 15:55:00"``, bar open). FMP
  limits the range of one answer, so requests go window by window.
* daily: ``GET /api/v3/historical-price-full/{symbol}?from&to`` ->
  ``{"symbol", "historical": [...]}`` newest first, with ``adjClose``. An unknown symbol
  answers ``{}``.
* fundamentals: ``/api/v3/profile``, ``/api/v3/ratios-ttm`` and ``/api/v3/key-metrics-ttm``.

Symbols use Yahoo-style suffixes (``VOD.L``, ``7203.T``); forex pairs are ``EURUSD``. The key is
an ``apikey`` query parameter (FMP accepts nothing else), so it is redacted from every message.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote

import pandas as pd

from tradedata.actions import CorporateActions
from tradedata.adapters.base import Capabilities, Page, RateLimit
from tradedata.adapters.http import HttpResponse, RestProvider
from tradedata.adapters.rest_common import (
    bars_frame,
    fetch_windows,
    local_to_utc,
    row_columns,
    session_labels,
)
from tradedata.errors import (
    AuthenticationError,
    ProviderError,
    RateLimitError,
    SymbolNotFoundError,
    UnsupportedError,
)
from tradedata.model import Timeframe
from tradedata.symbols import AssetClass, symbol_info

__all__ = ["FMPProvider", "fmp_symbol"]

_INTRADAY = {
    "1m": "1min",
    "5m": "5min",
    "15m": "15min",
    "30m": "30min",
    "1h": "1hour",
    "4h": "4hour",
}
#: days of intraday bars asked for in one request
_WINDOW_DAYS = {"1m": 3, "5m": 10, "15m": 30, "30m": 60, "1h": 90, "4h": 180}


def fmp_symbol(symbol: str) -> str:
    """FMP's spelling: Yahoo-style tickers, forex without the slash (``EURUSD``)."""
    info = symbol_info(symbol)
    if info.asset_class is AssetClass.FOREX:
        return f"{info.base}{info.quote}"
    return info.symbol


class FMPProvider(RestProvider):
    """Stocks (US and international), indices and forex from Financial Modeling Prep."""

    name = "fmp"
    default_url = "https://financialmodelingprep.com"
    reports_unknown_symbols: ClassVar[bool] = True
    capabilities = Capabilities(
        timeframes=(*_INTRADAY, "1d"),
        max_candles=10_000,
        asset_classes=frozenset(
            {AssetClass.STOCK, AssetClass.INTERNATIONAL_STOCK, AssetClass.INDEX, AssetClass.FOREX}
        ),
        rate_limit=RateLimit(300, 60.0, daily=250),
        needs_api_key=True,
        key_env="FMP_API_KEY",
        adjusted=True,
        # historical-price-full: raw open/high/low/close/volume plus adjClose and
        # unadjustedVolume (site.financialmodelingprep.com/developer/docs "Daily Chart");
        # splits and dividends: historical-price-full/stock_split and /stock_dividend
        basis="raw",
        actions=True,
        fundamentals=True,
    )

    def classify_response(self, response: HttpResponse) -> ProviderError | None:
        """FMP's ``{"Error Message": ...}`` bodies (sent with 200, 401, 403 or 429)."""
        data = response.body
        message = data.get("Error Message") or data.get("error") or ""
        if not message:
            return None
        text = f"fmp: {self.http.redact(str(message))[:200]}"
        low = text.lower()
        if "limit reach" in low or response.status == 429:
            return RateLimitError(text, provider=self.name, retry_after=response.retry_after)
        if "api key" in low or "apikey" in low or response.status == 401:
            return AuthenticationError(text, provider=self.name)
        if "subscription" in low or "exclusive" in low or "upgrade" in low:
            return UnsupportedError(text, provider=self.name)
        if response.status >= 500:
            return None  # the generic mapping makes it temporary
        return UnsupportedError(text, provider=self.name)

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.http.get_json(path, {**(params or {}), "apikey": self.api_key()})

    def fetch_page(
        self,
        symbol: str,
        timeframe: Timeframe,
        since: pd.Timestamp,
        until: pd.Timestamp,
        limit: int,
    ) -> Page:
        """Daily bars in one request; intraday bars window by window."""
        ticker = quote(fmp_symbol(symbol), safe=".^-")
        if timeframe.name == "1d":
            params = {"from": since.strftime("%Y-%m-%d"), "to": until.strftime("%Y-%m-%d")}
            data = self._get(f"/api/v3/historical-price-full/{ticker}", params)
            if not isinstance(data, dict) or ("historical" not in data and "symbol" not in data):
                raise SymbolNotFoundError(f"fmp does not know {symbol}", provider=self.name)
            return Page(parse_daily(data.get("historical") or []), complete=True)
        tz = symbol_info(symbol).timezone

        def window(start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
            local_start = start.tz_convert(tz) - pd.Timedelta(days=1)
            local_end = end.tz_convert(tz) + pd.Timedelta(days=1)
            params = {"from": f"{local_start:%Y-%m-%d}", "to": f"{local_end:%Y-%m-%d}"}
            rows = self._get(
                f"/api/v3/historical-chart/{_INTRADAY[timeframe.name]}/{ticker}", params
            )
            return parse_intraday(rows if isinstance(rows, list) else [], tz)

        span = pd.Timedelta(days=_WINDOW_DAYS[timeframe.name])
        return fetch_windows(window, since, until, span)

    def fetch_actions(
        self, symbol: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> CorporateActions:
        """``historical-price-full/stock_split`` (``date``, ``numerator``, ``denominator``) and
        ``historical-price-full/stock_dividend`` (``dividend``: as paid; ``adjDividend``:
        split-adjusted)."""
        ticker = quote(fmp_symbol(symbol), safe=".^-")
        splits: dict[pd.Timestamp, float] = {}
        cash: dict[pd.Timestamp, float] = {}
        for kind in ("stock_split", "stock_dividend"):
            data = self.call(
                lambda k=kind: self._get(f"/api/v3/historical-price-full/{k}/{ticker}")
            )
            for row in (data or {}).get("historical") or [] if isinstance(data, dict) else []:
                day = pd.Timestamp(str(row.get("date"))[:10], tz="UTC")
                if not start.normalize() <= day <= end:
                    continue
                if kind == "stock_split" and row.get("numerator") and row.get("denominator"):
                    splits[day] = float(row["numerator"]) / float(row["denominator"])
                elif kind == "stock_dividend" and row.get("dividend"):
                    cash[day] = float(row["dividend"])
        return CorporateActions(
            pd.Series(splits, dtype="float64"),
            pd.Series(cash, dtype="float64"),
            checked_at=self.now(),
            source=self.name,
        )

    def fetch_fundamentals(self, symbol: str) -> dict[str, Any]:
        """Raw ``{"profile", "ratios", "metrics"}`` records (see :mod:`tradedata.fundamentals`)."""
        ticker = quote(fmp_symbol(symbol), safe=".^-")
        out: dict[str, Any] = {}
        for key, path in (
            ("profile", "profile"),
            ("ratios", "ratios-ttm"),
            ("metrics", "key-metrics-ttm"),
        ):
            data = self.call(lambda p=path: self._get(f"/api/v3/{p}/{ticker}"))
            record = data[0] if isinstance(data, list) and data else {}
            if key == "profile" and not record:
                raise SymbolNotFoundError(f"fmp has no profile for {symbol}", provider=self.name)
            out[key] = record
        return out


def parse_daily(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """``historical-price-full`` rows (newest first) as an OHLCV frame with ``adj_close``."""
    index = session_labels([r.get("date") for r in rows], Timeframe(1, "d"))
    columns = row_columns(rows)
    if rows and all(r.get("adjClose") is not None for r in rows):
        columns["adj_close"] = [r["adjClose"] for r in rows]
    return bars_frame(index, columns)


def parse_intraday(rows: list[dict[str, Any]], tz: str) -> pd.DataFrame:
    """``historical-chart`` rows (local bar opens, newest first) as a UTC OHLCV frame."""
    index = local_to_utc([r.get("date") for r in rows], tz)
    return bars_frame(index, row_columns(rows))
