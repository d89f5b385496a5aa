"""Fake Polygon.io aggregates: ``GET /v2/aggs/ticker/{ticker}/range/{mult}/{timespan}/{from}/{to}``.

Shape (polygon.io docs, "Aggregates (Bars)"): ``{"ticker", "queryCount", "resultsCount",
"adjusted", "results": [{"v", "vw", "o", "c", "h", "l", "t", "n"}], "status": "OK",
"request_id", "count", "next_url"}``; ``t`` in epoch ms (daily bars at New York midnight, weeks
from Sunday); ``from``/``to`` are dates or ms; ``next_url`` carries a ``cursor``. Unknown
tickers answer ``resultsCount: 0`` without ``results``. The key: ``Authorization: Bearer`` or
``apiKey=``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tests.fakes.server import FakeRequest, FakeResponse, Fault, Routes, json_response
from tests.fakes.util import decode_cursor, encode_cursor, parse_time, session_label_times

_MINUTES = {"minute": 1, "hour": 60}


def _our_symbol(ticker: str) -> str:
    if ticker.startswith("C:"):
        return f"{ticker[2:5]}/{ticker[5:8]}"
    if ticker.startswith("I:"):
        return "^" + ticker[2:]
    return ticker


class PolygonRoutes(Routes):
    data_path = "/v2/aggs/"

    def authenticate(self, request: FakeRequest) -> FakeResponse | None:
        bearer = request.headers.get("authorization", "")
        key = bearer[7:] if bearer.startswith("Bearer ") else request.query.get("apiKey")
        if key == self.server.api_key:
            return None
        return json_response(
            {"status": "ERROR", "request_id": "req-auth", "error": "Unknown API Key"}, 401
        )

    def fault(self, fault: Fault, request: FakeRequest) -> FakeResponse | None:
        ticker = request.path.split("/")[4] if request.path.count("/") > 4 else ""
        if fault.kind in ("empty", "unknown_symbol"):
            return json_response(_envelope(ticker, [], None))
        if fault.kind == "rate_limit":
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            return json_response(
                {
                    "status": "ERROR",
                    "request_id": "req-429",
                    "error": "You've exceeded the maximum requests per minute, please wait or "
                    "upgrade your subscription to continue. https://polygon.io/pricing",
                },
                429,
                **headers,
            )
        if fault.kind == "forbidden":
            return json_response(
                {
                    "status": "NOT_AUTHORIZED",
                    "request_id": "req-403",
                    "message": "You are not entitled to this data. Please upgrade your plan at "
                    "https://polygon.io/pricing",
                },
                403,
            )
        return None

    def handle(self, request: FakeRequest) -> FakeResponse:
        parts = request.path.strip("/").split("/")
        if parts[:2] == ["v3", "reference"] and len(parts) == 3:
            return self._reference(parts[2], request.query)
        if len(parts) != 9 or parts[:3] != ["v2", "aggs", "ticker"] or parts[4] != "range":
            return json_response({"status": "NOT_FOUND", "message": "Not found"}, 404)
        ticker, mult, span, lo, hi = parts[3], int(parts[5]), parts[6], parts[7], parts[8]
        q = request.query
        now = self.server.now()
        start = parse_time(lo, now)
        end = min(parse_time(hi, now, end_of_day=True), now)
        state = decode_cursor(q["cursor"]) if q.get("cursor") else {}
        limit = int(state.get("limit", q.get("limit", 5000)))
        limit = min(limit, 50_000, self.server.page_limit or 50_000)
        offset = int(state.get("offset", 0))
        symbol = _our_symbol(ticker)
        # split-adjusted unless asked not to; a next_url cursor keeps the first request's choice
        adjusted = bool(state.get("adjusted", q.get("adjusted", "true") != "false"))
        rows = (
            []
            if self.server.is_unknown(symbol)
            else self._rows(symbol, mult, span, start, end, adjusted)
        )
        page = rows[offset : offset + limit]
        next_url = None
        if offset + limit < len(rows):
            cursor = encode_cursor({"offset": offset + limit, "limit": limit, "adjusted": adjusted})
            next_url = f"{self.server.url}{request.path}?cursor={cursor}"
        return json_response(_envelope(ticker, page, next_url, len(rows)))

    def _reference(self, kind: str, q: dict[str, str]) -> FakeResponse:
        """``/v3/reference/splits`` (``execution_date``, ``split_from``, ``split_to``) and
        ``/v3/reference/dividends`` (``ex_dividend_date``, ``cash_amount``), as documented at
        polygon.io/docs/stocks/get_v3_reference_splits and get_v3_reference_dividends."""
        symbol = q.get("ticker", "")
        field = "execution_date" if kind == "splits" else "ex_dividend_date"
        now = self.server.now()
        lo = pd.Timestamp(q.get(f"{field}.gte") or "1970-01-01", tz="UTC")
        hi = min(pd.Timestamp(q.get(f"{field}.lte") or now.date(), tz="UTC"), now)
        results: list[dict[str, Any]] = []
        if kind == "splits":
            for day, ratio in self.market.splits(symbol, lo, hi).items():
                results.append({"execution_date": f"{day:%Y-%m-%d}", "id": f"E{day:%Y%m%d}",
                                "split_from": 1, "split_to": ratio, "ticker": symbol})  # fmt: skip
        elif kind == "dividends":
            for day, amount in self.market.dividends(symbol, lo, hi).items():
                ex = f"{day:%Y-%m-%d}"
                paid = f"{day + pd.Timedelta(days=6):%Y-%m-%d}"
                declared = f"{day - pd.Timedelta(days=8):%Y-%m-%d}"
                results.append({"cash_amount": amount, "currency": "USD",
                                "declaration_date": declared, "dividend_type": "CD",
                                "ex_dividend_date": ex, "frequency": 4, "id": f"E{day:%Y%m%d}",
                                "pay_date": paid, "record_date": ex,
                                "ticker": symbol})  # fmt: skip
        else:
            return json_response({"status": "NOT_FOUND", "message": "Not found"}, 404)
        return json_response({"results": results, "status": "OK", "request_id": "req-ref"})

    def _rows(
        self,
        symbol: str,
        mult: int,
        span: str,
        start: pd.Timestamp,
        end: pd.Timestamp,
        adjusted: bool = True,
    ) -> list[dict[str, Any]]:
        if span in _MINUTES:
            frame = self.market.intraday(symbol, mult * _MINUTES[span], start, end, align="clock")
            times = frame.index
        elif span == "day":
            frame = self.market.daily(symbol, start, end)
            times = session_label_times(frame.index, "America/New_York")
        else:
            frame = self.market.periods(symbol, start, end, "w" if span == "week" else "M")
            labels = frame.index - pd.Timedelta(days=1) if span == "week" else frame.index
            times = session_label_times(pd.DatetimeIndex(labels), "America/New_York")
        if adjusted:
            dates = self.market.session_dates(symbol, pd.DatetimeIndex(times))
            frame = self.market.on_basis(symbol, frame, dates, self.server.now())
        return [
            {
                "v": float(row.volume),
                "vw": round((row.high + row.low + row.close) / 3, 4),
                "o": row.open,
                "c": row.close,
                "h": row.high,
                "l": row.low,
                "t": int(t.value // 1_000_000),
                "n": int(row.volume // 100) + 1,
            }
            for t, row in zip(times, frame.itertuples(), strict=True)
        ]


def _envelope(
    ticker: str, results: list[dict[str, Any]], next_url: str | None, total: int = 0
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ticker": ticker,
        "queryCount": total,
        "resultsCount": len(results),
        "adjusted": True,
        "status": "OK",
        "request_id": f"req-{total}-{len(results)}",
    }
    if results:
        body["results"] = results
        body["count"] = len(results)
    if next_url:
        body["next_url"] = next_url
    return body


ROUTES = PolygonRoutes
