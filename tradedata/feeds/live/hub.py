"""One websocket connection per exchange, shared by every live feed of that exchange.

A :class:`StreamHub` runs an asyncio loop in a daemon thread and keeps one connection to the
exchange's public stream (the :class:`~tradedata.feeds.live.dialects.WsDialect` says how to
talk to it). Feeds add topics (``btcusdt@kline_1m``, ``kline.1.BTCUSDT``) with a sink; closed
bars are handed to the sinks on the loop thread, which put them on thread-safe queues. When the
connection drops or goes silent for ``silence_timeout`` seconds, sinks hear ``broken``; the hub
reconnects with exponential backoff, subscribes again and reports ``reconnected`` (the sinks
then fetch what they missed over REST), or ``disconnected`` after ``max_retries`` failed tries.

Hubs are shared through :func:`acquire_hub` / :func:`release_hub`, keyed by exchange and URL,
so several stores (or feeds) on one exchange still use one connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection, connect

from tradedata.feeds.live.dialects import WsDialect
from tradedata.feeds.live.model import (
    Connection,
    LiveBar,
    LiveSettings,
    Sink,
    StoreNotice,
    backoff_delay,
)

__all__ = ["HubStats", "Sink", "StreamHub", "acquire_hub", "release_hub"]

log = logging.getLogger("tradedata.live")

_CONNECT_ERRORS = (OSError, TimeoutError, asyncio.TimeoutError, websockets.WebSocketException)


@dataclass
class HubStats:
    """Counters of one hub (read them any time)."""

    connections: int = 0
    breaks: int = 0
    messages: int = 0
    bars: int = 0
    malformed: int = 0
    subscribe_requests: int = 0


class StreamHub:
    """The shared websocket connection of one exchange (see the module docstring)."""

    def __init__(self, dialect: WsDialect, base_url: str, settings: LiveSettings) -> None:
        self.dialect = dialect
        self.base_url = base_url
        self.settings = settings
        self.stats = HubStats()
        self.alive = True  # False once the hub gave up or was closed
        self._sinks: dict[str, tuple[Sink, ...]] = {}  # replaced, never mutated
        self._listeners: tuple[Callable[[StoreNotice], None], ...] = ()
        self._lock = threading.Lock()
        self._rng = random.Random()
        self._closing = False
        self._ws: ClientConnection | None = None
        self._announced = False  # this connection told its sinks CONNECTED/RECONNECTED
        self._subscribed: set[str] = set()
        self._requests: dict[Any, tuple[str, ...]] = {}
        self._alone: set[str] = set()  # topics to subscribe one per request
        self._next_id = 1
        self._last_message = 0.0
        self._background: set[asyncio.Future[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._thread_main, args=(ready,), name=f"tradedata-live-{dialect.exchange}",
            daemon=True,
        )  # fmt: skip
        self._thread.start()
        ready.wait(10.0)

    def __repr__(self) -> str:
        return f"<StreamHub {self.dialect.exchange} {self.base_url} topics={len(self._sinks)}>"

    # -- thread-safe API -----------------------------------------------------------------------
    def add(self, topic: str, sink: Sink) -> None:
        """Deliver ``topic`` to ``sink`` (subscribing on the connection if needed)."""
        with self._lock:
            self._sinks = {**self._sinks, topic: (*self._sinks.get(topic, ()), sink)}
        if not self.alive:
            sink.on_event(Connection.DISCONNECTED, "the connection was given up")
            return
        self._call(self._topics_changed)
        self._call(lambda: self._greet(sink))

    def remove(self, topic: str, sink: Sink) -> None:
        """Stop delivering ``topic`` to ``sink``."""
        with self._lock:
            left = tuple(s for s in self._sinks.get(topic, ()) if s is not sink)
            sinks = dict(self._sinks)
            if left:
                sinks[topic] = left
            else:
                sinks.pop(topic, None)
            self._sinks = sinks

    def add_listener(self, listener: Callable[[StoreNotice], None]) -> None:
        """Send store notices to ``listener``."""
        with self._lock:
            self._listeners = (*self._listeners, listener)

    def remove_listener(self, listener: Callable[[StoreNotice], None]) -> None:
        """Stop sending store notices to ``listener``."""
        with self._lock:
            self._listeners = tuple(x for x in self._listeners if x is not listener)

    @property
    def connected(self) -> bool:
        """True while a connection is open."""
        return self._ws is not None

    def close(self, timeout: float = 5.0) -> None:
        """Close the connection and end the thread (idempotent)."""
        self._closing = True
        self.alive = False
        loop, task = self._loop, self._main
        if loop is not None and task is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)
        self._thread.join(timeout)

    # -- loop thread ---------------------------------------------------------------------------
    def _thread_main(self, ready: threading.Event) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._wake = asyncio.Event()
            self._main = asyncio.current_task()
            ready.set()
            with contextlib.suppress(asyncio.CancelledError):
                await self._run()

        try:
            asyncio.run(main())
        finally:
            ready.set()

    def _call(self, fn: Callable[[], Any]) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop stopped meanwhile
                loop.call_soon_threadsafe(fn)

    def _notice(self, event: str, detail: str = "") -> None:
        notice = StoreNotice(self.dialect.exchange, event, detail)
        log.info("%s", notice)
        for listener in self._listeners:
            listener(notice)

    def _broadcast(self, event: str, detail: str = "") -> None:
        for sinks in self._sinks.values():
            for sink in sinks:
                sink.on_event(event, detail)

    def _greet(self, sink: Sink) -> None:
        """Tell a sink added to an open connection that it is connected."""
        if self._announced:  # a connection still being set up announces itself to all sinks
            sink.on_event(Connection.CONNECTED)

    def _topics_changed(self) -> None:
        if self._wake is not None:
            self._wake.set()
        if self._ws is not None:
            task = asyncio.ensure_future(self._subscribe_missing(self._ws))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _run(self) -> None:
        failures = 0
        broken = False
        while not self._closing:
            if not self._sinks:
                assert self._wake is not None
                self._wake.clear()
                await self._wake.wait()
                continue
            healthy, reason = await self._connect_and_serve(broken)
            if self._closing:
                return
            broken = True
            failures = 1 if healthy else failures + 1
            self.stats.breaks += 1
            self._broadcast(Connection.BROKEN, reason)
            self._notice("broken", reason)
            if failures > self.settings.max_retries:
                self.alive = False
                self._broadcast(Connection.DISCONNECTED, reason)
                self._notice("disconnected", f"gave up after {failures - 1} retries: {reason}")
                return
            s = self.settings
            delay = backoff_delay(
                failures, s.reconnect_delay, s.reconnect_max_delay, self._rng.random()
            )
            self._notice("reconnecting", f"try {failures}/{s.max_retries} in {delay:.2f} s")
            await asyncio.sleep(delay)

    async def _connect_and_serve(self, broken: bool) -> tuple[bool, str]:
        """Open a connection and serve it until it fails; returns (had data, why it ended)."""
        topics = list(self._sinks)[: self.dialect.max_per_request]
        in_url = topics if self.dialect.topics_in_url else []
        s = self.settings
        try:
            ws = await connect(
                self.dialect.url(self.base_url, in_url),
                open_timeout=s.open_timeout,
                ping_interval=s.ping_interval,
                ping_timeout=s.ping_interval,
                close_timeout=1.0,
                max_size=2**23,
            )
        except _CONNECT_ERRORS as exc:
            return False, f"cannot connect: {type(exc).__name__}: {exc}"
        self.stats.connections += 1
        self._ws, self._subscribed = ws, set(in_url)
        self._last_message = time.monotonic()
        before = self.stats.messages
        try:
            await self._subscribe_missing(ws)
            event = Connection.RECONNECTED if broken else Connection.CONNECTED
            self._broadcast(event)
            self._announced = True
            self._notice(event)
            reason = await self._serve(ws)
        except _CONNECT_ERRORS as exc:
            reason = f"{type(exc).__name__}: {exc}"
        finally:
            self._ws = None
            self._announced = False
            if self._closing:
                with contextlib.suppress(*_CONNECT_ERRORS):
                    await ws.close()
            else:
                ws.transport.abort()
        return self.stats.messages > before, reason

    async def _serve(self, ws: ClientConnection) -> str:
        tasks = [asyncio.ensure_future(self._read(ws)), asyncio.ensure_future(self._watch())]
        if self.dialect.app_ping is not None:
            tasks.append(asyncio.ensure_future(self._ping(ws)))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            return str(next(iter(done)).result())
        except Exception as exc:  # a bug must not end the hub: log it and reconnect
            log.exception("live stream of %s failed", self.dialect.exchange)
            return f"{type(exc).__name__}: {exc}"
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _read(self, ws: ClientConnection) -> str:
        parse, refusal, skippable = self.dialect.parse, self.dialect.refusal, self.dialect.skippable
        try:
            async for raw in ws:
                received = time.monotonic()
                self._last_message = received
                self.stats.messages += 1
                if skippable(raw):
                    continue  # an update of the open candle: never a bar
                try:
                    message = json.loads(raw)
                    parsed = parse(message)
                except (ValueError, KeyError, TypeError):
                    self.stats.malformed += 1
                    continue
                if parsed:
                    self._dispatch(parsed, received)
                    continue
                refused = refusal(message)
                if refused is not None:
                    self._refused(refused.request_id, refused.reason, refused.topics)
        except websockets.ConnectionClosed as exc:
            return f"connection closed: {exc}"
        return "connection closed by the exchange"

    def _dispatch(self, parsed: Sequence[tuple[str, LiveBar]], received: float) -> None:
        sinks = self._sinks
        for topic, bar in parsed:
            targets = sinks.get(topic)
            if not targets:
                continue
            self.stats.bars += 1
            stamped = bar._replace(received=received)
            for sink in targets:
                sink.on_bar(stamped)

    async def _watch(self) -> str:
        timeout = self.settings.silence_timeout
        while True:
            idle = time.monotonic() - self._last_message
            if idle >= timeout:
                return f"no message for {idle:.1f} s"
            await asyncio.sleep(timeout - idle)

    async def _ping(self, ws: ClientConnection) -> str:
        text = json.dumps(self.dialect.app_ping)
        while True:
            await asyncio.sleep(self.dialect.app_ping_interval)
            try:
                await ws.send(text)
            except websockets.ConnectionClosed as exc:
                return f"connection closed: {exc}"

    async def _subscribe_missing(self, ws: ClientConnection) -> None:
        missing = [t for t in self._sinks if t not in self._subscribed]
        room = self.dialect.max_per_connection - len(self._subscribed)
        if len(missing) > room:
            over = missing[max(room, 0) :]
            missing = missing[: max(room, 0)]
            self._refused(None, f"more than {self.dialect.max_per_connection} streams", over)
        self._subscribed.update(missing)
        alone = [t for t in missing if t in self._alone]
        grouped = [t for t in missing if t not in self._alone]
        step = self.dialect.max_per_request
        chunks = [tuple(grouped[i : i + step]) for i in range(0, len(grouped), step)]
        for chunk in chunks + [(t,) for t in alone]:
            request_id = self._next_id
            self._next_id += 1
            self._requests[request_id] = chunk
            self.stats.subscribe_requests += 1
            try:
                await ws.send(json.dumps(self.dialect.subscribe(chunk, request_id)))
            except websockets.ConnectionClosed:
                return  # the reader sees the close and the connection is reopened

    def _refused(self, request_id: Any, reason: str, topics: Sequence[str]) -> None:
        """The exchange refused ``topics`` (or, when it names none, the whole request)."""
        asked = self._requests.get(request_id, ())
        named = tuple(topics) or asked
        if not named:
            self._notice("refused", reason)
            return
        if len(asked) == 1 and "already" in reason.lower():
            return  # a repeated subscription: the stream is on
        innocent = [t for t in asked if t not in named]
        if innocent:  # the request may have failed as a whole: ask for the others one by one
            self._alone.update(innocent)
            self._subscribed.difference_update(innocent)
            self._topics_changed()
        for topic in named:
            self._notice("refused", f"{topic}: {reason}")
            for sink in self._sinks.get(topic, ()):
                sink.on_event(Connection.REFUSED, reason)
            self._subscribed.discard(topic)
            with self._lock:
                sinks = dict(self._sinks)
                sinks.pop(topic, None)
                self._sinks = sinks


_HUBS: dict[tuple[str, str], list[Any]] = {}  # key -> [hub, users]
_HUBS_LOCK = threading.Lock()


def acquire_hub(dialect: WsDialect, base_url: str, settings: LiveSettings) -> StreamHub:
    """The process's hub for ``dialect`` at ``base_url`` (created on first use)."""
    key = (dialect.exchange, base_url)
    with _HUBS_LOCK:
        entry = _HUBS.get(key)
        if entry is None or not entry[0].alive:
            entry = [StreamHub(dialect, base_url, settings), 0]
            _HUBS[key] = entry
        entry[1] += 1
        return entry[0]  # type: ignore[no-any-return]


def release_hub(hub: StreamHub, timeout: float = 5.0) -> None:
    """Give back a hub from :func:`acquire_hub`; the last user closes it."""
    key = (hub.dialect.exchange, hub.base_url)
    with _HUBS_LOCK:
        entry = _HUBS.get(key)
        if entry is None or entry[0] is not hub:
            last = True
        else:
            entry[1] -= 1
            last = entry[1] <= 0
            if last:
                del _HUBS[key]
    if last:
        hub.close(timeout)
