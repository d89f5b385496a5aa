"""Alpha Vantage (``GET /query?function=...``): stock and forex series, company overview.

* intraday: ``TIME_SERIES_INTRADAY`` with ``month=YYYY-MM`` (one calendar month per request,
  extended hours included), US stocks only. Keys are bar opens in the meta's ``Time Zone``
  (``US/Eastern``), converted to UTC.
* ``TIME_SERIES_DAILY`` (``TIME_SERIES_DAILY_ADJUSTED`` with ``options={"adjusted": True}``,
  a premium function), ``TIME_SERIES_WEEKLY``, ``TIME_SERIES_MONTHLY``; ``FX_DAILY``,
  ``FX_WEEKLY``, ``FX_MONTHLY`` for forex (which has no volume: it is reported as 0). Weekly and
  monthly rows are dated by the period's last trading day and relabelled to its start.
* fundamentals: ``OVERVIEW``.

Alpha Vantage answers most problems with HTTP 200: ``{"Note": ...}`` or ``{"Information": ...}``
when the rate limit is hit (5 calls a minute; 25 a day on today's free tier, 500 until 2024)
or a function is premium, ``{"Error Message": ...}`` for an unknown symbol or a bad key.
International tickers use Alpha Vantage's suffixes (``VOD.L`` -> ``VOD.LON``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd

from tradedata.actions import CorporateActions
from tradedata.adapters.base import Capabilities, Page, RateLimit
from tradedata.adapters.http import HttpResponse, RestProvider
from tradedata.adapters.rest_common import bars_frame, local_to_utc, session_labels
from tradedata.errors import (
    AuthenticationError,
    InvalidResponseError,
    ProviderError,
    RateLimitError,
    SymbolNotFoundError,
    UnsupportedError,
)
from tradedata.model import Timeframe
from tradedata.symbols import AssetClass, SymbolInfo, symbol_info

__all__ = ["AlphaVantageProvider", "av_symbol"]

_INTRADAY = {"1m": "1min", "5m": "5min", "15m": "15min", "30m": "30min", "1h": "60min"}
_STOCK_FUNCTIONS = {
    "1d": "TIME_SERIES_DAILY",
    "1w": "TIME_SERIES_WEEKLY",
    "1M": "TIME_SERIES_MONTHLY",
}
_FX_FUNCTIONS = {"1d": "FX_DAILY", "1w": "FX_WEEKLY", "1M": "FX_MONTHLY"}
#: Yahoo suffix -> Alpha Vantage suffix
_SUFFIXES = {
    "L": "LON",
    "TO": "TRT",
    "V": "TRV",
    "DE": "DEX",
    "BO": "BSE",
    "SS": "SHH",
    "SZ": "SHZ",
}
_MARKETS = frozenset({"XNYS", "XLON", "XTSE", "XETR", "XBOM", "XSHG"})
_US_TZ = "America/New_York"


def av_symbol(symbol: str) -> str:
    """Alpha Vantage's ticker: ``VOD.L`` -> ``VOD.LON``, ``SHOP.TO`` -> ``SHOP.TRT``."""
    info = symbol_info(symbol)
    if info.asset_class is AssetClass.INTERNATIONAL_STOCK:
        root, _, suffix = info.symbol.rpartition(".")
        mapped = _SUFFIXES.get(suffix)
        if mapped is None:
            raise UnsupportedError(
                f"alpha_vantage has no market for {symbol}", provider="alpha_vantage"
            )
        return f"{root}.{mapped}"
    return info.symbol


class AlphaVantageProvider(RestProvider):
    """Stocks and forex from Alpha Vantage (free tier: 5 calls a minute)."""

    name = "alpha_vantage"
    default_url = "https://www.alphavantage.co"
    reports_unknown_symbols: ClassVar[bool] = True
    #: seconds to wait after a per-minute ``Note`` (Alpha Vantage sends no Retry-After)
    note_retry_after: ClassVar[float] = 60.0
    capabilities = Capabilities(
        timeframes=(*_INTRADAY, "1d", "1w", "1M"),
        max_candles=100_000,
        asset_classes=frozenset(
            {AssetClass.STOCK, AssetClass.INTERNATIONAL_STOCK, AssetClass.FOREX}
        ),
        rate_limit=RateLimit(5, 60.0, daily=25),
        needs_api_key=True,
        key_env="ALPHA_VANTAGE_API_KEY",
        markets=_MARKETS,
        # TIME_SERIES_DAILY: "raw (as-traded) daily time series" (alphavantage.co/documentation);
        # the _ADJUSTED function adds an adjusted close column, its OHLC stay raw
        basis="raw",
        actions=True,
        fundamentals=True,
    )

    def check_supported(self, info: SymbolInfo, timeframe: Timeframe) -> None:
        """Intraday series exist for US stocks only (``FX_INTRADAY`` is premium)."""
        super().check_supported(info, timeframe)
        if timeframe.name in _INTRADAY and info.asset_class is not AssetClass.STOCK:
            raise UnsupportedError(
                f"alpha_vantage serves intraday bars for US stocks only, not {info.symbol}",
                provider=self.name,
            )

    def classify_response(self, response: HttpResponse) -> ProviderError | None:
        """Recognise the 200-with-``Note``/``Information``/``Error Message`` answers."""
        data = response.body
        for field in ("Note", "Information", "Error Message"):
            if field in data:
                return self._classify_message(field, self.http.redact(str(data[field])))
        return None

    def _classify_message(self, field: str, message: str) -> ProviderError:
        text, low = f"alpha_vantage: {message[:200]}", message.lower()
        if ("apikey" in low or "api key" in low) and ("invalid" in low or "missing" in low):
            return AuthenticationError(text, provider=self.name)
        if field == "Error Message":
            return SymbolNotFoundError(text, provider=self.name)
        throttled = any(w in low for w in ("rate limit", "call frequency", "requests per day"))
        if field == "Information" and "premium" in low and not throttled:
            return UnsupportedError(text, provider=self.name)
        per_day = "per day" in low and "per minute" not in low
        wait = None if per_day else self.note_retry_after
        return RateLimitError(text, provider=self.name, retry_after=wait)

    def _get(self, params: dict[str, Any]) -> dict[str, Any]:
        data = self.http.get_json("/query", {**params, "apikey": self.api_key()})
        if not isinstance(data, dict):
            raise InvalidResponseError("alpha_vantage: answer is not an object", provider=self.name)
        return data

    def fetch_page(
        self,
        symbol: str,
        timeframe: Timeframe,
        since: pd.Timestamp,
        until: pd.Timestamp,
        limit: int,
    ) -> Page:
        """A whole daily/weekly/monthly series, or intraday bars month by month."""
        info = symbol_info(symbol)
        if timeframe.name in _INTRADAY:
            return self._intraday(symbol, timeframe, since, until)
        if info.asset_class is AssetClass.FOREX:
            params = {
                "function": _FX_FUNCTIONS[timeframe.name],
                "from_symbol": info.base,
                "to_symbol": info.quote,
            }
        else:
            function = _STOCK_FUNCTIONS[timeframe.name]
            if self.settings.options.get("adjusted") and timeframe.name == "1d":
                function = "TIME_SERIES_DAILY_ADJUSTED"
            params = {"function": function, "symbol": av_symbol(symbol)}
        if timeframe.name == "1d":
            params["outputsize"] = "full"
        return Page(parse_series(self._get(params), timeframe), complete=True)

    def _intraday(
        self, symbol: str, timeframe: Timeframe, since: pd.Timestamp, until: pd.Timestamp
    ) -> Page:
        month = self.continuations.resume(symbol, timeframe, since, until)
        if month is None:
            month = since.tz_convert(_US_TZ).tz_localize(None).to_period("M")
        while True:
            params = {
                "function": "TIME_SERIES_INTRADAY",
                "symbol": av_symbol(symbol),
                "interval": _INTRADAY[timeframe.name],
                "month": str(month),
                "outputsize": "full",
                "extended_hours": "true",
                "adjusted": "false",
            }
            frame = parse_series(self._get(params), timeframe)
            frame = frame[(frame.index >= since) & (frame.index <= until)]
            month_end = (month + 1).to_timestamp().tz_localize(_US_TZ).tz_convert("UTC")
            complete = month_end > until
            if len(frame) or complete:
                if not complete:  # the next call starts in the next month, not this one again
                    self.continuations.follow(symbol, timeframe, frame, until, month + 1)
                return Page(frame, complete=complete)
            month += 1

    def fetch_actions(
        self, symbol: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> CorporateActions:
        """``SPLITS`` (``{"symbol", "data": [{"effective_date", "split_factor"}]}``) and
        ``DIVIDENDS`` (``{"symbol", "data": [{"ex_dividend_date", "amount", ...}]}``, cash as
        paid); two calls of the daily quota (alphavantage.co/documentation, "Corporate
        Actions")."""
        ticker = av_symbol(symbol)
        got: dict[str, dict[pd.Timestamp, float]] = {}
        for function, date_key, value_key in (
            ("SPLITS", "effective_date", "split_factor"),
            ("DIVIDENDS", "ex_dividend_date", "amount"),
        ):
            data = self.call(lambda f=function: self._get({"function": f, "symbol": ticker}))
            rows = data.get("data") if isinstance(data.get("data"), list) else []
            values: dict[pd.Timestamp, float] = {}
            for row in rows:
                try:
                    day = pd.Timestamp(str(row[date_key]), tz="UTC")
                    value = float(row[value_key])
                except (KeyError, TypeError, ValueError):
                    continue  # "None" dates of undeclared dividends
                if start.normalize() <= day <= end and value > 0:
                    values[day] = value
            got[function] = values
        return CorporateActions(
            pd.Series(got["SPLITS"], dtype="float64"),
            pd.Series(got["DIVIDENDS"], dtype="float64"),
            checked_at=self.now(),
            source=self.name,
        )

    def fetch_fundamentals(self, symbol: str) -> dict[str, Any]:
        """The raw ``OVERVIEW`` record (see :mod:`tradedata.fundamentals`)."""
        data = self.call(lambda: self._get({"function": "OVERVIEW", "symbol": av_symbol(symbol)}))
        if not data or "Symbol" not in data:
            raise SymbolNotFoundError(
                f"alpha_vantage has no overview of {symbol}", provider=self.name
            )
        return data


def _series_parts(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    meta = data.get("Meta Data") or {}
    series_keys = [k for k in data if k != "Meta Data" and isinstance(data[k], dict)]
    if not series_keys:
        raise InvalidResponseError("alpha_vantage: answer holds no time series")
    return meta, data[series_keys[0]]


def parse_series(data: dict[str, Any], timeframe: Timeframe) -> pd.DataFrame:
    """An Alpha Vantage ``Time Series ...`` object as an OHLCV frame (UTC bar opens)."""
    meta, series = _series_parts(data)
    tz = next((str(v) for k, v in meta.items() if k.endswith("Time Zone")), _US_TZ)
    stamps = list(series)
    rows = [{k.split(". ", 1)[-1]: v for k, v in series[s].items()} for s in stamps]
    if timeframe.unit in ("m", "h"):
        index = local_to_utc(stamps, tz)
    else:
        index = session_labels(stamps, timeframe)
    columns = {c: [r.get(c) for r in rows] for c in ("open", "high", "low", "close")}
    columns["volume"] = [r.get("volume", 0.0) for r in rows]  # forex series carry no volume
    if rows and all("adjusted close" in r for r in rows):
        columns["adj_close"] = [r["adjusted close"] for r in rows]
    return bars_frame(index, columns)
