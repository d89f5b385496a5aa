"""Yahoo Finance through yfinance: bars, corporate actions and company info."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pandas as pd

from tradedata.actions import CorporateActions, split_factors
from tradedata.adapters.base import Capabilities, Page, Provider, ProviderSettings, RateLimit
from tradedata.adapters.http import fetch_windows, parse_retry_after
from tradedata.adapters.yahoo.session import SeenResponse, YahooSession, yfinance_call
from tradedata.errors import (
    AuthenticationError,
    InvalidResponseError,
    ProviderError,
    RateLimitError,
    SymbolNotFoundError,
    TemporaryProviderError,
    UnsupportedError,
)
from tradedata.model import ADJ_CLOSE, Timeframe, empty_frame, to_utc
from tradedata.symbols import AssetClass, symbol_info

__all__ = ["YahooProvider", "yahoo_symbol"]

_INTERVALS = {
    "1m": "1m", "5m": "5m", "15m": "15m", "30m": "30m", "1h": "1h",
    "1d": "1d", "1w": "1wk", "1M": "1mo",
}  # fmt: skip
#: days of intraday bars per request (Yahoo refuses longer ranges: 8 days of 1m, 60 of 5m...)
_WINDOW_DAYS = {"1m": 7, "5m": 55, "15m": 55, "30m": 55, "1h": 700}
_CHART = "/v8/finance/chart/"
_SUMMARY = "/v10/finance/quoteSummary/"
_COLUMNS = {"Open": "open", "High": "high", "Low": "low", "Close": "close", "Volume": "volume"}


def yahoo_symbol(symbol: str) -> str:
    """Yahoo's ticker: ``EUR/USD`` -> ``EURUSD=X``, US share classes with a dash (``BRK-B``)."""
    info = symbol_info(symbol)
    if info.asset_class is AssetClass.FOREX:
        return f"{info.base}{info.quote}=X"
    if info.asset_class is AssetClass.STOCK:
        return info.symbol.replace(".", "-")
    return info.symbol


class YahooProvider(Provider):
    """Stocks (US and international), indices and forex from Yahoo Finance via yfinance.

    Raw OHLC plus ``adj_close`` for daily and longer bars; intraday bars (regular session only)
    reach back 30 days for 1m, 60 days for 5m-30m and 730 days for 1h (``history_days``), and
    US hourly bars open on the half hour (09:30 New York), as Yahoo serves them.
    """

    name = "yahoo"
    reports_unknown_symbols: ClassVar[bool] = True
    capabilities = Capabilities(
        timeframes=tuple(_INTERVALS),
        max_candles=10_000,
        asset_classes=frozenset(
            {AssetClass.STOCK, AssetClass.INTERNATIONAL_STOCK, AssetClass.INDEX, AssetClass.FOREX}
        ),
        rate_limit=RateLimit(60, 60.0),
        history_days={"1m": 30, "5m": 60, "15m": 60, "30m": 60, "1h": 730},
        adjusted=True,
        # Yahoo's OHLC are split-adjusted, its Adj Close adds dividends (quantmod issue #218,
        # yfinance issue #1749: "Close price adjusted for splits"); chart events carry the
        # splits and split-adjusted dividends (pandas-datareader issue #651).
        basis="splits",
        actions=True,
        fundamentals=True,
    )

    def __init__(self, settings: ProviderSettings | None = None) -> None:
        super().__init__(settings)
        self.session = YahooSession(self.settings.url, self.settings.timeout)

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    # -- bars ------------------------------------------------------------------------------
    def fetch_page(
        self,
        symbol: str,
        timeframe: Timeframe,
        since: pd.Timestamp,
        until: pd.Timestamp,
        limit: int,
    ) -> Page:
        """Daily and longer bars in one request; intraday bars window by window."""
        depth = self.history_start(timeframe, self.now())
        if depth is not None and since < depth - timeframe.delta:
            days = self.capabilities.history_days[timeframe.name]
            raise UnsupportedError(
                f"yahoo keeps {timeframe.name} bars for the last {days} days only",
                provider=self.name,
            )
        if timeframe.unit in ("m", "h"):
            span = pd.Timedelta(days=_WINDOW_DAYS[timeframe.name])
            return fetch_windows(
                lambda s, e: self._bars(symbol, timeframe, s, e + timeframe.delta),
                since,
                until,
                span,
            )
        # daily bars are stamped at the session open, which is the day before in UTC east of
        # it (Sydney): ask wider and let the base keep [since, until]
        pad = pd.Timedelta(days=2)
        frame = self._bars(symbol, timeframe, since - pad, until + timeframe.delta + pad)
        return Page(frame, complete=True)

    def _history(
        self, symbol: str, interval: str, start: pd.Timestamp, end: pd.Timestamp, actions: bool
    ) -> pd.DataFrame:
        import yfinance as yf

        ticker = yahoo_symbol(symbol)
        with yfinance_call(self.session):
            handle = yf.Ticker(ticker, session=self.session)
            # the exchange zone is known: spare yfinance its extra request (and disk cache)
            handle._tz = symbol_info(symbol).timezone
            try:
                return handle.history(
                    start=start.to_pydatetime(),
                    end=end.to_pydatetime(),
                    interval=interval,
                    auto_adjust=False,
                    actions=actions,
                    timeout=self.session.timeout,
                )
            except Exception as exc:
                error = self._translate(exc, self.session.last(_CHART), ticker)
                if error is None:
                    return pd.DataFrame()
                raise error from exc

    def _bars(
        self, symbol: str, timeframe: Timeframe, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        raw = self._history(symbol, _INTERVALS[timeframe.name], start, end, actions=False)
        return to_frame(raw, timeframe)

    # -- errors ----------------------------------------------------------------------------
    def _translate(
        self, exc: BaseException, seen: SeenResponse | None, ticker: str
    ) -> ProviderError | None:
        """Our error for what Yahoo answered; None when the answer was just empty."""
        name = type(exc).__name__
        if name == "YFRateLimitError" or (seen is not None and seen.status == 429):
            wait = parse_retry_after(seen.headers.get("Retry-After")) if seen else None
            return RateLimitError("yahoo: too many requests", provider=self.name, retry_after=wait)
        if seen is None or seen.status is None:
            return TemporaryProviderError(
                f"yahoo: no answer for {ticker} ({name})", provider=self.name
            )
        reason = _chart_error(seen.text)
        text = f"yahoo: {ticker}: HTTP {seen.status}" + (f" ({reason})" if reason else "")
        if seen.status in (401, 403):
            return AuthenticationError(f"{text}: cookie/crumb refused", provider=self.name)
        if seen.status == 404:
            return SymbolNotFoundError(text, provider=self.name)
        if seen.status in (400, 422):
            return UnsupportedError(text, provider=self.name)
        if seen.status >= 500 or seen.status == 408:
            return TemporaryProviderError(text, provider=self.name)
        if seen.status == 200 and name == "YFPricesMissingError" and reason is None:
            return None  # a valid answer without bars in the range
        if seen.status == 200 and reason is not None:
            return SymbolNotFoundError(text, provider=self.name)
        return InvalidResponseError(f"{text}: {name}", provider=self.name)

    # -- corporate actions and fundamentals ------------------------------------------------
    def corporate_actions(
        self, symbol: str, start: Any = None, end: Any = None
    ) -> tuple[pd.Series, pd.Series]:
        """``(splits, dividends)`` between ``start`` and ``end``, indexed by ex-date (UTC midnight).

        Splits are ratios (2.0 for a 2-for-1), dividends cash per share in the quote currency.
        """
        first = to_utc(start) if start is not None else pd.Timestamp("1970-01-02", tz="UTC")
        last = to_utc(end) if end is not None else self.now()
        raw = self.call(
            lambda: self._history(symbol, "1d", first, last + pd.Timedelta(days=1), actions=True)
        )
        daily = Timeframe(1, "d")
        out = []
        for column, label in (("Stock Splits", "splits"), ("Dividends", "dividends")):
            series = raw[column] if column in raw.columns else pd.Series(dtype="float64")
            series = series[series.fillna(0) != 0].astype("float64")
            series.index = _labels(series.index, daily)
            series = series[(series.index >= first.normalize()) & (series.index <= last)]
            out.append(series.rename(label))
        return out[0], out[1]

    def fetch_actions(
        self, symbol: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> CorporateActions:
        """Splits and dividends from the chart events; Yahoo's split-adjusted dividend
        amounts are put back on the as-traded basis with the splits after them."""
        splits, dividends = self.corporate_actions(symbol, start, end)
        factor = split_factors(pd.DatetimeIndex(dividends.index), splits)
        raw = pd.Series(dividends.to_numpy() * factor, index=dividends.index)
        return CorporateActions(splits, raw, checked_at=self.now(), source=self.name)

    def fetch_fundamentals(self, symbol: str) -> dict[str, Any]:
        """The raw ``Ticker.info`` record (see :mod:`tradedata.fundamentals`)."""
        return dict(self.call(lambda: self._info(symbol)))

    def _info(self, symbol: str) -> dict[str, Any]:
        import yfinance as yf

        ticker = yahoo_symbol(symbol)
        with yfinance_call(self.session):
            handle = yf.Ticker(ticker, session=self.session)
            handle._tz = symbol_info(symbol).timezone
            try:
                info = handle.info
            except Exception as exc:
                seen = self.session.last(_SUMMARY)
                error = self._translate(exc, seen, ticker)
                raise (error or InvalidResponseError("yahoo: no info", provider=self.name)) from exc
        summary = self.session.last(_SUMMARY)
        if summary is not None and summary.status not in (None, 200):
            error = self._translate(RuntimeError("quoteSummary"), summary, ticker)
            if error is not None:
                raise error
        if not info or not any(k in info for k in ("longName", "shortName", "quoteType")):
            raise SymbolNotFoundError(f"yahoo has no info for {ticker}", provider=self.name)
        return dict(info)


def _chart_error(text: str) -> str | None:
    """The ``description`` of a chart or quoteSummary error body, if any."""
    try:
        body = json.loads(text)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    for key in ("chart", "quoteSummary", "finance"):
        part = body.get(key)
        if isinstance(part, dict) and isinstance(part.get("error"), dict):
            return str(part["error"].get("description") or part["error"].get("code"))
    return None


def _labels(index: pd.Index, timeframe: Timeframe) -> pd.DatetimeIndex:
    """yfinance's exchange-local index as tradedata labels (UTC opens, session dates)."""
    index = pd.DatetimeIndex(index)
    if timeframe.unit in ("m", "h"):
        return (index.tz_convert("UTC") if index.tz else index.tz_localize("UTC")).rename(
            "timestamp"
        )
    days = pd.DatetimeIndex(index.tz_localize(None) if index.tz else index).normalize()
    days = days.tz_localize("UTC")
    if timeframe.unit in ("w", "M"):
        days = pd.DatetimeIndex([timeframe.floor(d) for d in days])
    return days.rename("timestamp")


def to_frame(raw: pd.DataFrame, timeframe: Timeframe) -> pd.DataFrame:
    """A yfinance history frame as an OHLCV frame (``adj_close`` for daily and longer bars)."""
    intraday = timeframe.unit in ("m", "h")
    if raw is None or raw.empty:
        return empty_frame(adj_close=not intraday)
    out = raw.rename(columns=_COLUMNS)[list(_COLUMNS.values())].astype("float64")
    if not intraday and "Adj Close" in raw.columns:
        out[ADJ_CLOSE] = raw["Adj Close"].astype("float64")
    out.index = _labels(raw.index, timeframe)
    out = out.dropna(subset=["open", "high", "low", "close"], how="all")
    return out[~out.index.duplicated(keep="last")]
