"""The push loop shared by every simulated websocket: subscriptions, pacing, closes and faults.

A :class:`StreamSession` serves one connection. For each subscription it sends, in sim time, one
"closed" message for every bar that closes (exactly once, oldest first, with the final values)
and periodic updates of the open bar. Exchange modules supply how a message looks
(:class:`Renderer`) and how client requests are answered. Drops abort the TCP connection without
a close frame; silences send nothing (not even application pongs) for a while.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

import tradedata.sim.timeframes as tfs
from tradedata.sim.bars import Bars
from tradedata.sim.market import Market
from tradedata.sim.state import SimState

Renderer = Callable[["Subscription", Bars, bool, int], Any]
_MAX_CATCH_UP = 500


@dataclass
class Subscription:
    """One kline stream on one connection."""

    name: str
    market: Market
    timeframe: str
    render: Renderer
    last_closed: int | None = None  # open time of the last bar sent as closed
    next_update: float = 0.0  # monotonic time the next open-bar update is due
    #: joins a closed-bar message and the new open bar's into one message (Bybit linear)
    bundle: Callable[[Any, Any], Any] | None = None


class StreamSession:
    """One websocket connection: its subscriptions and the task pushing their candles."""

    def __init__(
        self,
        state: SimState,
        request: web.Request,
        ws: web.WebSocketResponse,
        lifetime: float | None = None,
    ) -> None:
        self.state = state
        self.request = request
        self.ws = ws
        self.lifetime = lifetime  # wall seconds before the server closes the connection
        self.subscriptions: dict[str, Subscription] = {}
        self._wake = asyncio.Event()
        self._data_messages = 0
        self._silent_until = 0.0
        self._interval = state.streams.wall_interval(state.clock.speed)

    @property
    def silent(self) -> bool:
        """True while an injected silence lasts."""
        return time.monotonic() < self._silent_until

    def subscribe(self, sub: Subscription) -> None:
        """Start pushing ``sub`` (no-op if a stream of that name is already pushed)."""
        if sub.name not in self.subscriptions:
            self.subscriptions[sub.name] = sub
            self.state.stats.add("ws_subscriptions")
            self._wake.set()

    def unsubscribe(self, name: str) -> None:
        """Stop pushing the stream ``name``."""
        self.subscriptions.pop(name, None)

    async def send_json(self, payload: Any) -> None:
        """Send a control message (subscription answer, pong) unless silenced."""
        if not self.silent and not self.ws.closed:
            await self.ws.send_str(json.dumps(payload, separators=(",", ":")))

    async def serve(self, on_text: Callable[[str], Any]) -> None:
        """Read client messages (handing text to ``on_text``) while pushing, until closed."""
        self.state.stats.add("ws_connections")
        self.state.stats.add("ws_open")
        self.state.sessions.add(self)
        pusher = asyncio.create_task(self._push_loop())
        if self.lifetime is not None:
            asyncio.get_running_loop().call_later(
                self.lifetime, lambda: asyncio.ensure_future(self._expire())
            )
        try:
            async for msg in self.ws:
                if msg.type == WSMsgType.TEXT:
                    await on_text(msg.data)
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            pusher.cancel()
            await asyncio.gather(pusher, return_exceptions=True)
            self.state.sessions.discard(self)
            self.state.stats.add("ws_open", -1)

    async def _expire(self) -> None:
        """The connection's lifetime is over: close it with a close frame (code 1000)."""
        if not self.ws.closed:
            self.state.stats.count("faults", "ws_lifetime")
            with contextlib.suppress(ConnectionError, asyncio.TimeoutError):
                await asyncio.wait_for(self.ws.close(code=1000, message=b"lifetime"), 1.0)

    async def close(self, timeout: float = 1.0) -> None:
        """Close the connection politely (code 1001), or abort it after ``timeout`` seconds."""
        try:
            await asyncio.wait_for(self.ws.close(code=1001, message=b"server shutdown"), timeout)
        except (asyncio.TimeoutError, ConnectionError):
            transport = self.request.transport
            if transport is not None:
                transport.abort()

    async def _push_loop(self) -> None:
        try:
            await self._push_forever()
        except ConnectionError:
            return  # the client went away (or a drop was injected) mid-send

    async def _push_forever(self) -> None:
        while not self.ws.closed:
            wait = self._silent_until - time.monotonic()
            if wait <= 0:
                await self._push_due()
                wait = self._next_wait()
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, wait))

    def _next_wait(self) -> float:
        now_wall = time.monotonic()
        waits = [self._interval]
        now = self.state.clock.now_ms()
        delay = self._delay_ms
        for sub in self.subscriptions.values():
            waits.append(sub.next_update - now_wall)
            closing = tfs.shift(tfs.floor_open(now - delay, sub.timeframe), 1, sub.timeframe)
            until_close = self.state.clock.wall_seconds_until(closing + delay)
            if until_close is not None:
                waits.append(until_close + 0.001)
        return max(0.0, min(waits))

    async def _push_due(self) -> None:
        now = self.state.clock.now_ms()
        for sub in list(self.subscriptions.values()):
            if self.ws.closed or self.silent:
                return
            await self._push_closed(sub, now)
            current = tfs.floor_open(now, sub.timeframe)
            closing = sub.last_closed is not None and sub.last_closed < tfs.shift(
                current, -1, sub.timeframe
            )  # the previous bar's close is still due: the new bar is not shown before it
            if time.monotonic() >= sub.next_update and not self.silent and not closing:
                bars = sub.market.klines(sub.timeframe, current, current, 1, now)
                if len(bars) and int(bars.open_time[0]) == current:
                    await self._send_data(sub.render(sub, bars, False, now))
                sub.next_update = time.monotonic() + self._interval

    @property
    def _delay_ms(self) -> int:
        return int(self.state.streams.close_delay * 1000)

    async def _push_closed(self, sub: Subscription, now: int) -> None:
        # a bar's closed message goes out close_delay after its end (see StreamSettings)
        current = tfs.floor_open(now - self._delay_ms, sub.timeframe)
        last = tfs.shift(current, -1, sub.timeframe)
        if sub.last_closed is None:
            sub.last_closed = last
            return
        if sub.last_closed >= last:
            return
        first = tfs.shift(sub.last_closed, 1, sub.timeframe)
        bars = sub.market.klines(sub.timeframe, first, last, _MAX_CATCH_UP, now)
        for i in range(len(bars)):
            row = bars.take(slice(i, i + 1))
            payload = sub.render(sub, row, True, now)
            if sub.bundle is not None and i == len(bars) - 1:
                payload = self._with_open_bar(sub, payload, int(row.open_time[0]), now)
            await self._send_data(payload)
            sub.last_closed = int(row.open_time[0])
            if self.ws.closed or self.silent:
                return
        if not len(bars) or len(bars) < _MAX_CATCH_UP:
            sub.last_closed = max(sub.last_closed, last)

    def _with_open_bar(self, sub: Subscription, payload: Any, closed_open: int, now: int) -> Any:
        """``payload`` joined with the bar that opened when ``closed_open``'s bar closed."""
        opened = tfs.shift(closed_open, 1, sub.timeframe)
        if sub.bundle is None or tfs.floor_open(now, sub.timeframe) != opened:
            return payload
        bars = sub.market.klines(sub.timeframe, opened, opened, 1, now)
        if not len(bars) or int(bars.open_time[0]) != opened:
            return payload
        sub.next_update = time.monotonic() + self._interval
        return sub.bundle(payload, sub.render(sub, bars, False, now))

    async def _send_data(self, payload: Any) -> None:
        if self.ws.closed:
            return
        await self.ws.send_str(json.dumps(payload, separators=(",", ":")))
        self._data_messages += 1
        self.state.stats.add("ws_messages")
        self._maybe_fault()

    def _due(self, every: int | None, rate: float) -> bool:
        """True if the fault with this period / rate hits the message just sent."""
        periodic = bool(every) and self._data_messages % int(every or 1) == 0
        return periodic or self.state.dice.chance(rate)

    def _maybe_fault(self) -> None:
        faults = self.state.faults
        if self._due(faults.ws_drop_every, faults.ws_drop_rate):
            self.state.stats.count("faults", "ws_drop")
            transport = self.request.transport
            if transport is not None:
                transport.abort()
            return
        silence = faults.ws_silence_seconds
        if silence > 0 and self._due(faults.ws_silence_every, faults.ws_silence_rate):
            self.state.stats.count("faults", "ws_silence")
            self._silent_until = time.monotonic() + silence
