"""Polygon.io aggregates: ``GET /v2/aggs/ticker/{ticker}/range/{mult}/{timespan}/{from}/{to}``.

The key goes in an ``Authorization: Bearer`` header (never in the URL). A response holds at most
50,000 bars and a ``next_url`` when more exist; the cursor is followed on the base's next call.
``t`` is the bar open in epoch milliseconds; daily and longer bars are stamped at New York
midnight (weeks on Sunday) and relabelled to the session date / period start. Prices are
split-adjusted (``adjusted=true``) unless ``settings.options["adjusted"]`` is false.

Tickers: US stocks as is (share classes with a dot, ``BRK.B``), forex ``C:EURUSD``, indices
``I:SPX`` (``^GSPC`` and the other common Yahoo index names are mapped). Polygon answers an
unknown ticker with zero results, not an error.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote

import pandas as pd

from tradedata.actions import CorporateActions
from tradedata.adapters.base import Capabilities, Page, RateLimit
from tradedata.adapters.http import HttpResponse, RestProvider
from tradedata.adapters.rest_common import OHLCV_LETTERS, bars_frame, row_columns, session_labels
from tradedata.errors import (
    AuthenticationError,
    ProviderError,
    RateLimitError,
    SymbolNotFoundError,
    UnsupportedError,
)
from tradedata.model import Timeframe
from tradedata.symbols import AssetClass, symbol_info

__all__ = ["PolygonProvider", "polygon_ticker"]

_SPANS = {
    "1m": (1, "minute"), "3m": (3, "minute"), "5m": (5, "minute"), "15m": (15, "minute"),
    "30m": (30, "minute"), "1h": (1, "hour"), "2h": (2, "hour"), "4h": (4, "hour"),
    "1d": (1, "day"), "1w": (1, "week"), "1M": (1, "month"),
}  # fmt: skip
_INDEXES = {
    "^GSPC": "I:SPX", "^SPX": "I:SPX", "^NDX": "I:NDX", "^DJI": "I:DJI", "^VIX": "I:VIX",
    "^RUT": "I:RUT", "^IXIC": "I:COMP",
}  # fmt: skip


def polygon_ticker(symbol: str) -> str:
    """Polygon's ticker: ``EUR/USD`` -> ``C:EURUSD``, ``^GSPC`` -> ``I:SPX``."""
    info = symbol_info(symbol)
    if info.asset_class is AssetClass.FOREX:
        return f"C:{info.base}{info.quote}"
    if info.asset_class is AssetClass.INDEX:
        return _INDEXES.get(info.symbol, "I:" + info.symbol.lstrip("^"))
    return info.symbol.replace("-", ".")


class PolygonProvider(RestProvider):
    """US stocks, forex and indices from Polygon's aggregates endpoint."""

    name = "polygon"
    default_url = "https://api.polygon.io"
    reports_unknown_symbols: ClassVar[bool] = False
    capabilities = Capabilities(
        timeframes=tuple(_SPANS),
        max_candles=50_000,
        asset_classes=frozenset({AssetClass.STOCK, AssetClass.FOREX, AssetClass.INDEX}),
        rate_limit=RateLimit(5, 60.0),
        needs_api_key=True,
        key_env="POLYGON_KEY",
        markets=frozenset({"XNYS"}),
        # "Whether or not the results are adjusted for splits. By default, results are
        # adjusted." (polygon.io/docs/stocks/get_v2_aggs_ticker__stocksticker__range_...)
        basis="splits",
        actions=True,
    )

    def auth_headers(self) -> dict[str, str]:
        """Polygon accepts the key as a bearer token."""
        return {"Authorization": f"Bearer {self.api_key()}"}

    def classify_response(self, response: HttpResponse) -> ProviderError | None:
        """Plan limits (``NOT_AUTHORIZED``) are not credential errors."""
        data = response.body
        status = str(data.get("status", ""))
        message = self.http.redact(str(data.get("message") or data.get("error") or ""))
        if status == "NOT_AUTHORIZED":
            return UnsupportedError(f"polygon: {message or 'not in your plan'}", provider=self.name)
        if response.status == 401 or (status == "ERROR" and "api key" in message.lower()):
            return AuthenticationError(f"polygon: {message or 'bad API key'}", provider=self.name)
        if response.status == 429:
            return RateLimitError(
                f"polygon: {message or 'too many requests'}",
                provider=self.name,
                retry_after=response.retry_after,
            )
        if status == "NOT_FOUND":
            return SymbolNotFoundError(f"polygon: {message or 'not found'}", provider=self.name)
        return None

    def price_basis(self, timeframe: Timeframe) -> str:
        """``splits`` (Polygon's default), ``raw`` with ``options={"adjusted": False}``."""
        return "splits" if self.settings.options.get("adjusted", True) else "raw"

    def fetch_actions(
        self, symbol: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> CorporateActions:
        """``/v3/reference/splits`` and ``/v3/reference/dividends`` (polygon.io/docs/stocks/
        get_v3_reference_splits: ``execution_date``, ``split_from``, ``split_to``; dividends:
        ``ex_dividend_date``, ``cash_amount`` as paid, i.e. as traded)."""
        ticker = polygon_ticker(symbol)
        lo, hi = f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}"
        splits = self._reference("splits", ticker, "execution_date", lo, hi)
        divs = self._reference("dividends", ticker, "ex_dividend_date", lo, hi)
        ratios = {
            r["execution_date"]: float(r["split_to"]) / float(r["split_from"])
            for r in splits
            if r.get("execution_date") and r.get("split_from") and r.get("split_to")
        }
        cash = {
            r["ex_dividend_date"]: float(r["cash_amount"])
            for r in divs
            if r.get("ex_dividend_date") and r.get("cash_amount")
        }
        return CorporateActions(
            _dated(ratios), _dated(cash), checked_at=self.now(), source=self.name
        )

    def _reference(
        self, kind: str, ticker: str, field: str, lo: str, hi: str
    ) -> list[dict[str, Any]]:
        params = {"ticker": ticker, f"{field}.gte": lo, f"{field}.lte": hi, "limit": 1000}
        data = self.call(lambda: self.http.get_json(f"/v3/reference/{kind}", params))
        rows = list(data.get("results") or [])
        for _ in range(20):  # follow next_url a bounded number of times
            next_url = data.get("next_url")
            if not next_url:
                break
            data = self.call(lambda u=next_url: self.http.get_json(self.http.rebase(u)))
            rows += list(data.get("results") or [])
        return rows

    def fetch_page(
        self,
        symbol: str,
        timeframe: Timeframe,
        since: pd.Timestamp,
        until: pd.Timestamp,
        limit: int,
    ) -> Page:
        """One response of aggregates; its ``next_url`` is kept for the base's next call."""
        cursor = self.continuations.resume(symbol, timeframe, since, until)
        if cursor is not None:
            data = self.http.get_json(self.http.rebase(cursor))
        else:
            data = self.http.get_json(self._path(symbol, timeframe, since, until), self._params())
        frame = parse_aggregates(data.get("results") or [], timeframe)
        next_url = data.get("next_url")
        if next_url and len(frame):
            self.continuations.follow(symbol, timeframe, frame, until, next_url)
        return Page(frame, complete=not next_url)

    def _path(
        self, symbol: str, timeframe: Timeframe, since: pd.Timestamp, until: pd.Timestamp
    ) -> str:
        mult, span = _SPANS[timeframe.name]
        if timeframe.unit in ("m", "h"):
            lo, hi = str(since.value // 1_000_000), str(until.value // 1_000_000)
        else:
            lo, hi = since.strftime("%Y-%m-%d"), until.strftime("%Y-%m-%d")
        ticker = quote(polygon_ticker(symbol), safe=".:")
        return f"/v2/aggs/ticker/{ticker}/range/{mult}/{span}/{lo}/{hi}"

    def _params(self) -> dict[str, Any]:
        adjusted = self.settings.options.get("adjusted", True)
        return {
            "adjusted": "true" if adjusted else "false",
            "sort": "asc",
            "limit": self.capabilities.max_candles,
        }


def _dated(values: dict[str, float]) -> pd.Series:
    index = pd.DatetimeIndex([pd.Timestamp(d) for d in values]).tz_localize("UTC")
    return pd.Series(list(values.values()), index=index, dtype="float64")


def parse_aggregates(results: list[dict[str, Any]], timeframe: Timeframe) -> pd.DataFrame:
    """Polygon aggregate objects (``t o h l c v``) as an OHLCV frame."""
    times = pd.to_datetime([r.get("t") for r in results], unit="ms", utc=True)
    if timeframe.unit in ("m", "h"):
        index = pd.DatetimeIndex(times)
    else:
        if timeframe.unit == "w":  # Polygon weeks start on Sunday, New York time
            times = times + pd.Timedelta(days=1)
        index = session_labels(times, timeframe, "America/New_York")
    return bars_frame(index, row_columns(results, OHLCV_LETTERS))
