"""Fake Tiingo: ``/tiingo/daily/{ticker}/prices`` and ``/iex/{ticker}/prices``.

Shapes (api.tiingo.com/documentation/end-of-day and /iex): end-of-day rows ``{"date":
"2024-03-08T00:00:00.000Z", "close", "high", "low", "open", "volume", "adjClose", "adjHigh",
"adjLow", "adjOpen", "adjVolume", "divCash", "splitFactor"}``; weekly rows dated by the week's
last session (Friday), monthly by the month's last session; IEX rows ``{"date":
"2024-03-08T14:30:00.000Z", "open", "high", "low", "close", "volume"}`` (bar opens, UTC).
Unknown ticker: 404 ``{"detail": "Error: Ticker 'X' not found"}``. Auth: ``Authorization:
Token <key>`` or ``token=``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from tests.fakes.market import IEX_SHARE
from tests.fakes.server import FakeRequest, FakeResponse, Fault, Routes, json_response
from tests.fakes.util import parse_time

_FREQ = re.compile(r"^(\d+)(min|hour)$")


def _iso(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class TiingoRoutes(Routes):
    data_path = "/prices"

    def authenticate(self, request: FakeRequest) -> FakeResponse | None:
        header = request.headers.get("authorization", "")
        key = header[6:] if header.startswith("Token ") else request.query.get("token")
        if key == self.server.api_key:
            return None
        return json_response({"detail": "Invalid token."}, 401)

    def fault(self, fault: Fault, request: FakeRequest) -> FakeResponse | None:
        ticker = request.path.strip("/").split("/")[-2] if "/" in request.path else ""
        if fault.kind == "empty":
            return json_response([])
        if fault.kind == "unknown_symbol":
            return json_response({"detail": f"Error: Ticker '{ticker}' not found"}, 404)
        if fault.kind == "rate_limit":
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            detail = (
                "Error: You have run over your hourly request allocation. Please upgrade at "
                "https://api.tiingo.com/pricing to have your limits increased."
            )
            return json_response({"detail": detail}, 429, **headers)
        return None

    def handle(self, request: FakeRequest) -> FakeResponse:
        parts = request.path.strip("/").split("/")
        q = request.query
        now = self.server.now()
        if len(parts) == 4 and parts[:2] == ["tiingo", "daily"] and parts[3] == "prices":
            ticker = parts[2]
        elif len(parts) == 3 and parts[0] == "iex" and parts[2] == "prices":
            ticker = parts[1]
        else:
            return json_response({"detail": "Not found."}, 404)
        symbol = ticker.upper()
        if self.server.is_unknown(symbol):
            return json_response({"detail": f"Error: Ticker '{ticker}' not found"}, 404)
        start = parse_time(q.get("startDate"), now - pd.Timedelta(days=30))
        end = min(parse_time(q.get("endDate"), now, end_of_day=True), now)
        if parts[0] == "iex":
            return json_response(self._iex(symbol, q.get("resampleFreq", "5min"), start, end))
        return json_response(self._daily(symbol, q.get("resampleFreq", "daily"), start, end))

    def _iex(self, symbol: str, freq: str, start: pd.Timestamp, end: pd.Timestamp) -> Any:
        match = _FREQ.match(freq)
        if not match:
            return {"detail": f"Error: resampleFreq {freq} is not valid"}
        minutes = int(match.group(1)) * (60 if match.group(2) == "hour" else 1)
        frame = self.market.intraday(symbol, minutes, start, end, align="clock")
        # /iex bars carry IEX-exchange volume only (api.tiingo.com/documentation/iex)
        frame = frame.assign(volume=np.floor(frame["volume"].to_numpy() * IEX_SHARE))
        return [
            {
                "date": _iso(t),
                "open": r.open,
                "high": r.high,
                "low": r.low,
                "close": r.close,
                "volume": float(r.volume),
            }
            for t, r in zip(frame.index, frame.itertuples(), strict=True)
        ]

    def _daily(self, symbol: str, freq: str, start: pd.Timestamp, end: pd.Timestamp) -> Any:
        if freq == "daily":
            frame = self.market.daily(symbol, start, end)
            dates = frame.index
        elif freq in ("weekly", "monthly"):
            frame = self.market.periods(symbol, start, end, "w" if freq == "weekly" else "M")
            frame = frame[frame["last_session"] >= start.normalize()]
            dates = pd.DatetimeIndex(frame["last_session"])
        else:
            return {"detail": f"Error: resampleFreq {freq} is not valid"}
        now = self.server.now()
        factor = self.market.adjustment(symbol, dates, now)
        divs = self.market.dividends(symbol, start, end)
        splits = self.market.splits(symbol, start, end)
        # raw OHLCV plus adj* (split- and dividend-adjusted as of today), divCash and
        # splitFactor on the ex-date (api.tiingo.com/documentation/end-of-day)
        adj = self.market.on_basis(symbol, frame, pd.DatetimeIndex(dates), now)
        rows = []
        for (t, r, a), f in zip(
            zip(dates, frame.itertuples(), adj.itertuples(), strict=True), factor, strict=True
        ):
            rows.append(
                {
                    "date": _iso(t),
                    "close": r.close,
                    "high": r.high,
                    "low": r.low,
                    "open": r.open,
                    "volume": int(r.volume),
                    "adjClose": round(a.close * f, 4),
                    "adjHigh": round(a.high * f, 4),
                    "adjLow": round(a.low * f, 4),
                    "adjOpen": round(a.open * f, 4),
                    "adjVolume": round(a.volume),
                    "divCash": float(divs.get(t, 0.0)),
                    "splitFactor": float(splits.get(t, 1.0)),
                }
            )
        return rows


ROUTES = TiingoRoutes
