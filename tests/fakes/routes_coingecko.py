"""Fake CoinGecko: ``/api/v3/coins/{id}/ohlc`` and ``/api/v3/coins/list``.

Shapes (docs.coingecko.com, "Coin OHLC Chart by ID"): ``[[1709395200000, 61942, 62211, 61721,
61845], ...]`` where the timestamp is the candle's close time; ``days`` in 1/7/14/30/90/180/365/
max with automatic granularity (1-2 days: 30 minutes, 3-30 days: 4 hours, more: 4 days); the
current, unfinished candle is included. ``/coins/list``: ``[{"id", "symbol", "name"}]``.
Unknown coin: 404 ``{"error": "coin not found"}``; rate limit: 429 ``{"status": {"error_code":
429, "error_message": ...}}``.
"""

from __future__ import annotations

import pandas as pd

from tests.fakes.server import FakeRequest, FakeResponse, Fault, Routes, json_response

_IDS = {
    "bitcoin": "BTC", "ethereum": "ETH", "solana": "SOL", "binancecoin": "BNB", "ripple": "XRP",
    "cardano": "ADA", "dogecoin": "DOGE", "fakecoin": "FKC", "dupcoin-one": "DUP",
    "dupcoin-two": "DUP",
}  # fmt: skip
_DAYS = {"1", "7", "14", "30", "90", "180", "365", "max"}


class CoinGeckoRoutes(Routes):
    data_path = "/ohlc"

    def authenticate(self, request: FakeRequest) -> FakeResponse | None:
        key = request.headers.get("x-cg-demo-api-key") or request.headers.get("x-cg-pro-api-key")
        if key is None or key == self.server.api_key:
            return None  # keyless public access is allowed
        return json_response(
            {"status": {"error_code": 10002, "error_message": "API Key Missing or invalid"}}, 401
        )

    def fault(self, fault: Fault, request: FakeRequest) -> FakeResponse | None:
        if fault.kind == "empty":
            return json_response([])
        if fault.kind == "unknown_symbol":
            return json_response({"error": "coin not found"}, 404)
        if fault.kind == "rate_limit":
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            body = {
                "status": {
                    "error_code": 429,
                    "error_message": "You've exceeded the Rate Limit. Please visit "
                    "https://www.coingecko.com/en/api/pricing to subscribe to our API plans for "
                    "higher rate limits.",
                }
            }
            return json_response(body, 429, **headers)
        return None

    def handle(self, request: FakeRequest) -> FakeResponse:
        parts = request.path.strip("/").split("/")
        if parts == ["api", "v3", "coins", "list"]:
            return json_response(
                [
                    {"id": i, "symbol": s.lower(), "name": i.replace("-", " ").title()}
                    for i, s in _IDS.items()
                ]
            )
        if len(parts) != 5 or parts[:3] != ["api", "v3", "coins"] or parts[4] != "ohlc":
            return json_response({"error": "Not Found"}, 404)
        coin = parts[3]
        if coin not in _IDS or self.server.is_unknown(coin.upper()):
            return json_response({"error": "coin not found"}, 404)
        days = request.query.get("days", "")
        if days not in _DAYS:
            return json_response({"error": "invalid days"}, 400)
        span = 1000.0 if days == "max" else float(days)
        minutes = 30 if span <= 2 else 240 if span <= 30 else 5760
        vs = request.query.get("vs_currency", "usd").upper()
        symbol = f"{_IDS[coin]}/{vs}"
        now = self.server.now()
        step = pd.Timedelta(minutes=minutes)
        first_open = (now - pd.Timedelta(days=span)).floor(step)
        opens = pd.date_range(first_open, now, freq=step)  # the last one is still open
        frame = self.market.bars(symbol, opens, opens + step)
        rows = [
            [int((t + step).value // 1_000_000), r.open, r.high, r.low, r.close]
            for t, r in zip(frame.index, frame.itertuples(), strict=True)
        ]
        return json_response(rows)


ROUTES = CoinGeckoRoutes
