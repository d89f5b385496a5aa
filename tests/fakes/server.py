"""A loopback HTTP server that plays one stock data provider, with fault injection.

``FakeProviderServer("alpaca")`` serves Alpaca's routes (see the ``routes_*`` modules) on
``127.0.0.1`` at an ephemeral port, answering with the provider's documented JSON shapes and
deterministic bars (:mod:`tests.fakes.market`) for any symbol and range. Faults are queued with
:meth:`FakeProviderServer.fail` and consumed by matching requests::

    with FakeProviderServer("polygon", api_key="k") as server:
        server.fail("rate_limit", times=2, retry_after=0)
        provider = create_provider("polygon", ProviderSettings(url=server.url, api_key="k"))

Fault kinds: ``auth`` (401), ``forbidden`` (403), ``rate_limit`` (429 + Retry-After),
``server_error`` (500, or ``status=``), ``malformed`` (a truncated JSON body), ``empty`` and
``unknown_symbol`` (in the provider's own shape), ``note`` (Alpha Vantage's 200-with-Note),
``disconnect`` (the connection is closed without an answer) and ``delay`` (``seconds=``, then
the normal answer). Adversarial kinds (no provider documents them; issue 12 saw them happen)
echo the request back as servers and proxies do in error pages: ``echo`` (a JSON error whose
``message`` holds the raw request target and every request header, 422 like Alpaca's answer),
``html_echo`` (a 500 HTML page showing both), ``malformed_echo`` (a truncated JSON body holding
both, JSON-escaped with ``\\/``), and ``redirect`` (302 to ``body``, a URL). Every request is
recorded in :attr:`FakeProviderServer.requests`.
"""

from __future__ import annotations

import gzip
import importlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

import pandas as pd

from tests.fakes.market import FakeMarket
from tradedata.model import to_utc

__all__ = ["FakeProviderServer", "FakeRequest", "FakeResponse", "Fault", "LoopbackServer", "Routes"]

PROVIDERS = ("yahoo", "alpha_vantage", "fmp", "alpaca", "polygon", "tiingo", "coingecko")


@dataclass
class FakeRequest:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""
    #: the request target exactly as sent (path and query, percent-encoded)
    target: str = ""

    @property
    def raw_query(self) -> str:
        """The query as ``k=v&...`` (for assertions about what the client sent)."""
        return "&".join(f"{k}={v}" for k, v in self.query.items())


@dataclass
class FakeResponse:
    """An answer: status, body (bytes, str or JSON-able), headers."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def payload(self) -> bytes:
        """The body as bytes (JSON-encoded when it is not bytes or str)."""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body, separators=(",", ":")).encode()


def json_response(body: Any, status: int = 200, **headers: str) -> FakeResponse:
    """A JSON answer."""
    return FakeResponse(status, body, dict(headers))


@dataclass
class Fault:
    """A queued failure: ``kind`` for the next ``times`` requests whose path holds ``path``."""

    kind: str
    times: int | None = 1
    path: str | None = None
    status: int | None = None
    retry_after: float | None = None
    seconds: float = 0.0
    body: Any = None
    used: int = 0


class Routes:
    """Base of a provider's routes; subclasses implement :meth:`handle`."""

    #: the path fragment faults target by default (the data endpoints)
    data_path = "/"

    def __init__(self, server: FakeProviderServer) -> None:
        self.server = server
        self.market = server.market

    def authenticate(self, request: FakeRequest) -> FakeResponse | None:
        """An error answer when the request's credentials are wrong (None: accepted)."""
        return None

    def handle(self, request: FakeRequest) -> FakeResponse:
        """Answer a request that passed authentication and fault injection."""
        raise NotImplementedError

    def fault(self, fault: Fault, request: FakeRequest) -> FakeResponse | None:
        """The provider's own shape for a fault kind (None: the generic one)."""
        return None


def _echo_fault(fault: Fault, request: FakeRequest) -> FakeResponse:
    """The adversarial answers that mirror the request back (see the module docstring)."""
    headers = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
    if fault.kind == "echo":
        text = f"invalid symbol in {request.method} {request.target} headers {request.headers}"
        return json_response({"code": 42210000, "message": text}, fault.status or 422)
    if fault.kind == "html_echo":
        page = f"<html><body><h1>500</h1><p>{request.target}</p><pre>{headers}</pre></body></html>"
        return FakeResponse(fault.status or 500, page.encode(), {}, "text/html")
    if fault.kind == "malformed_echo":
        echo = json.dumps({"url": request.target, "headers": headers}).replace("/", "\\/")
        return FakeResponse(fault.status or 200, f'{{"results": [{echo}, {{"t": 17'.encode())
    return FakeResponse(fault.status or 302, b"", {"Location": str(fault.body)}, "text/plain")


_ECHO_KINDS = frozenset({"echo", "html_echo", "malformed_echo", "redirect"})


def _generic_fault(fault: Fault) -> FakeResponse:
    retry = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
    if fault.kind == "auth":
        return json_response({"message": "unauthorized"}, fault.status or 401)
    if fault.kind == "forbidden":
        return json_response({"message": "forbidden"}, fault.status or 403)
    if fault.kind == "rate_limit":
        return json_response({"message": "too many requests"}, fault.status or 429, **retry)
    if fault.kind == "server_error":
        return FakeResponse(
            fault.status or 500, b"<html>Internal Server Error</html>", {}, "text/html"
        )
    if fault.kind == "malformed":
        return FakeResponse(fault.status or 200, b'{"results": [{"t": 17', {})
    if fault.kind == "custom":
        return json_response(fault.body, fault.status or 200, **retry)
    raise ValueError(f"fault kind {fault.kind!r} has no generic shape for this provider")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = FakeRequest(self.command, unquote(parts.path), query, headers, body, self.path)
        response = self.server.fake.dispatch(request)
        if response is None:  # disconnect
            self.close_connection = True
            self.connection.shutdown(2)
            return
        payload = response.payload()
        gzip_it = "gzip" in headers.get("accept-encoding", "") and len(payload) > 512
        if gzip_it:
            payload = gzip.compress(payload, compresslevel=1)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        if gzip_it:
            self.send_header("Content-Encoding", "gzip")
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _serve
    do_POST = _serve


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: LoopbackServer


class LoopbackServer:
    """An HTTP server on ``127.0.0.1:<ephemeral port>`` answering through :meth:`dispatch`;
    start/stop or use ``with``. Base of every fake server (stock providers, exchanges)."""

    def __init__(self) -> None:
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self._thread: threading.Thread | None = None

    def dispatch(self, request: FakeRequest) -> FakeResponse | None:
        """The answer to ``request`` (None: close the connection without one)."""
        raise NotImplementedError

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Self:
        """Serve in a background thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class FakeProviderServer(LoopbackServer):
    """One fake provider on ``127.0.0.1:<ephemeral port>``; start/stop or use ``with``."""

    def __init__(
        self,
        provider: str,
        *,
        api_key: str | None = "test-key",
        secret: str | None = "test-secret",
        seed: int = 0,
        now: str | pd.Timestamp | None = None,
        page_limit: int | None = None,
    ) -> None:
        if provider not in PROVIDERS:
            raise ValueError(f"no fake for {provider!r}; known: {', '.join(PROVIDERS)}")
        self.provider = provider
        self.api_key = api_key
        self.secret = secret
        self.market = FakeMarket(seed)
        self._now = None if now is None else to_utc(now)
        #: override the provider's page size (to force paging in tests)
        self.page_limit = page_limit
        self.unknown_symbols = {"NOSUCH", "UNKNOWN", "ZZZZZ"}
        self.requests: list[FakeRequest] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        module = importlib.import_module(f"tests.fakes.routes_{provider}")
        self.routes: Routes = module.ROUTES(self)
        super().__init__()

    # -- behaviour -------------------------------------------------------------------------
    def now(self) -> pd.Timestamp:
        """The server's clock (fixed when ``now`` was given)."""
        return self._now if self._now is not None else pd.Timestamp.now(tz="UTC")

    def is_unknown(self, symbol: str) -> bool:
        """True for symbols the fake provider does not know."""
        upper = symbol.upper()
        return any(u in upper for u in self.unknown_symbols)

    def fail(
        self,
        kind: str,
        *,
        times: int | None = 1,
        path: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        seconds: float = 0.0,
        body: Any = None,
    ) -> Fault:
        """Queue a fault for the next ``times`` matching requests (None: every one)."""
        fault = Fault(
            kind, times, path or self.routes.data_path, status, retry_after, seconds, body
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Drop queued faults."""
        with self._lock:
            self._faults.clear()

    def count(self, fragment: str = "") -> int:
        """How many requests had ``fragment`` in their path."""
        with self._lock:
            return sum(1 for r in self.requests if fragment in r.path)

    def _take_fault(self, request: FakeRequest) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path and fault.path not in request.path:
                    continue
                fault.used += 1
                if fault.times is not None and fault.used >= fault.times:
                    self._faults.remove(fault)
                return fault
        return None

    def dispatch(self, request: FakeRequest) -> FakeResponse | None:
        """Record, inject faults, authenticate, route."""
        with self._lock:
            self.requests.append(request)
        fault = self._take_fault(request)
        if fault is not None:
            if fault.kind == "disconnect":
                return None
            if fault.kind == "delay":
                time.sleep(fault.seconds)
            elif fault.kind in _ECHO_KINDS:
                return _echo_fault(fault, request)
            else:
                return self.routes.fault(fault, request) or _generic_fault(fault)
        denied = self.routes.authenticate(request)
        if denied is not None:
            return denied
        try:
            return self.routes.handle(request)
        except Exception as exc:  # a bug in a fake shows up as a 500 with the reason
            return FakeResponse(
                500, f"fake server error: {type(exc).__name__}: {exc}", {}, "text/plain"
            )
