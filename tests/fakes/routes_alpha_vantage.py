"""Fake Alpha Vantage: ``GET /query?function=...&apikey=...``.

Shapes (alphavantage.co/documentation): ``{"Meta Data": {"1. Information", "2. Symbol",
"3. Last Refreshed", "4. Interval", "5. Output Size", "6. Time Zone": "US/Eastern"},
"Time Series (5min)": {"2024-03-08 19:55:00": {"1. open": "171.0000", "2. high", "3. low",
"4. close", "5. volume"}}}`` newest first (keys are bar opens, New York time);
``Time Series (Daily)`` keyed by date; ``Weekly Time Series`` / ``Monthly Time Series`` keyed by
the period's last trading day; ``Time Series FX (Daily)`` without volume; ``OVERVIEW`` a flat
object of strings (``{}`` when unknown). Problems are HTTP 200 with ``Note``, ``Information`` or
``Error Message``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tests.fakes.companies import company
from tests.fakes.server import FakeRequest, FakeResponse, Fault, Routes, json_response

NOTE = (
    "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute "
    "and 500 calls per day. Please visit https://www.alphavantage.co/premium/ if you would like "
    "to target a higher API call frequency."
)
PREMIUM = (
    "Thank you for using Alpha Vantage! This is a premium endpoint. You may subscribe to any of "
    "the premium plans at https://www.alphavantage.co/premium/ to instantly unlock all premium "
    "endpoints"
)
BAD_KEY = (
    "the parameter apikey is invalid or missing. Please claim your free API key on "
    "(https://www.alphavantage.co/support/#api-key). It should take less than 20 seconds."
)
_SUFFIXES = {
    "LON": "L",
    "TRT": "TO",
    "TRV": "V",
    "DEX": "DE",
    "BSE": "BO",
    "SHH": "SS",
    "SHZ": "SZ",
}
_INTERVALS = {"1min": 1, "5min": 5, "15min": 15, "30min": 30, "60min": 60}
_PRICES = "Prices (open, high, low, close)"
_DAILY = {
    "TIME_SERIES_DAILY": ("d", "Time Series (Daily)", f"Daily {_PRICES} and Volumes"),
    "TIME_SERIES_DAILY_ADJUSTED": (
        "d", "Time Series (Daily)", "Daily Time Series with Splits and Dividend Events",
    ),
    "TIME_SERIES_WEEKLY": ("w", "Weekly Time Series", f"Weekly {_PRICES} and Volumes"),
    "TIME_SERIES_MONTHLY": ("M", "Monthly Time Series", f"Monthly {_PRICES} and Volumes"),
    "FX_DAILY": ("d", "Time Series FX (Daily)", f"Forex Daily {_PRICES}"),
    "FX_WEEKLY": ("w", "Time Series FX (Weekly)", f"Forex Weekly {_PRICES}"),
    "FX_MONTHLY": ("M", "Time Series FX (Monthly)", f"Forex Monthly {_PRICES}"),
}  # fmt: skip


def _our_symbol(ticker: str) -> str:
    root, _, suffix = ticker.rpartition(".")
    return f"{root}.{_SUFFIXES[suffix]}" if root and suffix in _SUFFIXES else ticker


def _num(x: float) -> str:
    return f"{x:.4f}"


class AlphaVantageRoutes(Routes):
    data_path = "/query"

    def authenticate(self, request: FakeRequest) -> FakeResponse | None:
        if request.query.get("apikey") == self.server.api_key:
            return None
        return json_response({"Error Message": BAD_KEY})

    def fault(self, fault: Fault, request: FakeRequest) -> FakeResponse | None:
        function = request.query.get("function", "")
        if fault.kind == "note":
            return json_response({"Note": NOTE})
        if fault.kind == "daily_limit":
            key = request.query.get("apikey", "")
            return json_response(
                {
                    "Information": f"We have detected your API key as {key} and our standard API "
                    "rate limit is 25 requests per day. Please subscribe to any of the premium "
                    "plans at https://www.alphavantage.co/premium/ to instantly remove all daily "
                    "rate limits."
                }
            )
        if fault.kind == "premium":
            return json_response({"Information": PREMIUM})
        if fault.kind == "unknown_symbol":
            return json_response(
                {
                    "Error Message": "Invalid API call. Please retry or visit the documentation "
                    f"(https://www.alphavantage.co/documentation/) for {function}."
                }
            )
        if fault.kind == "auth":
            return json_response({"Error Message": BAD_KEY})
        if fault.kind == "empty":
            symbol = request.query.get("symbol", "")
            return json_response(
                self._series(function, symbol, pd.DataFrame(columns=["open"]), request)
            )
        return None

    def handle(self, request: FakeRequest) -> FakeResponse:
        q = request.query
        function = q.get("function", "")
        symbol = _our_symbol(q.get("symbol", ""))
        if function.startswith("FX_"):
            symbol = f"{q.get('from_symbol', '')}/{q.get('to_symbol', '')}"
        if self.server.is_unknown(symbol):
            return self.fault(Fault("unknown_symbol"), request)  # type: ignore[return-value]
        if function == "OVERVIEW":
            return json_response(self._overview(symbol))
        if function in ("SPLITS", "DIVIDENDS"):
            return json_response(self._actions(function, symbol, q.get("symbol", symbol)))
        if function == "FX_INTRADAY":
            return json_response({"Information": PREMIUM})
        if function == "TIME_SERIES_INTRADAY":
            return json_response(self._intraday(symbol, request))
        if function in _DAILY:
            unit = _DAILY[function][0]
            now = self.server.now()
            full = q.get("outputsize") == "full" or unit != "d"
            start = now - pd.Timedelta(days=365 * 20 if full else 150)
            if unit == "d":
                frame = self.market.daily(symbol, start, now)
                if q.get("outputsize") != "full":
                    frame = frame.iloc[-100:]
            else:
                frame = self.market.periods(symbol, start, now, unit)
                frame.index = pd.DatetimeIndex(frame["last_session"])
            return json_response(self._series(function, q.get("symbol", symbol), frame, request))
        return json_response({"Error Message": f"Invalid API call for {function}."})

    def _actions(self, function: str, symbol: str, ticker: str) -> dict[str, Any]:
        """``SPLITS`` -> ``{"symbol", "data": [{"effective_date", "split_factor"}]}``;
        ``DIVIDENDS`` -> ``{"symbol", "data": [{"ex_dividend_date", "declaration_date",
        "record_date", "payment_date", "amount"}]}``, newest first, values as strings."""
        lo, now = pd.Timestamp("1990-01-01", tz="UTC"), self.server.now()
        if function == "SPLITS":
            rows = [{"effective_date": f"{d:%Y-%m-%d}", "split_factor": f"{r:.4f}"}
                    for d, r in self.market.splits(symbol, lo, now).items()]  # fmt: skip
        else:
            rows = [{"ex_dividend_date": f"{d:%Y-%m-%d}", "declaration_date": "None",
                     "record_date": f"{d:%Y-%m-%d}", "payment_date": f"{d:%Y-%m-%d}",
                     "amount": f"{a}"}
                    for d, a in self.market.dividends(symbol, lo, now).items()]  # fmt: skip
        return {"symbol": ticker, "data": rows[::-1]}

    def _intraday(self, symbol: str, request: FakeRequest) -> dict[str, Any]:
        q = request.query
        minutes = _INTERVALS.get(q.get("interval", ""))
        if minutes is None:
            return {"Error Message": "Invalid API call. Please retry or visit the documentation."}
        now = self.server.now()
        if q.get("month"):
            month = pd.Period(q["month"], freq="M")
            start = month.to_timestamp().tz_localize("America/New_York").tz_convert("UTC")
            end = (month + 1).to_timestamp().tz_localize("America/New_York").tz_convert("UTC")
            end = min(end - pd.Timedelta(seconds=1), now)
        else:
            start, end = now - pd.Timedelta(days=30), now
        frame = self.market.intraday(symbol, minutes, start, end, align="clock")
        local = frame.index.tz_convert("America/New_York").tz_localize(None)
        series = {
            t.strftime("%Y-%m-%d %H:%M:%S"): {
                "1. open": _num(r.open),
                "2. high": _num(r.high),
                "3. low": _num(r.low),
                "4. close": _num(r.close),
                "5. volume": str(int(r.volume)),
            }
            for t, r in zip(local[::-1], frame.iloc[::-1].itertuples(), strict=True)
        }
        meta = {
            "1. Information": f"Intraday ({q['interval']}) open, high, low, close prices "
            "and volume",
            "2. Symbol": q.get("symbol", symbol),
            "3. Last Refreshed": next(iter(series), ""),
            "4. Interval": q["interval"],
            "5. Output Size": "Full size",
            "6. Time Zone": "US/Eastern",
        }
        return {"Meta Data": meta, f"Time Series ({q['interval']})": series}

    def _series(
        self, function: str, symbol: str, frame: pd.DataFrame, request: FakeRequest
    ) -> dict[str, Any]:
        unit, key, info = _DAILY.get(function, _DAILY["TIME_SERIES_DAILY"])
        fx = function.startswith("FX_")
        adjusted = function.endswith("ADJUSTED")
        factor = None
        if adjusted and len(frame):
            dates = pd.DatetimeIndex(frame.index)
            factor = self.market.adjustment(_our_symbol(symbol), dates, self.server.now())
        series: dict[str, Any] = {}
        for i, (t, r) in enumerate(
            zip(frame.index[::-1], frame.iloc[::-1].itertuples(), strict=True)
        ):
            row = {
                "1. open": _num(r.open),
                "2. high": _num(r.high),
                "3. low": _num(r.low),
                "4. close": _num(r.close),
            }
            if adjusted and factor is not None:
                row["5. adjusted close"] = _num(r.close * factor[len(frame) - 1 - i])
                row["6. volume"] = str(int(r.volume))
                row["7. dividend amount"] = "0.0000"
                row["8. split coefficient"] = "1.0"
            elif not fx:
                row["5. volume"] = str(int(r.volume))
            series[pd.Timestamp(t).strftime("%Y-%m-%d")] = row
        last = next(iter(series), "")
        if fx:
            q = request.query
            meta = {"1. Information": info, "2. From Symbol": q.get("from_symbol", ""),
                    "3. To Symbol": q.get("to_symbol", ""), "4. Output Size": "Full size",
                    "5. Last Refreshed": f"{last} 21:55:00", "6. Time Zone": "UTC"}  # fmt: skip
        elif unit == "d":
            meta = {"1. Information": info, "2. Symbol": symbol, "3. Last Refreshed": last,
                    "4. Output Size": "Full size", "5. Time Zone": "US/Eastern"}  # fmt: skip
        else:
            meta = {"1. Information": info, "2. Symbol": symbol, "3. Last Refreshed": last,
                    "4. Time Zone": "US/Eastern"}  # fmt: skip
        return {"Meta Data": meta, key: series}

    def _overview(self, symbol: str) -> dict[str, str]:
        c = company(symbol)
        return {
            "Symbol": c.symbol, "AssetType": "Common Stock", "Name": c.name,
            "Description": c.description, "CIK": "320193", "Exchange": c.exchange,
            "Currency": c.currency, "Country": "USA" if c.country == "US" else c.country,
            "Sector": c.sector.upper(), "Industry": c.industry.upper(),
            "Address": "1 MAIN ST", "OfficialSite": c.website, "FiscalYearEnd": "September",
            "LatestQuarter": "2024-03-31", "MarketCapitalization": str(int(c.market_cap)),
            "EBITDA": "None", "PERatio": str(c.pe), "PEGRatio": "2.1",
            "BookValue": "4.38", "DividendPerShare": str(c.dividend_rate),
            "DividendYield": str(c.dividend_yield), "EPS": str(c.eps),
            "RevenuePerShareTTM": "24.6", "ProfitMargin": str(c.profit_margin),
            "RevenueTTM": str(int(c.revenue)), "QuarterlyRevenueGrowthYOY": str(c.revenue_growth),
            "AnalystTargetPrice": str(round(c.price * 1.1, 2)), "TrailingPE": str(c.pe),
            "ForwardPE": str(c.forward_pe), "PriceToBookRatio": str(c.price_to_book),
            "Beta": str(c.beta), "52WeekHigh": str(c.high52), "52WeekLow": str(c.low52),
            "50DayMovingAverage": str(c.price), "200DayMovingAverage": str(c.price),
            "SharesOutstanding": str(int(c.shares)), "DividendDate": "None",
            "ExDividendDate": "2024-05-10",
        }  # fmt: skip


ROUTES = AlphaVantageRoutes
