"""Fake Financial Modeling Prep v3.

Shapes (site.financialmodelingprep.com/developer/docs, v3): ``/api/v3/historical-chart/
{interval}/{symbol}?from&to`` -> ``[{"date": "2024-03-08 15:55:00", "open", "low", "high",
"close", "volume"}]`` newest first, exchange-local times; ``/api/v3/historical-price-full/
{symbol}?from&to`` -> ``{"symbol", "historical": [{"date", "open", "high", "low", "close",
"adjClose", "volume", "unadjustedVolume", "change", "changePercent", "vwap", "label",
"changeOverTime"}]}`` newest first (``{}`` for an unknown symbol); ``/api/v3/profile``,
``/api/v3/ratios-ttm``, ``/api/v3/key-metrics-ttm`` -> one-element lists. Errors:
``{"Error Message": ...}`` with 401 (bad key) or 429 (limit).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tests.fakes.companies import company
from tests.fakes.server import FakeRequest, FakeResponse, Fault, Routes, json_response
from tests.fakes.util import parse_time
from tradedata.symbols import symbol_info

_INTERVALS = {"1min": 1, "5min": 5, "15min": 15, "30min": 30, "1hour": 60, "4hour": 240}
BAD_KEY = (
    "Invalid API KEY. Feel free to create a Free API Key or visit "
    "https://site.financialmodelingprep.com/faqs?search=why-is-my-api-key-invalid for more "
    "information."
)
LIMIT = (
    "Limit Reach . Please upgrade your plan or visit our documentation for more details at "
    "https://site.financialmodelingprep.com/"
)


def _our_symbol(ticker: str) -> str:
    if len(ticker) == 6 and ticker.isalpha() and ticker[:3] in ("EUR", "GBP", "USD", "JPY"):
        return f"{ticker[:3]}/{ticker[3:]}"
    return ticker


class FMPRoutes(Routes):
    data_path = "/api/v3/historical"

    def authenticate(self, request: FakeRequest) -> FakeResponse | None:
        if request.query.get("apikey") == self.server.api_key:
            return None
        return json_response({"Error Message": BAD_KEY}, 401)

    def fault(self, fault: Fault, request: FakeRequest) -> FakeResponse | None:
        if fault.kind == "empty":
            if "historical-price-full" in request.path:
                return json_response({"symbol": request.path.rsplit("/", 1)[-1], "historical": []})
            return json_response([])
        if fault.kind == "unknown_symbol":
            return json_response({} if "historical-price-full" in request.path else [])
        if fault.kind == "rate_limit":
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            return json_response({"Error Message": LIMIT}, 429, **headers)
        if fault.kind == "auth":
            return json_response({"Error Message": BAD_KEY}, 401)
        return None

    def handle(self, request: FakeRequest) -> FakeResponse:
        parts = request.path.strip("/").split("/")
        if len(parts) < 4 or parts[:2] != ["api", "v3"]:
            return json_response({"Error Message": "Not found"}, 404)
        kind, ticker = parts[2], parts[-1]
        symbol = _our_symbol(ticker)
        unknown = self.server.is_unknown(symbol)
        q = request.query
        now = self.server.now()
        if kind == "historical-price-full" and parts[3] in ("stock_split", "stock_dividend"):
            return json_response({} if unknown else self._actions(symbol, ticker, parts[3]))
        if kind == "historical-price-full":
            if unknown:
                return json_response({})
            start = parse_time(q.get("from"), now - pd.Timedelta(days=365 * 5))
            end = min(parse_time(q.get("to"), now, end_of_day=True), now)
            return json_response({"symbol": ticker, "historical": self._daily(symbol, start, end)})
        if kind == "historical-chart" and parts[3] in _INTERVALS:
            if unknown:
                return json_response([])
            tz = symbol_info(symbol).timezone
            start = pd.Timestamp(q.get("from") or now.date()).tz_localize(tz).tz_convert("UTC")
            end = pd.Timestamp(q.get("to") or now.date()).tz_localize(tz) + pd.Timedelta(days=1)
            end = min(end.tz_convert("UTC") - pd.Timedelta(seconds=1), now)
            return json_response(self._intraday(symbol, _INTERVALS[parts[3]], start, end, tz))
        if kind in ("profile", "ratios-ttm", "key-metrics-ttm"):
            return json_response([] if unknown else [self._fundamentals(kind, symbol)])
        return json_response({"Error Message": "Invalid endpoint"}, 404)

    def _actions(self, symbol: str, ticker: str, kind: str) -> dict[str, Any]:
        """``historical-price-full/stock_split`` (``date``, ``label``, ``numerator``,
        ``denominator``) and ``/stock_dividend`` (``adjDividend`` split-adjusted, ``dividend``
        as paid, record/payment/declaration dates), newest first (site.financialmodelingprep.com
        "Stock Split Calendar"/"Dividends Historical")."""
        now = self.server.now()
        lo = pd.Timestamp("1990-01-01", tz="UTC")
        rows: list[dict[str, Any]] = []
        if kind == "stock_split":
            for day, ratio in self.market.splits(symbol, lo, now).items():
                rows.append({"date": f"{day:%Y-%m-%d}", "label": day.strftime("%B %d, %y"),
                             "numerator": ratio, "denominator": 1.0})  # fmt: skip
        else:
            divs = self.market.dividends(symbol, lo, now)
            k = self.market.split_factor(symbol, pd.DatetimeIndex(divs.index), now)
            for (day, amount), f in zip(divs.items(), k, strict=True):
                ex = f"{day:%Y-%m-%d}"
                rows.append({"date": ex, "label": day.strftime("%B %d, %y"),
                             "adjDividend": round(amount / f, 6), "dividend": amount,
                             "recordDate": ex, "paymentDate": ex,
                             "declarationDate": ex})  # fmt: skip
        return {"symbol": ticker, "historical": rows[::-1]}

    def _daily(self, symbol: str, start: pd.Timestamp, end: pd.Timestamp) -> list[dict[str, Any]]:
        frame = self.market.daily(symbol, start, end)
        factor = self.market.adjustment(symbol, frame.index, self.server.now())
        # OHLCV as traded, adjClose split- and dividend-adjusted as of today
        adj_close = self.market.on_basis(symbol, frame, frame.index, self.server.now())["close"]
        rows = []
        for (t, r), f in zip(
            zip(frame.index, frame.itertuples(), strict=True), factor, strict=True
        ):
            change = round(r.close - r.open, 4)
            rows.append(
                {
                    "date": t.strftime("%Y-%m-%d"),
                    "open": r.open,
                    "high": r.high,
                    "low": r.low,
                    "close": r.close,
                    "adjClose": round(float(adj_close[t]) * f, 4),
                    "volume": float(r.volume),
                    "unadjustedVolume": float(r.volume),
                    "change": change,
                    "changePercent": round(change / r.open * 100, 5),
                    "vwap": round((r.high + r.low + r.close) / 3, 4),
                    "label": t.strftime("%B %d, %y"),
                    "changeOverTime": round(change / r.open, 7),
                }
            )
        return rows[::-1]

    def _intraday(
        self, symbol: str, minutes: int, start: pd.Timestamp, end: pd.Timestamp, tz: str
    ) -> list[dict[str, Any]]:
        frame = self.market.intraday(symbol, minutes, start, end, align="session")
        local = frame.index.tz_convert(tz)
        rows = [
            {
                "date": t.strftime("%Y-%m-%d %H:%M:%S"),
                "open": r.open,
                "low": r.low,
                "high": r.high,
                "close": r.close,
                "volume": int(r.volume),
            }
            for t, r in zip(local, frame.itertuples(), strict=True)
        ]
        return rows[::-1]

    def _fundamentals(self, kind: str, symbol: str) -> dict[str, Any]:
        c = company(symbol)
        if kind == "profile":
            return {
                "symbol": c.symbol, "price": c.price, "beta": c.beta, "volAvg": 51_000_000,
                "mktCap": c.market_cap, "lastDiv": c.dividend_rate,
                "range": f"{c.low52}-{c.high52}", "changes": 1.25, "companyName": c.name,
                "currency": c.currency, "cik": "0000320193", "isin": "US0378331005",
                "cusip": "037833100", "exchange": f"{c.exchange} Global Select",
                "exchangeShortName": c.exchange, "industry": c.industry, "website": c.website,
                "description": c.description, "ceo": "Jane Doe", "sector": c.sector,
                "country": c.country, "fullTimeEmployees": str(c.employees),
                "phone": "000", "address": "1 Main St", "city": "Town", "state": "CA",
                "zip": "00000", "dcfDiff": 1.0, "dcf": c.price, "image": "",
                "ipoDate": "1980-12-12", "defaultImage": False, "isEtf": False,
                "isActivelyTrading": True, "isAdr": False, "isFund": False,
            }  # fmt: skip
        if kind == "ratios-ttm":
            return {
                "peRatioTTM": c.pe, "priceToBookRatioTTM": c.price_to_book,
                "dividendYielTTM": c.dividend_yield, "netProfitMarginTTM": c.profit_margin,
                "debtEquityRatioTTM": c.debt_to_equity, "pegRatioTTM": 2.1,
                "priceEarningsRatioTTM": c.pe,
            }  # fmt: skip
        return {
            "peRatioTTM": c.pe, "marketCapTTM": c.market_cap,
            "netIncomePerShareTTM": c.eps,
            "revenuePerShareTTM": round(c.revenue / c.shares, 4),
            "debtToEquityTTM": c.debt_to_equity,
            "dividendYieldTTM": c.dividend_yield, "pbRatioTTM": c.price_to_book,
        }  # fmt: skip


ROUTES = FMPRoutes
