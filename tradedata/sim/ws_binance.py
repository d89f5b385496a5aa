"""Binance's market-stream websocket: raw ``/ws/<stream>``, combined ``/stream?streams=a/b`` and
the ``SUBSCRIBE``/``UNSUBSCRIBE``/``LIST_SUBSCRIPTIONS``/``SET_PROPERTY`` methods ccxt.pro uses.

Kline payloads carry the ``k`` object (t, T, s, i, f, L, o, c, h, l, v, n, x, q, V, Q, B);
combined connections wrap them as ``{"stream": name, "data": payload}``. Streams Binance has but
the simulator does not (trades, depth) and unknown symbols are accepted and stay quiet, as on
Binance; names without ``@`` are refused with error code 2.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

import tradedata.sim.timeframes as tfs
from tradedata.sim.bars import Bars, format_fixed
from tradedata.sim.binance import EXCHANGE, INTERVALS
from tradedata.sim.state import SimState
from tradedata.sim.streams import StreamSession, Subscription

_TRADE_ID_STRIDE = 100_000  # trade ids per minute, for the k.f / k.L fields


class BinanceConnection:
    """One Binance stream connection: raw or combined framing over a :class:`StreamSession`."""

    def __init__(self, session: StreamSession, combined: bool) -> None:
        self.session = session
        self.combined = combined

    def stream(self, name: str) -> Subscription | None:
        """A kline subscription for stream ``name`` if it names a simulated market."""
        symbol, _, kind = name.partition("@")
        if not kind.startswith("kline_"):
            return None
        interval = kind[len("kline_") :]
        market = self.session.state.market(EXCHANGE, symbol)
        if market is None or interval not in INTERVALS:
            return None
        return Subscription(name=name, market=market, timeframe=interval, render=self.render)

    def render(self, sub: Subscription, bar: Bars, closed: bool, now: int) -> dict[str, Any]:
        """The kline event for a one-row ``bar``."""
        o, h, lo, c, v, q, vb, qb = (
            format_fixed(getattr(bar, f))[0]
            for f in (
                "open",
                "high",
                "low",
                "close",
                "volume",
                "quote_volume",
                "taker_base",
                "taker_quote",
            )
        )
        open_ms = int(bar.open_time[0])
        trades = int(bar.trades[0])
        first_id = (open_ms // tfs.MINUTE_MS) * _TRADE_ID_STRIDE if trades else -1
        k = {
            "t": open_ms,
            "T": int(tfs.close_times(bar.open_time, sub.timeframe)[0]),
            "s": sub.market.market_id,
            "i": sub.timeframe,
            "f": first_id,
            "L": first_id + trades - 1 if trades else -1,
            "o": o,
            "c": c,
            "h": h,
            "l": lo,
            "v": v,
            "n": trades,
            "x": closed,
            "q": q,
            "V": vb,
            "Q": qb,
            "B": "0",
        }
        payload = {"e": "kline", "E": now, "s": sub.market.market_id, "k": k}
        return {"stream": sub.name, "data": payload} if self.combined else payload

    async def on_text(self, text: str) -> None:
        """Answer one client request (JSON with ``method``, ``params``, ``id``)."""
        try:
            request = json.loads(text)
        except ValueError as e:
            await self.session.send_json({"error": {"code": 3, "msg": f"Invalid JSON: {e}"}})
            return
        if not isinstance(request, dict):
            await self._error(2, "Invalid request: expected an object", None)
            return
        ident = request.get("id")
        method, params = request.get("method"), request.get("params", [])
        handler = {
            "SUBSCRIBE": self._subscribe,
            "UNSUBSCRIBE": self._unsubscribe,
            "LIST_SUBSCRIPTIONS": self._list,
            "SET_PROPERTY": self._set_property,
            "GET_PROPERTY": self._get_property,
        }.get(str(method))
        if handler is None:
            await self._error(2, f"Invalid request: unknown variant {method}", ident)
            return
        await handler(params if isinstance(params, list) else [], ident)

    async def _error(self, code: int, msg: str, ident: Any) -> None:
        await self.session.send_json({"error": {"code": code, "msg": msg}, "id": ident})

    async def _subscribe(self, params: list[Any], ident: Any) -> None:
        if not all(isinstance(p, str) and "@" in p for p in params):
            await self._error(2, "Invalid request: invalid stream name", ident)
            return
        for name in params:
            sub = self.stream(name)
            if sub is not None:
                self.session.subscribe(sub)
        await self.session.send_json({"result": None, "id": ident})

    async def _unsubscribe(self, params: list[Any], ident: Any) -> None:
        for name in params:
            self.session.unsubscribe(str(name))
        await self.session.send_json({"result": None, "id": ident})

    async def _list(self, params: list[Any], ident: Any) -> None:
        await self.session.send_json({"result": list(self.session.subscriptions), "id": ident})

    async def _set_property(self, params: list[Any], ident: Any) -> None:
        if len(params) != 2 or params[0] != "combined" or not isinstance(params[1], bool):
            await self._error(0, "Unknown property", ident)
            return
        self.combined = params[1]
        await self.session.send_json({"result": None, "id": ident})

    async def _get_property(self, params: list[Any], ident: Any) -> None:
        if params != ["combined"]:
            await self._error(0, "Unknown property", ident)
            return
        await self.session.send_json({"result": self.combined, "id": ident})


class BinanceStreams:
    """aiohttp handlers for Binance's stream endpoints."""

    def __init__(self, state: SimState) -> None:
        self.state = state

    def routes(self) -> list[web.RouteDef]:
        """``/ws``, ``/ws/<streams>`` and ``/stream``."""
        return [
            web.get("/ws", self.raw),
            web.get("/ws/{streams:.*}", self.raw),
            web.get("/stream", self.combined),
        ]

    async def raw(self, request: web.Request) -> web.WebSocketResponse:
        """A raw connection; the path may name streams (``/ws/btcusdt@kline_1m``)."""
        names = [n for n in request.match_info.get("streams", "").split("/") if n]
        return await self._serve(request, names, combined=False)

    async def combined(self, request: web.Request) -> web.WebSocketResponse:
        """A combined connection: ``/stream?streams=a@kline_1m/b@kline_1m``."""
        names = [n for n in request.query.get("streams", "").split("/") if n]
        return await self._serve(request, names, combined=True)

    async def _serve(
        self, request: web.Request, names: list[str], combined: bool
    ) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=self.state.streams.ping_interval)
        await ws.prepare(request)
        lifetime = self.state.streams.connection_lifetime  # Binance's 24-hour cut
        session = StreamSession(self.state, request, ws, lifetime=lifetime)
        connection = BinanceConnection(session, combined)
        for name in names:
            sub = connection.stream(name)
            if sub is not None:
                connection.session.subscribe(sub)
        await connection.session.serve(connection.on_text)
        return ws
