"""A canary key and secret through every provider and every failure mode: they never show.

Each case configures the canary on a provider (every stock provider in the registry, and ccxt's
binance with ``apiKey``/``secret``) pointed at a loopback server that fails in one way, runs
``DataManager.get_ohlcv`` with logging at DEBUG, and then looks for the canary (any prefix of
it, in any encoding) in: captured stderr, every log record (message and traceback text), the
warnings, ``str``/``repr``/traceback of the error and of every exception in its chain (and the
errors grouped in it), and every file in the cache directory (gzip members opened).
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
import pytest

from tests.adapters.conftest import CASES, FAST_RETRY, NOW
from tests.fakes import FakeProviderServer
from tradedata.adapters import STOCK_PROVIDERS, provider_class
from tradedata.adapters.base import Provider, ProviderSettings
from tradedata.errors import TradeDataError
from tradedata.manager import DataManager

#: the key and secret carry '/', '+' and '=' so that every encoding differs from the raw form
CANARY_KEY = "CANARYKEY/4711+ab=cd"
CANARY_SECRET = "CANARYSECRET/0815+x"
#: what must never appear: the common prefix (a cut key), and the base64 forms' prefixes
FORBIDDEN = (
    "CANARY",
    "canary",
    base64.b64encode(CANARY_KEY.encode()).decode()[:12],
    base64.b64encode(f"{CANARY_KEY}:{CANARY_SECRET}".encode()).decode()[:12],
    base64.urlsafe_b64encode(CANARY_SECRET.encode()).decode()[:12],
)
MODES = (
    "auth",
    "forbidden",
    "echo",
    "rate_limit",
    "html_echo",
    "malformed_echo",
    "timeout",
    "refused",
    "redirect",
)
TIMEOUT = 0.4


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo = [exc] if exc is not None else []
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        nested = getattr(current, "errors", None)
        if isinstance(nested, dict):
            todo.extend(e for e in nested.values() if isinstance(e, BaseException))


_CRAWLED = ("requests", "urllib3", "ccxt", "http", "curl_cffi", "yfinance", "tradedata", "json")


def _reachable_texts(obj: Any, depth: int = 4, seen: set[int] | None = None) -> Iterator[str]:
    """Strings reachable from ``obj`` through attributes and containers (what a debugger,
    an error tracker or a pickled traceback would show): ``PreparedRequest.url``, headers..."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth < 0:
        return
    seen.add(id(obj))
    if isinstance(obj, (str, bytes)):
        yield obj if isinstance(obj, str) else obj.decode("latin-1")
        return
    if isinstance(obj, dict) or (hasattr(obj, "items") and callable(obj.items)):
        try:
            items = list(obj.items())
        except Exception:
            items = []
        for key, value in items:
            yield from _reachable_texts(key, depth - 1, seen)
            yield from _reachable_texts(value, depth - 1, seen)
        return
    if isinstance(obj, (list, tuple, set, frozenset)):
        for value in obj:
            yield from _reachable_texts(value, depth - 1, seen)
        return
    module = type(obj).__module__ or ""
    if isinstance(obj, BaseException) or module.startswith(_CRAWLED):
        for value in getattr(obj, "__dict__", {}).values():
            yield from _reachable_texts(value, depth - 1, seen)
        if isinstance(obj, BaseException):
            yield from _reachable_texts(obj.args, depth - 1, seen)


def _cache_texts(root: Path) -> Iterator[tuple[str, bytes]]:
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        yield str(path), data
        if data[:2] == b"\x1f\x8b":
            yield f"{path} (gunzipped)", gzip.decompress(data)


def _leaks(texts: dict[str, str | bytes]) -> list[str]:
    found = []
    for where, text in texts.items():
        for bad in FORBIDDEN:
            needle: str | bytes = bad.encode() if isinstance(text, bytes) else bad
            if needle in text:  # type: ignore[operator]
                found.append(f"{bad!r} in {where}")
    return found


def _redirect_target() -> str:
    """A refused URL carrying the canary in its query (as a misbehaving proxy might send)."""
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as probe:
        port = probe.server_address[1]
    return f"http://127.0.0.1:{port}/moved?apikey={quote(CANARY_KEY, safe='')}&s={CANARY_SECRET}"


def _run_and_collect(
    dm: DataManager,
    name: str,
    fetches: list[Callable[[], Any]],
    cache_dir: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> tuple[list[BaseException], dict[str, str | bytes]]:
    """Run each call (the manager's, then the provider's own), collect everything they left."""
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for fetch in fetches:
            try:
                fetch()
            except TradeDataError as exc:
                errors.append(exc)
    dm.close()
    texts: dict[str, str | bytes] = {}
    for run, error in enumerate(errors):
        for i, link in enumerate(_chain(error)):
            texts[f"str(chain[{i}]) of call {run}"] = str(link)
            texts[f"repr(chain[{i}]) of call {run}"] = repr(link)
            reachable = "\n".join(_reachable_texts(link))
            texts[f"attributes of chain[{i}] ({type(link).__name__}) of call {run}"] = reachable
        texts[f"traceback of call {run}"] = "".join(traceback.format_exception(error))
    for i, record in enumerate(caplog.records):
        texts[f"log[{i}] {record.name}"] = record.getMessage() + (record.exc_text or "")
    texts["log text"] = caplog.text
    texts["warnings"] = "\n".join(str(w.message) for w in caught)
    out, err = capfd.readouterr()
    texts["stderr"], texts["stdout"] = err, out
    texts.update(_cache_texts(cache_dir))
    return errors, texts


# -- stock providers ------------------------------------------------------------------------------
def _fundamentals_calls(dm: DataManager, provider: Provider) -> list[Callable[[], Any]]:
    """Fundamentals through the manager (its payload cache included) for providers that serve
    them; every path of a fault counts."""
    if not provider.capabilities.fundamentals:
        return []
    name = provider.name
    return [lambda: dm.get_fundamentals("AAPL", providers=[name], refresh=True)]


def _stock_fault(server: FakeProviderServer, mode: str) -> None:
    """``mode`` for every request, whatever its path (bars, fundamentals, cookies)."""
    if mode == "timeout":
        server.fail("delay", times=None, seconds=TIMEOUT * 3, path="/")
    elif mode == "redirect":
        server.fail("redirect", times=None, body=_redirect_target(), path="/")
    elif mode != "refused":
        server.fail(mode, times=None, retry_after=0, path="/")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(STOCK_PROVIDERS))
def test_a_canary_key_never_leaves_a_stock_provider(
    name: str,
    mode: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    server = FakeProviderServer(name, api_key=CANARY_KEY, secret=CANARY_SECRET, now=NOW).start()
    _stock_fault(server, mode)
    if mode == "refused":
        server.stop()
    settings = ProviderSettings(
        url=server.url, api_key=CANARY_KEY, secret=CANARY_SECRET, timeout=TIMEOUT
    )
    provider = provider_class(name)(settings)
    provider.now = lambda: NOW  # type: ignore[method-assign]
    cache_dir = tmp_path / "cache"
    dm = DataManager(cache_dir=cache_dir, config={})
    dm.add_provider(provider)
    case = CASES[name]
    try:
        errors, texts = _run_and_collect(
            dm,
            name,
            [
                lambda: dm.get_ohlcv(
                    case.symbol, case.timeframe, case.start, case.end, provider=name
                ),
                lambda: provider.fetch_ohlcv(case.symbol, case.timeframe, case.start, case.end),
                *_fundamentals_calls(dm, provider),
            ],
            cache_dir,
            caplog,
            capfd,
        )
    finally:
        server.stop()

    assert len(errors) >= 2, f"{name} {mode}: the failure was not reported"
    assert _leaks(texts) == []


# -- ccxt -----------------------------------------------------------------------------------------
class _EchoHandler(BaseHTTPRequestHandler):
    """Answers every request with the failure ``server.mode``, echoing what it was sent."""

    protocol_version = "HTTP/1.1"
    server: _EchoServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        mode = self.server.mode
        headers = {k: v for k, v in self.headers.items()}
        echo = f"{self.command} {self.path} {headers}"
        extra: dict[str, str] = {}
        if mode == "timeout":
            time.sleep(TIMEOUT * 3)
            status, body, ctype = 200, b"[]", "application/json"
        elif mode == "redirect":
            status, body, ctype = 302, b"", "text/plain"
            extra["Location"] = self.server.redirect
        elif mode == "html_echo":
            status, ctype = 500, "text/html"
            body = f"<html><p>{self.path}</p><pre>{headers}</pre></html>".encode()
        elif mode == "malformed_echo":
            status, ctype = 200, "application/json"
            body = ('{"x": ' + json.dumps(echo).replace("/", "\\/") + ', "y": [1').encode()
        else:
            status = {"auth": 401, "forbidden": 403, "echo": 422, "rate_limit": 429}[mode]
            # Binance's documented error shape {"code": -2015, "msg": "..."} (see ccxt's
            # binance.py exceptions table), its msg holding the echo
            body = json.dumps({"code": -2015, "msg": f"Invalid API-key {echo}"}).encode()
            ctype = "application/json"
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
        except (OSError, ValueError):
            self.close_connection = True  # the client gave up (timeout mode)

    do_POST = do_GET
    do_DELETE = do_GET


class _EchoServer(ThreadingHTTPServer):
    daemon_threads = True
    mode = "auth"
    redirect = ""

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client that gave up (timeout mode) is expected here


@pytest.fixture
def echo_server() -> Iterator[_EchoServer]:
    server = _EchoServer(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("mode", MODES)
def test_a_canary_key_never_leaves_a_ccxt_exchange(
    mode: str,
    echo_server: _EchoServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tradedata.adapters.ccxt_ import CcxtProvider

    monkeypatch.setattr(CcxtProvider, "retry_policy", FAST_RETRY)
    echo_server.mode = "auth" if mode == "refused" else mode
    echo_server.redirect = _redirect_target()
    host, port = echo_server.server_address[:2]
    url = f"http://{host}:{port}"
    if mode == "refused":
        url = _redirect_target().split("/moved")[0]
    settings = ProviderSettings(
        url=url,
        api_key=CANARY_KEY,
        secret=CANARY_SECRET,
        timeout=TIMEOUT,
        options={"ccxt": {"password": "CANARYPASSPHRASE-99"}},
    )
    provider: Provider = CcxtProvider("binance", settings)
    cache_dir = tmp_path / "cache"
    dm = DataManager(cache_dir=cache_dir, config={})
    dm.add_provider(provider)
    start = NOW.floor("h") - pd.Timedelta(hours=5)

    errors, texts = _run_and_collect(
        dm,
        "binance",
        [
            lambda: dm.get_ohlcv("BTC/USDT", "1h", start, NOW, provider="binance"),
            lambda: provider.fetch_ohlcv("BTC/USDT", "1h", start, NOW),
        ],
        cache_dir,
        caplog,
        capfd,
    )

    assert len(errors) == 2, f"binance {mode}: the failure was not reported"
    assert _leaks(texts) == []
