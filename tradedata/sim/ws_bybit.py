"""Bybit's v5 public websocket (``/v5/public/spot`` and ``/v5/public/linear``):
``subscribe``/``unsubscribe`` to ``kline.<interval>.<symbol>`` topics and the application-level
``{"op": "ping"}``.

Pushes look like ``{"topic": "kline.5.BTCUSDT", "data": [{start, end, interval, open, close,
high, low, volume, turnover, confirm, timestamp}], "ts": ..., "type": "snapshot"}`` (shape as
recorded in nautilus_trader crates/adapters/bybit/test_data/ws_kline.json) with ``confirm``
true exactly once per closed bar. ``data`` is a list: on the linear stream the closing bar
(``confirm`` true) and the newly opened bar (``confirm`` false) come in one message, which is
what issue 10 observed on Bybit linear and why Bybit clients must check ``confirm`` per element.
The simulated markets are served on both categories with the same candles. Answers follow
Bybit's spot shapes (``{"success": true, "ret_msg": "pong", "conn_id": ..., "op": "ping"}``).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from aiohttp import web

import tradedata.sim.timeframes as tfs
from tradedata.sim.bars import Bars, format_plain
from tradedata.sim.bybit import EXCHANGE, INTERVALS
from tradedata.sim.state import SimState
from tradedata.sim.streams import StreamSession, Subscription

_INTERVAL_OF = {tf: code for code, tf in INTERVALS.items()}


#: Categories whose public stream serves the simulated markets.
STREAM_CATEGORIES = ("spot", "linear")


def _bundle(closed: dict[str, Any], opened: dict[str, Any]) -> dict[str, Any]:
    """One push holding the closing bar and then the newly opened bar (Bybit linear)."""
    return {**opened, "data": [*closed["data"], *opened["data"]]}


class BybitConnection:
    """One Bybit public connection for one category (only ``spot`` has markets)."""

    def __init__(self, session: StreamSession, category: str) -> None:
        self.session = session
        self.category = category
        self.conn_id = str(uuid.uuid4())

    def topic(self, name: str) -> Subscription | None:
        """A kline subscription for ``kline.<interval>.<symbol>``, or None if not simulated."""
        parts = name.split(".")
        if len(parts) != 3 or parts[0] != "kline" or parts[1] not in INTERVALS:
            return None
        market = self.session.state.market(EXCHANGE, parts[2])
        if market is None or self.category not in STREAM_CATEGORIES:
            return None
        if parts[2] != market.market_id:
            return None
        bundle = _bundle if self.category == "linear" else None
        return Subscription(name, market, INTERVALS[parts[1]], self.render, bundle=bundle)

    def render(self, sub: Subscription, bar: Bars, closed: bool, now: int) -> dict[str, Any]:
        """The kline push for a one-row ``bar``."""
        o, c, h, lo, v, t = (
            format_plain(getattr(bar, f))[0]
            for f in ("open", "close", "high", "low", "volume", "quote_volume")
        )
        item = {
            "start": int(bar.open_time[0]),
            "end": int(tfs.close_times(bar.open_time, sub.timeframe)[0]),
            "interval": _INTERVAL_OF[sub.timeframe],
            "open": o,
            "close": c,
            "high": h,
            "low": lo,
            "volume": v,
            "turnover": t,
            "confirm": closed,
            "timestamp": now,
        }
        return {"topic": sub.name, "data": [item], "ts": now, "type": "snapshot"}

    async def on_text(self, text: str) -> None:
        """Answer one client request (``op`` subscribe / unsubscribe / ping)."""
        try:
            request = json.loads(text)
        except ValueError:
            request = None
        if not isinstance(request, dict):
            await self._answer(False, "error:request not json", "", None)
            return
        op, req_id = request.get("op"), request.get("req_id")
        args = request.get("args") or []
        if op == "ping":
            await self._answer(True, "pong", "ping", req_id)
        elif op == "subscribe":
            await self._subscribe(args, req_id)
        elif op == "unsubscribe":
            for name in args:
                self.session.unsubscribe(str(name))
            await self._answer(True, "", "unsubscribe", req_id)
        else:
            await self._answer(False, f"error:handler not found,op:{op}", str(op), req_id)

    async def _subscribe(self, args: list[Any], req_id: Any) -> None:
        subs = [self.topic(str(a)) for a in args]
        bad = [str(a) for a, s in zip(args, subs, strict=True) if s is None]
        if bad or not args:
            await self._answer(False, f"Invalid topic :[{','.join(bad)}]", "subscribe", req_id)
            return
        for sub in subs:
            assert sub is not None
            self.session.subscribe(sub)
        await self._answer(True, "subscribe", "subscribe", req_id)

    async def _answer(self, success: bool, ret_msg: str, op: str, req_id: Any) -> None:
        payload: dict[str, Any] = {"success": success, "ret_msg": ret_msg, "conn_id": self.conn_id}
        if req_id is not None:
            payload["req_id"] = req_id
        payload["op"] = op
        await self.session.send_json(payload)


class BybitStreams:
    """aiohttp handler for ``/v5/public/{category}``."""

    def __init__(self, state: SimState) -> None:
        self.state = state

    def routes(self) -> list[web.RouteDef]:
        """The public stream endpoint of every category."""
        return [web.get("/v5/public/{category}", self.public)]

    async def public(self, request: web.Request) -> web.WebSocketResponse:
        """One public connection."""
        ws = web.WebSocketResponse(heartbeat=self.state.streams.ping_interval)
        await ws.prepare(request)
        session = StreamSession(self.state, request, ws)
        connection = BybitConnection(session, request.match_info["category"])
        await session.serve(connection.on_text)
        return ws
