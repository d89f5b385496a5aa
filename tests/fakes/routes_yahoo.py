"""Fake Yahoo Finance, as yfinance 1.x calls it.

Routes (yfinance ``data.py``, ``scrapers/history.py``, ``scrapers/quote.py``): ``/`` (the
``fc.yahoo.com`` cookie), ``/v1/test/getcrumb``, ``/consent`` (404: no consent flow),
``/v8/finance/chart/{symbol}``, ``/v10/finance/quoteSummary/{symbol}``, ``/v7/finance/quote``
and ``/ws/fundamentals-timeseries/v1/finance/timeseries/{symbol}``.

The chart answer has Yahoo's shape: ``{"chart": {"result": [{"meta": {..., "gmtoffset",
"exchangeTimezoneName", "tradingPeriods" (intraday), "validRanges"}, "timestamp": [...],
"events": {"dividends": {...}, "splits": {...}}, "indicators": {"quote": [{"open", "high",
"low", "close", "volume"}], "adjclose": [{"adjclose"}]}}], "error": null}}``. Timestamps are bar
opens in epoch seconds; daily bars are stamped at the session open. Intraday limits are enforced
against the server clock (1m: 30 days back, 8 days per request; 5m-30m: 60 days; 1h: 730) with
Yahoo's 422 answer. Unknown symbols: 404 with ``{"chart": {"result": null, "error": {"code":
"Not Found", "description": "No data found, symbol may be delisted"}}}``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tests.fakes.companies import company
from tests.fakes.market import venue_for
from tests.fakes.server import FakeRequest, FakeResponse, Fault, Routes, json_response
from tradedata.symbols import AssetClass, symbol_info

_INTRADAY = {"1m": 1, "2m": 2, "5m": 5, "15m": 15, "30m": 30, "60m": 60, "90m": 90, "1h": 60}
_LIMIT_DAYS = {1: 30, 2: 60, 5: 60, 15: 60, 30: 60, 60: 730, 90: 60}
_RANGES = ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"]
NOT_FOUND = {"code": "Not Found", "description": "No data found, symbol may be delisted"}


def _our_symbol(ticker: str) -> str:
    if ticker.endswith("=X") and len(ticker) == 8:
        return f"{ticker[:3]}/{ticker[3:6]}"
    return ticker


def _err(code: str, description: str, status: int) -> FakeResponse:
    return json_response(
        {"chart": {"result": None, "error": {"code": code, "description": description}}}, status
    )


class YahooRoutes(Routes):
    data_path = "/v8/finance/chart/"
    crumb = "fakeCrumb.7x"

    def fault(self, fault: Fault, request: FakeRequest) -> FakeResponse | None:
        if fault.kind == "unknown_symbol":
            return json_response({"chart": {"result": None, "error": NOT_FOUND}}, 404)
        if fault.kind == "rate_limit":
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            return FakeResponse(429, b"Too Many Requests\r\n", headers, "text/plain")
        if fault.kind in ("auth", "forbidden"):
            body = {
                "finance": {
                    "result": None,
                    "error": {"code": "Unauthorized", "description": "Invalid Crumb"},
                }
            }
            return json_response(body, fault.status or 401)
        if fault.kind == "empty":
            ticker = request.path.rsplit("/", 1)[-1]
            result = {
                "meta": self._meta(_our_symbol(ticker), ticker, "1d", []),
                "indicators": {"quote": [{}]},
            }
            return json_response({"chart": {"result": [result], "error": None}})
        return None

    def handle(self, request: FakeRequest) -> FakeResponse:
        path = request.path
        if path in ("/", ""):
            cookie = "A3=d=AQABBFake&S=AQAAAFake; Max-Age=31557600; Path=/; SameSite=None"
            return FakeResponse(200, b"", {"Set-Cookie": cookie}, "text/html")
        if path == "/v1/test/getcrumb":
            return FakeResponse(200, self.crumb.encode(), {}, "text/plain")
        if path.startswith("/v8/finance/chart/"):
            return self._chart(path.rsplit("/", 1)[-1], request.query)
        if path.startswith("/v10/finance/quoteSummary/"):
            return self._summary(path.rsplit("/", 1)[-1])
        if path == "/v7/finance/quote":
            return self._quote(request.query.get("symbols", ""))
        if path.startswith("/ws/fundamentals-timeseries/"):
            return self._timeseries(path.rsplit("/", 1)[-1])
        return FakeResponse(404, b"<html>Not Found</html>", {}, "text/html")

    # -- chart ------------------------------------------------------------------------------
    def _window(self, q: dict[str, str]) -> tuple[pd.Timestamp, pd.Timestamp]:
        now = self.server.now()
        if "period1" in q or "period2" in q:
            start = pd.Timestamp(int(q.get("period1") or 0), unit="s", tz="UTC")
            end = pd.Timestamp(int(q.get("period2") or now.timestamp()), unit="s", tz="UTC")
            return start, min(end, now)
        days = {"1d": 1, "5d": 5, "1mo": 31, "3mo": 92, "1y": 366, "max": 365 * 40}.get(
            q.get("range", "1mo"), 31
        )
        return now - pd.Timedelta(days=days), now

    def _chart(self, ticker: str, q: dict[str, str]) -> FakeResponse:
        symbol = _our_symbol(ticker)
        if self.server.is_unknown(symbol):
            return json_response({"chart": {"result": None, "error": NOT_FOUND}}, 404)
        interval = q.get("interval", "1d")
        start, end = self._window(q)
        now = self.server.now()
        if interval in _INTRADAY:
            minutes = _INTRADAY[interval]
            if start < now - pd.Timedelta(days=_LIMIT_DAYS[minutes]):
                return _err(
                    "Unprocessable Entity",
                    f"{interval} data not available for startTime={int(start.timestamp())} and "
                    f"endTime={int(end.timestamp())}. The requested range must be within the last "
                    f"{_LIMIT_DAYS[minutes]} days.",
                    422,
                )
            if minutes == 1 and end - start > pd.Timedelta(days=8):
                return _err(
                    "Unprocessable Entity",
                    "Only 8 days worth of 1m granularity data are allowed to be fetched per "
                    "request.",
                    422,
                )
            frame = self.market.intraday(symbol, minutes, start, end - pd.Timedelta(seconds=1))
            stamps = frame.index
            dates = self.market.session_dates(symbol, pd.DatetimeIndex(frame.index))
            frame = self.market.on_basis(symbol, frame, dates, now)
            adjclose = None
        elif interval in ("1d", "1wk", "1mo"):
            if interval == "1d":
                frame = self.market.daily(symbol, start.normalize(), end)
            else:
                frame = self.market.periods(symbol, start, end, "w" if interval == "1wk" else "M")
            stamps = (
                pd.DatetimeIndex(frame["session_open"])
                if len(frame)
                else pd.DatetimeIndex([], tz="UTC")
            )
            keep = (stamps >= start) & (stamps < end)
            frame, stamps = frame[keep], stamps[keep]
            # Yahoo's OHLC and volume are split-adjusted as of today, Adj Close adds dividends
            # (quantmod issue #218; yfinance issue #1749)
            frame = self.market.on_basis(symbol, frame, pd.DatetimeIndex(frame.index), now)
            adjclose = frame["close"].to_numpy() * self.market.adjustment(
                symbol, pd.DatetimeIndex(frame.index), now
            )
        else:
            return _err(
                "Bad Request", f"Invalid input - interval={interval} is not supported.", 400
            )
        meta = self._meta(symbol, ticker, interval, frame["close"].tolist() if len(frame) else [])
        if interval in _INTRADAY:
            meta["tradingPeriods"] = self._trading_periods(symbol, start, end)
        result: dict[str, Any] = {"meta": meta}
        if len(frame) == 0:
            result["indicators"] = {"quote": [{}]}
            return json_response({"chart": {"result": [result], "error": None}})
        result["timestamp"] = [int(t.value // 10**9) for t in stamps]
        if interval not in _INTRADAY:
            result["events"] = self._events(symbol, start, end)
        result["indicators"] = {
            "quote": [
                {
                    "open": frame["open"].tolist(),
                    "high": frame["high"].tolist(),
                    "low": frame["low"].tolist(),
                    "close": frame["close"].tolist(),
                    "volume": [round(v) for v in frame["volume"]],
                }
            ]
        }
        if adjclose is not None:
            result["indicators"]["adjclose"] = [{"adjclose": np.round(adjclose, 4).tolist()}]
        return json_response({"chart": {"result": [result], "error": None}})

    def _meta(self, symbol: str, ticker: str, interval: str, closes: list[float]) -> dict[str, Any]:
        info = symbol_info(symbol)
        venue = venue_for(symbol)
        now = self.server.now()
        local = now.tz_convert(venue.tz)
        offset = int(local.utcoffset().total_seconds())
        abbr = local.tzname() or "UTC"
        kind = {AssetClass.FOREX: "CURRENCY", AssetClass.INDEX: "INDEX"}.get(
            info.asset_class, "EQUITY"
        )
        price = closes[-1] if closes else float(self.market.base_price(symbol))
        period = {
            "timezone": abbr,
            "start": int(now.normalize().timestamp()),
            "end": int(now.normalize().timestamp()) + 3600,
            "gmtoffset": offset,
        }
        return {
            "currency": info.currency or "USD",
            "symbol": ticker,
            "exchangeName": info.exchange or "CCY",
            "fullExchangeName": info.exchange or "CCY",
            "instrumentType": kind,
            "firstTradeDate": 345479400,
            "regularMarketTime": int(now.timestamp()),
            "hasPrePostMarketData": kind == "EQUITY",
            "gmtoffset": offset,
            "timezone": abbr,
            "exchangeTimezoneName": venue.tz,
            "regularMarketPrice": price,
            "fiftyTwoWeekHigh": max(closes, default=price),
            "fiftyTwoWeekLow": min(closes, default=price),
            "longName": company(symbol).name,
            "shortName": company(symbol).name,
            "regularMarketDayHigh": price,
            "regularMarketDayLow": price,
            "regularMarketVolume": 1_000_000,
            "chartPreviousClose": closes[0] if closes else price,
            "priceHint": 2,
            "currentTradingPeriod": {"pre": period, "regular": period, "post": period},
            "dataGranularity": interval,
            "range": "",
            "validRanges": _RANGES,
        }

    def _trading_periods(
        self, symbol: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> list[list[dict[str, Any]]]:
        venue = venue_for(symbol)
        out = []
        for s_open, s_close in self.market.sessions(symbol, start, end).itertuples(index=False):
            local = s_open.tz_convert(venue.tz)
            out.append(
                [
                    {
                        "timezone": local.tzname(),
                        "start": int(s_open.timestamp()),
                        "end": int(s_close.timestamp()),
                        "gmtoffset": int(local.utcoffset().total_seconds()),
                    }
                ]
            )
        return out

    def _events(self, symbol: str, start: pd.Timestamp, end: pd.Timestamp) -> dict[str, Any]:
        sessions = self.market.sessions(symbol, start, end)

        def stamp(day: pd.Timestamp) -> int:
            row = sessions[sessions.index >= day]
            return int((row["open"].iloc[0] if len(row) else day).timestamp())

        events: dict[str, Any] = {}
        divs = self.market.dividends(symbol, start, end)
        # dividends are split-adjusted like the prices (pandas-datareader issue #651: AAPL's
        # 3.29 of 2014-05-08 shows as 0.47 after the 7:1 split)
        divs = divs / self.market.split_factor(
            symbol, pd.DatetimeIndex(divs.index), self.server.now()
        )
        if len(divs):
            events["dividends"] = {
                str(stamp(d)): {"amount": a, "date": stamp(d)} for d, a in divs.items()
            }
        splits = self.market.splits(symbol, start, end)
        if len(splits):
            events["splits"] = {
                str(stamp(d)): {
                    "date": stamp(d),
                    "numerator": r,
                    "denominator": 1.0,
                    "splitRatio": f"{r:g}:1",
                }
                for d, r in splits.items()
            }
        return events

    # -- quote summary ------------------------------------------------------------------------
    def _summary(self, ticker: str) -> FakeResponse:
        symbol = _our_symbol(ticker)
        if self.server.is_unknown(symbol):
            body = {
                "quoteSummary": {
                    "result": None,
                    "error": {
                        "code": "Not Found",
                        "description": f"Quote not found for symbol: {ticker}",
                    },
                }
            }
            return json_response(body, 404)
        c = company(symbol)
        result = {
            "assetProfile": {
                "address1": "1 Main St",
                "city": "Town",
                "country": c.country_name,
                "website": c.website,
                "industry": c.industry,
                "sector": c.sector,
                "longBusinessSummary": c.description,
                "fullTimeEmployees": c.employees,
                "maxAge": 86400,
            },
            "summaryDetail": {
                "previousClose": c.price,
                "dividendRate": c.dividend_rate,
                "dividendYield": round(c.dividend_yield * 100, 2),  # Yahoo now sends percent here
                "trailingAnnualDividendYield": c.dividend_yield,
                "beta": c.beta,
                "trailingPE": c.pe,
                "forwardPE": c.forward_pe,
                "marketCap": c.market_cap,
                "fiftyTwoWeekLow": c.low52,
                "fiftyTwoWeekHigh": c.high52,
                "currency": c.currency,
                "maxAge": 1,
            },
            "financialData": {
                "currentPrice": c.price,
                "totalRevenue": c.revenue,
                "revenueGrowth": c.revenue_growth,
                "profitMargins": c.profit_margin,
                "debtToEquity": round(c.debt_to_equity * 100, 2),
                "financialCurrency": c.currency,
                "maxAge": 86400,
            },
            "defaultKeyStatistics": {
                "sharesOutstanding": c.shares,
                "trailingEps": c.eps,
                "forwardEps": round(c.eps * 1.1, 2),
                "priceToBook": c.price_to_book,
                "maxAge": 1,
            },
            "quoteType": {
                "exchange": c.exchange,
                "quoteType": "EQUITY",
                "symbol": ticker,
                "shortName": c.name,
                "longName": c.name,
                "timeZoneFullName": venue_for(symbol).tz,
                "maxAge": 1,
            },
        }
        return json_response({"quoteSummary": {"result": [result], "error": None}})

    def _quote(self, tickers: str) -> FakeResponse:
        results = []
        for ticker in filter(None, tickers.split(",")):
            symbol = _our_symbol(ticker)
            if self.server.is_unknown(symbol):
                continue
            c = company(symbol)
            results.append(
                {
                    "language": "en-US",
                    "region": "US",
                    "quoteType": "EQUITY",
                    "currency": c.currency,
                    "exchange": c.exchange,
                    "fullExchangeName": c.exchange,
                    "shortName": c.name,
                    "longName": c.name,
                    "regularMarketPrice": c.price,
                    "marketCap": c.market_cap,
                    "symbol": ticker,
                }
            )
        return json_response({"quoteResponse": {"result": results, "error": None}})

    def _timeseries(self, ticker: str) -> FakeResponse:
        item = {
            "meta": {"symbol": [ticker], "type": ["trailingPegRatio"]},
            "timestamp": [int(self.server.now().normalize().timestamp())],
            "trailingPegRatio": [{"asOfDate": f"{self.server.now():%Y-%m-%d}", "periodType": "TTM",
                                  "reportedValue": {"raw": 2.1, "fmt": "2.10"}}],
        }  # fmt: skip
        return json_response({"timeseries": {"result": [item], "error": None}})


ROUTES = YahooRoutes
