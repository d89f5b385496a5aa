"""Alpaca market data (US equities): ``GET /v2/stocks/{symbol}/bars``.

Credentials go in the ``APCA-API-KEY-ID`` / ``APCA-API-SECRET-KEY`` headers. One request returns
at most 10,000 bars and a ``next_page_token`` when more exist; the token is replayed with the
original query (see :class:`~tradedata.adapters.http.Continuations`). Timestamps are RFC 3339
UTC bar opens; daily and longer bars are stamped at New York midnight and relabelled to the
session date. ``settings.options``: ``feed`` (``iex``, the free feed, or ``sip``) and
``adjustment`` (``raw`` by default; ``split``, ``dividend``, ``all``).

Alpaca answers an unknown ticker with an empty bar list, not an error.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote

import pandas as pd

from tradedata.actions import CorporateActions
from tradedata.adapters.base import Capabilities, Page, RateLimit
from tradedata.adapters.http import HttpResponse, RestProvider
from tradedata.adapters.rest_common import OHLCV_LETTERS, bars_frame, row_columns, session_labels
from tradedata.errors import ProviderError, SymbolNotFoundError
from tradedata.model import Timeframe
from tradedata.symbols import AssetClass

__all__ = ["AlpacaProvider", "alpaca_symbol"]

_TIMEFRAMES = {
    "1m": "1Min", "3m": "3Min", "5m": "5Min", "15m": "15Min", "30m": "30Min",
    "1h": "1Hour", "2h": "2Hour", "4h": "4Hour", "1d": "1Day", "1w": "1Week", "1M": "1Month",
}  # fmt: skip


def alpaca_symbol(symbol: str) -> str:
    """Alpaca's spelling of a US ticker: share classes with a dot (``BRK-B`` -> ``BRK.B``)."""
    return symbol.replace("-", ".")


class AlpacaProvider(RestProvider):
    """US stock bars from Alpaca's market data API v2."""

    name = "alpaca"
    default_url = "https://data.alpaca.markets"
    reports_unknown_symbols: ClassVar[bool] = False
    capabilities = Capabilities(
        timeframes=tuple(_TIMEFRAMES),
        max_candles=10_000,
        asset_classes=frozenset({AssetClass.STOCK}),
        rate_limit=RateLimit(200, 60.0),
        needs_api_key=True,
        needs_secret=True,
        key_env="ALPACA_API_KEY",
        secret_env="ALPACA_SECRET_KEY",
        markets=frozenset({"XNYS"}),
        # "Omitting the parameter still defaults to raw" (docs.alpaca.markets changelog,
        # "adjustment on historical stock bars endpoints"): as traded unless asked otherwise
        basis="raw",
        actions=True,
    )

    def price_basis(self, timeframe: Timeframe) -> str:
        """``raw`` (the default), ``splits`` for ``adjustment=split``; dividend adjustments
        (``dividend``, ``all``) are the ``all`` basis, which tradedata refuses to store."""
        adjustment = str(self.settings.options.get("adjustment", "raw"))
        kinds = {k.strip() for k in adjustment.split(",")} - {"spin-off"}
        if kinds <= {"raw"}:
            return "raw"
        return "splits" if kinds == {"split"} else "all"

    def fetch_actions(
        self, symbol: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> CorporateActions:
        """``GET /v1/corporate-actions?symbols&types&start&end`` -> ``{"corporate_actions":
        {"forward_splits"/"reverse_splits": [{"symbol", "new_rate", "old_rate", "ex_date",
        ...}], "cash_dividends": [{"symbol", "rate", "ex_date", ...}]}, "next_page_token"}``
        (the shapes of the alpaca-data crate's ``CorporateActions`` model). ``start``/``end``
        filter the process date, which for a dividend is its pay date: ask a month beyond."""
        ticker = alpaca_symbol(symbol)
        params: dict[str, Any] = {
            "symbols": ticker,
            "types": "forward_split,reverse_split,cash_dividend",
            "start": start.strftime("%Y-%m-%d"),
            "end": (end + pd.Timedelta(days=62)).strftime("%Y-%m-%d"),
            "limit": 1000,
        }
        found: dict[str, list[dict[str, Any]]] = {}
        for _ in range(50):  # bounded paging
            data = self.call(lambda p=dict(params): self.http.get_json("/v1/corporate-actions", p))
            for kind, rows in (data.get("corporate_actions") or {}).items():
                found.setdefault(kind, []).extend(rows or [])
            token = data.get("next_page_token")
            if not token:
                break
            params["page_token"] = token
        splits: dict[pd.Timestamp, float] = {}
        cash: dict[pd.Timestamp, float] = {}
        for row in found.get("forward_splits", []) + found.get("reverse_splits", []):
            if row.get("symbol") == ticker and row.get("old_rate") and row.get("new_rate"):
                day = pd.Timestamp(row["ex_date"], tz="UTC")
                splits[day] = float(row["new_rate"]) / float(row["old_rate"])
        for row in found.get("cash_dividends", []):
            if row.get("symbol") == ticker and row.get("rate") and row.get("ex_date"):
                cash[pd.Timestamp(row["ex_date"], tz="UTC")] = float(row["rate"])
        keep = lambda d: start.normalize() <= d <= end  # noqa: E731
        return CorporateActions(
            pd.Series({d: r for d, r in splits.items() if keep(d)}, dtype="float64"),
            pd.Series({d: a for d, a in cash.items() if keep(d)}, dtype="float64"),
            checked_at=self.now(),
            source=self.name,
        )

    def auth_headers(self) -> dict[str, str]:
        """Alpaca's key and secret headers."""
        secret = self.settings.secret.get() if self.settings.secret else ""
        return {"APCA-API-KEY-ID": self.api_key(), "APCA-API-SECRET-KEY": secret}

    def classify_response(self, response: HttpResponse) -> ProviderError | None:
        """Alpaca reports a malformed ticker as 400/422 ``invalid symbol``."""
        message = str(response.body.get("message", ""))
        if response.status in (400, 422) and "symbol" in message.lower():
            return SymbolNotFoundError(f"alpaca: {message}", provider=self.name)
        return None

    def _params(
        self, timeframe: Timeframe, since: pd.Timestamp, until: pd.Timestamp, limit: int
    ) -> dict[str, Any]:
        intraday = timeframe.unit in ("m", "h")
        fmt = "%Y-%m-%dT%H:%M:%SZ" if intraday else "%Y-%m-%d"
        return {
            "timeframe": _TIMEFRAMES[timeframe.name],
            "start": since.strftime(fmt),
            "end": until.strftime(fmt),
            "limit": min(limit, self.capabilities.max_candles),
            "adjustment": self.settings.options.get("adjustment", "raw"),
            "feed": self.settings.options.get("feed", "iex"),
            "sort": "asc",
        }

    def fetch_page(
        self,
        symbol: str,
        timeframe: Timeframe,
        since: pd.Timestamp,
        until: pd.Timestamp,
        limit: int,
    ) -> Page:
        """One page of bars; a ``next_page_token`` is kept for the base's next call."""
        ticker = alpaca_symbol(symbol)
        stored = self.continuations.resume(symbol, timeframe, since, until)
        params = stored or self._params(timeframe, since, until, limit)
        data = self.http.get_json(f"/v2/stocks/{quote(ticker, safe='.')}/bars", params)
        frame = parse_bars(data.get("bars") or [], timeframe)
        token = data.get("next_page_token")
        if token and len(frame):
            cursor = {**params, "page_token": token}
            self.continuations.follow(symbol, timeframe, frame, until, cursor)
        return Page(frame, complete=not token)


def parse_bars(bars: list[dict[str, Any]], timeframe: Timeframe) -> pd.DataFrame:
    """Alpaca bar objects (``t o h l c v``) as an OHLCV frame."""
    times = [b.get("t") for b in bars]
    if timeframe.unit in ("m", "h"):
        index = pd.DatetimeIndex(pd.to_datetime(times, utc=True))
    else:
        index = session_labels(times, timeframe, "America/New_York")
    return bars_frame(index, row_columns(bars, OHLCV_LETTERS))
