"""The aiohttp application: every exchange's routes on one port, behind one middleware that
counts requests, applies the rate limits and injects HTTP faults.

Order per request: count it; websocket upgrades pass straight through; the exchange's rate
limiter may refuse it (429/418, Bybit's 10006); then, if faults apply to the path, latency, a 5xx,
or one body fault (malformed JSON, a truncated body, an empty page, a slow body).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable

from aiohttp import web

from tradedata.sim.faults import Faults
from tradedata.sim.protocol import EMPTY_PAGE, RestProtocol
from tradedata.sim.ratelimit import Verdict, WindowLimiter
from tradedata.sim.state import SimState

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def limiter_settings(protocol: RestProtocol, faults: Faults) -> tuple[int, float, float | None]:
    """(limit, window seconds, ban seconds or None) for ``protocol`` under ``faults``."""
    limit = faults.rate_limit if faults.rate_limit is not None else protocol.default_rate_limit
    window = faults.rate_window if faults.rate_window is not None else protocol.default_rate_window
    return limit, window, faults.ban_seconds if protocol.bans else None


def configure_limiters(state: SimState, protocols: list[RestProtocol]) -> None:
    """Create or update each exchange's limiter from the current faults."""
    for p in protocols:
        settings = limiter_settings(p, state.faults)
        limiter = state.limiters.get(p.exchange)
        if limiter is None:
            state.limiters[p.exchange] = WindowLimiter(*settings)
        else:
            limiter.configure(*settings)


class FaultMiddleware:
    """The one middleware: stats, rate limits and HTTP fault injection."""

    def __init__(self, state: SimState, protocols: list[RestProtocol]) -> None:
        self.state = state
        self.protocols = protocols

    def _protocol(self, path: str) -> RestProtocol | None:
        return next((p for p in self.protocols if p.owns(path)), None)

    async def handle(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Serve ``request`` through ``handler`` with accounting and faults."""
        stats = self.state.stats
        stats.add("requests")
        stats.count("by_path", request.path)
        protocol = self._protocol(request.path)
        if protocol is None or protocol.is_websocket(request.path):
            if protocol is None:
                stats.count("unknown_paths", request.path)
            return await self._plain(request, handler)
        faults = self.state.faults
        verdict = self.state.limiters[protocol.exchange].charge(protocol.weight(request))
        if faults.latency and faults.applies_to(request.path):
            stats.count("faults", "latency")
            await asyncio.sleep(faults.latency)
        if verdict.status != 200:
            return self._record(self._refused(protocol, verdict))
        if not faults.applies_to(request.path):
            return self._record(await self._handle(request, handler, protocol, verdict))
        status = self.state.dice.http_error(faults)
        if status is not None:
            stats.count("faults", f"http_{status}")
            return self._record(protocol.server_error(status))
        fault = self.state.dice.body_fault(faults, protocol.is_page(request.path))
        if fault == "empty":
            request[EMPTY_PAGE] = True
        response = await self._handle(request, handler, protocol, verdict)
        if fault is not None and _is_json_ok(response):
            stats.count("faults", fault)
            if fault != "empty":
                assert isinstance(response, web.Response)
                return self._record(await self._corrupt(request, response, fault, faults))
        return self._record(response)

    async def _plain(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as e:
            self.state.stats.count("by_status", e.status)
            raise

    async def _handle(
        self, request: web.Request, handler: Handler, protocol: RestProtocol, verdict: Verdict
    ) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as e:
            response = web.Response(status=e.status, text=e.text or e.reason)
        response.headers.update(protocol.limit_headers(verdict))
        return response

    def _refused(self, protocol: RestProtocol, verdict: Verdict) -> web.Response:
        if verdict.status == 418:
            self.state.stats.add("http_418")
        elif protocol.bans:
            self.state.stats.add("http_429")
        else:
            self.state.stats.add("bybit_rate_limited")
        return protocol.limited(verdict)

    def _record(self, response: web.StreamResponse) -> web.StreamResponse:
        self.state.stats.count("by_status", response.status)
        return response

    async def _corrupt(
        self, request: web.Request, response: web.Response, fault: str, faults: Faults
    ) -> web.StreamResponse:
        body = bytes(response.body)  # type: ignore[arg-type]
        dice = self.state.dice
        if fault == "malformed":
            middle = len(body) // 2
            return _copy(response, body[:middle] + b"\x00#!{" + body[middle:])
        if fault == "truncated":
            cut = dice.cut_point(len(body))
            if dice.chance(0.5):
                return _copy(response, body[:cut])
            return await _send_short(request, response, body, cut)
        return await _send_slow(request, response, body, faults)


def _is_json_ok(response: web.StreamResponse) -> bool:
    return (
        isinstance(response, web.Response)
        and response.status == 200
        and response.content_type == "application/json"
        and response.body is not None
    )


def _copy(response: web.Response, body: bytes) -> web.Response:
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    headers.pop("Content-Type", None)
    return web.Response(
        body=body, status=response.status, headers=headers, content_type=response.content_type
    )


def _stream_headers(response: web.Response) -> dict[str, str]:
    skip = {"content-length", "content-type"}
    return {k: v for k, v in response.headers.items() if k.lower() not in skip}


async def _send_short(
    request: web.Request, response: web.Response, body: bytes, cut: int
) -> web.StreamResponse:
    """Promise ``len(body)`` bytes, send ``cut`` of them, then cut the connection."""
    stream = web.StreamResponse(status=response.status, headers=_stream_headers(response))
    stream.content_type = response.content_type
    stream.content_length = len(body)
    await stream.prepare(request)
    await stream.write(body[:cut])
    await asyncio.sleep(0.01)
    transport = request.transport
    if transport is not None:
        transport.abort()
    return stream  # aiohttp ignores the failed end-of-body write on the aborted connection


async def _send_slow(
    request: web.Request, response: web.Response, body: bytes, faults: Faults
) -> web.StreamResponse:
    """Send ``body`` in ``faults.slow_body_chunks`` pieces, ``slow_body_delay`` apart."""
    stream = web.StreamResponse(status=response.status, headers=_stream_headers(response))
    stream.content_type = response.content_type
    stream.content_length = len(body)
    await stream.prepare(request)
    step = max(1, -(-len(body) // faults.slow_body_chunks))
    for i in range(0, len(body), step):
        if i:
            await asyncio.sleep(faults.slow_body_delay)
        await stream.write(body[i : i + step])
    await stream.write_eof()
    return stream


def build_app(
    state: SimState, protocols: list[RestProtocol], streams: list[object]
) -> web.Application:
    """The aiohttp application serving ``protocols`` (REST) and ``streams`` (websocket)."""
    faults = FaultMiddleware(state, protocols)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await faults.handle(request, handler)

    app = web.Application(middlewares=[middleware])
    for p in protocols:
        app.add_routes(p.routes())
    for s in streams:
        app.add_routes(s.routes())  # type: ignore[attr-defined]
    configure_limiters(state, protocols)
    return app


def replace_faults(faults: Faults, changes: dict[str, object]) -> Faults:
    """``faults`` with ``changes`` applied (validated by :class:`Faults`)."""
    return dataclasses.replace(faults, **changes)  # type: ignore[arg-type]
