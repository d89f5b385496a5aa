"""HTTP requests with a total deadline: connect, headers and body together.

``requests``' ``timeout`` bounds each socket operation, not the request: a server that sends one
byte every half second keeps a call with ``timeout=2`` alive for as long as it likes.
:class:`DeadlineSession` is a ``requests.Session`` whose every request must be complete within
``total`` seconds (and within what is left of the caller's overall deadline, see
:mod:`tradedata.deadline`):

* the per-operation timeout is capped at that budget, so connecting cannot take longer;
* a watchdog (one thread for the process) shuts the request's socket down when the budget runs
  out, which ends a blocked read at once, whether it waits for the status line, a header or
  the body;
* the request then fails with :class:`TotalTimeout` (a ``requests.Timeout``, so callers that
  handle timeouts, ccxt included, treat it as one), or with
  :class:`~tradedata.errors.DeadlineExceededError` when the overall deadline was the limit.

The session's connections register with the watch of the request their thread is sending (a pool
with its own connection classes), redirects included; ``stream=True`` bodies read after
``send`` returns are not covered (tradedata never streams).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
import socket
import threading
import time
from http.client import HTTPException
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from tradedata.deadline import current_deadline

__all__ = ["DeadlineSession", "TotalTimeout", "request_budget"]


class TotalTimeout(requests.exceptions.ReadTimeout):
    """The whole request (connect + headers + body) took longer than its budget."""


class _Watch:
    """Shuts down the sockets of one request when its budget runs out."""

    def __init__(self, seconds: float) -> None:
        self.connections: list[Any] = []
        self.fired = False
        self.cancelled = False
        self.seconds = max(seconds, 0.0)
        self._lock = threading.Lock()

    def start(self) -> None:
        _WATCHDOG.arm(self)

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True

    def add(self, connection: Any) -> None:
        with self._lock:
            self.connections.append(connection)
            fired = self.fired
        if fired:
            _shutdown(connection)

    def fire(self) -> None:
        with self._lock:
            if self.cancelled:
                return
            self.fired = True
            connections = list(self.connections)
        for connection in connections:
            _shutdown(connection)


class _Watchdog:
    """One daemon thread that fires the watches whose time is up (no thread per request).

    Cancelled watches stay in the heap until their time comes and are then dropped.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Watch]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, watch: _Watch) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + watch.seconds, next(self._seq), watch))
            if self._thread is None or not self._thread.is_alive():  # also after a fork
                self._thread = threading.Thread(
                    target=self._run, name="tradedata-deadlines", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def _due(self) -> _Watch:
        with self._cond:
            while True:
                if self._heap:
                    wait = self._heap[0][0] - time.monotonic()
                    if wait <= 0:
                        return heapq.heappop(self._heap)[2]
                    self._cond.wait(min(wait, 3600.0))
                else:
                    self._cond.wait()

    def _run(self) -> None:
        while True:
            self._due().fire()


_WATCHDOG = _Watchdog()


def _shutdown(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv on this socket


_active = threading.local()


def _watches() -> list[_Watch]:
    stack: list[_Watch] | None = getattr(_active, "stack", None)
    if stack is None:
        stack = _active.stack = []
    return stack


class _WatchedHTTPConnection(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        for watch in _watches():
            watch.add(self)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        for watch in _watches():
            watch.add(self)
        super().request(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _WatchedAdapter(HTTPAdapter):
    """An adapter whose connections register with the sending thread's watchdog."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        if hasattr(manager, "pool_classes_by_scheme"):
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


def request_budget(total: float | None) -> tuple[float | None, bool]:
    """Seconds one request may take now, and whether the overall deadline set that limit."""
    deadline = current_deadline()
    left = None if deadline is None else deadline.remaining()
    if left is not None and (total is None or left < total):
        return left, True
    return total, False


def _capped_timeout(timeout: Any, budget: float) -> Any:
    """``timeout`` (a number or ``(connect, read)``) with no part longer than ``budget``."""
    budget = max(budget, 0.001)
    if isinstance(timeout, tuple):
        return tuple(budget if t is None else min(float(t), budget) for t in timeout)
    if timeout is None:
        return budget
    return min(float(timeout), budget)


class DeadlineSession(requests.Session):
    """A ``requests.Session`` whose requests each finish within ``total`` seconds or fail.

    ``total`` None leaves only the overall deadline (if any) as the limit.
    """

    def __init__(self, total: float | None = None, *, pool_size: int = 10) -> None:
        super().__init__()
        self.total = total
        adapter = _WatchedAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Send ``request``; its connect, headers and body must all arrive within the budget."""
        budget, overall = request_budget(self.total)
        if budget is None or not math.isfinite(budget):  # no limit at all
            return super().send(request, **kwargs)
        deadline = current_deadline()
        if overall and deadline is not None and budget <= 0:
            raise deadline.error("request not sent")
        kwargs["timeout"] = _capped_timeout(kwargs.get("timeout"), budget)
        watch = _Watch(budget)
        stack = _watches()
        stack.append(watch)
        watch.start()
        try:
            response = super().send(request, **kwargs)
        except (requests.RequestException, OSError, HTTPException):
            if not watch.fired:
                raise
        finally:
            watch.cancel()
            stack.remove(watch)
        if not watch.fired:
            return response
        # the socket was shut down mid-request: whatever arrived may be cut (an end of headers
        # or of a body without a length looks like EOF), so it is never returned as an answer.
        # Raised outside the handler: the library error (URL and headers inside) is not chained.
        if overall and deadline is not None:
            raise deadline.error("request stopped")
        raise TotalTimeout(f"no complete answer within {budget:g}s (connect + headers + body)")
