"""Fake Alpaca market data v2: ``GET /v2/stocks/{symbol}/bars``.

Shape (docs.alpaca.markets, "Historical bars"): ``{"bars": [{"t", "o", "h", "l", "c", "v",
"n", "vw"}], "symbol", "next_page_token"}``; ``t`` is RFC 3339 UTC, daily bars at New York
midnight; ``limit`` defaults to 1000 and is capped at 10,000; an unknown symbol gives
``"bars": null``. Credentials: ``APCA-API-KEY-ID`` / ``APCA-API-SECRET-KEY`` headers.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from tests.fakes.market import IEX_SHARE
from tests.fakes.server import FakeRequest, FakeResponse, Fault, Routes, json_response
from tests.fakes.util import decode_cursor, encode_cursor, parse_time, session_label_times

_TF = re.compile(r"^(\d+)(Min|T|Hour|H|Day|D|Week|W|Month|M)$")


class AlpacaRoutes(Routes):
    data_path = "/v2/stocks/"

    def authenticate(self, request: FakeRequest) -> FakeResponse | None:
        ok = (
            request.headers.get("apca-api-key-id") == self.server.api_key
            and request.headers.get("apca-api-secret-key") == self.server.secret
        )
        if ok:
            return None
        return json_response({"code": 40110000, "message": "request is not authorized"}, 401)

    def fault(self, fault: Fault, request: FakeRequest) -> FakeResponse | None:
        symbol = request.path.split("/")[3] if request.path.count("/") >= 4 else ""
        if fault.kind in ("empty", "unknown_symbol"):
            return json_response({"bars": None, "symbol": symbol, "next_page_token": None})
        if fault.kind == "forbidden":
            return json_response({"message": "forbidden."}, 403)
        if fault.kind == "rate_limit":
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            return json_response({"message": "too many requests."}, 429, **headers)
        return None

    def handle(self, request: FakeRequest) -> FakeResponse:
        if request.path.rstrip("/") == "/v1/corporate-actions":
            return self._actions(request.query)
        parts = request.path.strip("/").split("/")
        if len(parts) != 4 or parts[:2] != ["v2", "stocks"] or parts[3] != "bars":
            return json_response({"message": "Not Found"}, 404)
        symbol = parts[2]
        q = request.query
        match = _TF.match(q.get("timeframe", ""))
        if not match:
            return json_response({"code": 42210000, "message": "invalid timeframe"}, 422)
        if not re.fullmatch(r"[A-Z][A-Z0-9.]{0,9}", symbol):
            return json_response({"code": 40010001, "message": f"invalid symbol: {symbol}"}, 400)
        now = self.server.now()
        start = parse_time(q.get("start"), now.normalize())
        end = min(parse_time(q.get("end"), now, end_of_day=True), now)
        limit = min(int(q.get("limit", 1000)), 10_000, self.server.page_limit or 10_000)
        bars = [] if self.server.is_unknown(symbol) else self._bars(symbol, match, start, end, q)
        offset = decode_cursor(q["page_token"])["offset"] if q.get("page_token") else 0
        page = bars[offset : offset + limit]
        more = offset + limit < len(bars)
        token = encode_cursor({"offset": offset + limit, "symbol": symbol}) if more else None
        return json_response({"bars": page or None, "symbol": symbol, "next_page_token": token})

    def _actions(self, q: dict[str, str]) -> FakeResponse:
        """``/v1/corporate-actions``: ``{"corporate_actions": {"forward_splits": [...],
        "cash_dividends": [...]}, "next_page_token": null}`` (field names as in the alpaca-data
        crate's model and @vicary/alpaca-sdk's types); ``start``/``end`` filter the process
        date (a split's ex-date, a dividend's pay date, here two weeks after the ex-date)."""
        now = self.server.now()
        lo = pd.Timestamp(q.get("start") or now.date(), tz="UTC")
        hi = min(pd.Timestamp(q.get("end") or now.date(), tz="UTC"), now)
        types = set((q.get("types") or "forward_split,cash_dividend").split(","))
        out: dict[str, list[dict[str, Any]]] = {}
        for symbol in filter(None, (q.get("symbols") or "").split(",")):
            if "forward_split" in types:
                for day, ratio in self.market.splits(symbol, lo, hi).items():
                    ex = f"{day:%Y-%m-%d}"
                    out.setdefault("forward_splits", []).append(
                        {"symbol": symbol, "new_rate": ratio, "old_rate": 1.0, "ex_date": ex,
                         "process_date": ex, "record_date": ex, "payable_date": ex}
                    )  # fmt: skip
            if "cash_dividend" in types:
                back = lo - pd.Timedelta(days=14)
                for day, rate in self.market.dividends(symbol, back, hi).items():
                    paid = day + pd.Timedelta(days=14)
                    if not lo <= paid <= hi:
                        continue
                    out.setdefault("cash_dividends", []).append(
                        {"symbol": symbol, "rate": rate, "special": False, "foreign": False,
                         "ex_date": f"{day:%Y-%m-%d}", "record_date": f"{day:%Y-%m-%d}",
                         "process_date": f"{paid:%Y-%m-%d}", "payable_date": f"{paid:%Y-%m-%d}"}
                    )  # fmt: skip
        return json_response({"corporate_actions": out, "next_page_token": None})

    def _bars(
        self,
        symbol: str,
        match: re.Match[str],
        start: pd.Timestamp,
        end: pd.Timestamp,
        q: dict[str, str],
    ) -> list[dict[str, Any]]:
        amount, unit = int(match.group(1)), match.group(2)
        if unit in ("Min", "T", "Hour", "H"):
            minutes = amount * (60 if unit.startswith("H") else 1)
            frame = self.market.intraday(symbol, minutes, start, end, align="clock")
            times = frame.index
        elif unit in ("Day", "D"):
            frame = self.market.daily(symbol, start, end)
            times = session_label_times(frame.index, "America/New_York")
        else:
            frame = self.market.periods(symbol, start, end, "w" if unit in ("Week", "W") else "M")
            frame = frame[
                (frame.index >= start.normalize() - pd.Timedelta(days=31)) & (frame.index <= end)
            ]
            times = session_label_times(frame.index, "America/New_York")
        # adjustment: raw by default ("Omitting the parameter still defaults to raw",
        # docs.alpaca.markets changelog); "split" divides prices by later splits
        if q.get("adjustment", "raw") in ("split", "all"):
            dates = self.market.session_dates(symbol, pd.DatetimeIndex(times))
            frame = self.market.on_basis(symbol, frame, dates, self.server.now())
        if q.get("feed", "iex") == "iex":  # the free feed: IEX-exchange volume only
            frame = frame.assign(volume=np.floor(frame["volume"].to_numpy() * IEX_SHARE))
        return [
            {
                "t": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "o": row.open,
                "h": row.high,
                "l": row.low,
                "c": row.close,
                "v": int(row.volume),
                "n": int(row.volume // 100) + 1,
                "vw": round((row.high + row.low + row.close) / 3, 4),
            }
            for t, row in zip(times, frame.itertuples(), strict=True)
        ]


ROUTES = AlpacaRoutes
