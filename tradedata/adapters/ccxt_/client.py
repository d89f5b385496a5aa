"""ccxt clients for one exchange: one per thread, sharing the markets loaded once.

A synchronous ccxt exchange keeps per-request state (``last_response_headers``, its HTTP
session), so threads must not share one. :class:`ClientPool` builds a client per thread from one
configuration: endpoint overrides (``settings.url``/``ws_url`` through
:func:`~tradedata.adapters.ccxt_.urls.ccxt_url_overrides`), sandbox mode, spot markets only (the
user's own ccxt clients keep ccxt's defaults), ccxt's per-instance rate limiter off (pacing is the
shared token bucket's job, see :mod:`tradedata.adapters.resilience`). Every response's status and
headers are recorded per thread, so errors can be translated with their ``Retry-After``, which
then holds back every thread's requests (:mod:`~tradedata.adapters.ccxt_.cooldown`).
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import ccxt

from tradedata.adapters.base import ProviderSettings
from tradedata.adapters.ccxt_.cooldown import shared_cooldown
from tradedata.adapters.ccxt_.errors import translate
from tradedata.adapters.transport import DeadlineSession
from tradedata.errors import (
    ConfigurationError,
    InvalidResponseError,
    ProviderError,
    RateLimitError,
    TradeDataError,
)
from tradedata.redact import CCXT_CREDENTIALS, Secret, register_pair, upstream

__all__ = [
    "ADAPTER_OPTIONS",
    "ClientPool",
    "check_options",
    "derivative_types",
    "has_derivatives",
]

T = TypeVar("T")

#: Keys of ``ProviderSettings.options`` the ccxt adapter understands.
ADAPTER_OPTIONS = frozenset(
    {
        "market_types",
        "max_candles",
        "rate_limit",
        "rate_period",
        "time_ttl",
        "max_clock_skew",
        "ccxt",
    }
)


@functools.cache
def _default_market_types(exchange_id: str) -> Any:
    """ccxt's own ``options["fetchMarkets"]["types"]`` of ``exchange_id`` (None: not set)."""
    fetch_markets = getattr(ccxt, exchange_id)().options.get("fetchMarkets")
    return fetch_markets.get("types") if isinstance(fetch_markets, Mapping) else None


def market_types_option(exchange_id: str, market_types: list[str]) -> Any:
    """``market_types`` in the shape ccxt's ``exchange_id`` reads ``fetchMarkets.types``.

    Most exchanges take a list of types; some (htx: ``{"spot": True, "linear": True,
    "inverse": True}`` in ccxt's htx ``describe()``) a mapping of type to on/off, where the
    swap and future markets are called ``linear``/``inverse``.
    """
    default = _default_market_types(exchange_id)
    if not isinstance(default, Mapping):
        return list(market_types)
    wanted = set(market_types)
    derivatives = bool(wanted & {"swap", "future"})
    return {key: key in wanted or (derivatives and key in ("linear", "inverse")) for key in default}


#: ccxt's names of derivatives market types (``fetchMarkets.types`` entries)
_DERIVATIVES = ("linear", "inverse", "swap", "future", "delivery")


def has_derivatives(market_types: list[str]) -> bool:
    """True when ``market_types`` loads any derivatives markets."""
    return any(t in _DERIVATIVES for t in market_types)


def derivative_types(exchange_id: str) -> list[str]:
    """The derivatives market types ccxt's ``exchange_id`` loads by default (binance and
    bybit: ``linear``, ``inverse``); ``["swap", "future"]`` where ccxt names none."""
    default = _default_market_types(exchange_id)
    if isinstance(default, (list, tuple)):
        found = [t for t in default if t in _DERIVATIVES]
        if found:
            return found
    return ["swap", "future"]


def check_options(exchange_id: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the adapter's ``options``; raises :class:`ConfigurationError` on unknown keys."""
    unknown = set(options) - ADAPTER_OPTIONS
    if unknown:
        raise ConfigurationError(
            f"unknown option(s) for {exchange_id}: {', '.join(sorted(unknown))} "
            f"(known: {', '.join(sorted(ADAPTER_OPTIONS))})"
        )
    out = dict(options)
    types = out.get("market_types", ["spot"])
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, (list, tuple)) or not all(isinstance(t, str) for t in types):
        raise ConfigurationError(f"market_types for {exchange_id} must be a list of strings")
    out["market_types"] = list(types)
    if not isinstance(out.get("ccxt", {}), Mapping):
        raise ConfigurationError(f"option 'ccxt' for {exchange_id} must be a mapping")
    for key in ("max_candles", "rate_limit", "rate_period", "time_ttl"):
        if key in out:
            try:
                value = float(out[key])
            except (TypeError, ValueError) as exc:
                raise ConfigurationError(
                    f"option {key!r} for {exchange_id} must be a number"
                ) from exc
            if value <= 0:
                raise ConfigurationError(f"option {key!r} for {exchange_id} must be positive")
    skew = out.get("max_clock_skew")
    if skew is not None:
        try:
            ok = not isinstance(skew, bool) and 0 <= float(skew) < float("inf")
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ConfigurationError(
                f"option 'max_clock_skew' for {exchange_id} must be a number of seconds >= 0 "
                "(or null: trust the exchange's clock alone)"
            )
    return out


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def _strict_json(loads: Callable[[str], Any]) -> Callable[[str], Any]:
    """ccxt's JSON decoding, but a body that fails to parse raises instead of passing as text."""

    def on_json_response(text: str) -> Any:
        try:
            return loads(text)
        except ValueError as exc:  # json and orjson decode errors are ValueErrors
            raise ccxt.BadResponse(f"malformed JSON body ({len(text)} bytes)") from exc

    return on_json_response


class _Recorder(threading.local):
    """Per-thread status and headers of the last HTTP response."""

    status: int | None = None
    headers: Mapping[str, str] | None = None
    client: Any = None


class ClientPool:
    """Per-thread ccxt clients of ``exchange_id`` configured from ``settings``.

    ``on_body(url, body)`` sees every successful response body (to learn published limits).
    """

    def __init__(
        self,
        exchange_id: str,
        settings: ProviderSettings,
        options: Mapping[str, Any],
        on_body: Callable[[str, str], None] | None = None,
    ) -> None:
        self.exchange_id = exchange_id
        self._settings = settings
        self._options = options
        self._on_body = on_body
        self._local = _Recorder()
        self._lock = threading.Lock()
        self._markets_lock = threading.Lock()
        self._source: Any = None  # the client whose markets every thread shares
        self._clients: weakref.WeakSet[Any] = weakref.WeakSet()
        self._urls = self._url_overrides()
        self.cooldown = shared_cooldown(f"{exchange_id}@{settings.url or 'default'}")
        self.prototype = self._build()  # never used for requests: describes the exchange

    def secrets(self) -> list[str]:
        """The credential strings, for scrubbing messages."""
        return [s.get() for s in (self._settings.api_key, self._settings.secret) if s]

    def _config(self) -> dict[str, Any]:
        settings = self._settings
        config: dict[str, Any] = {
            "enableRateLimit": False,
            "timeout": int(settings.timeout * 1000),
            "options": {
                "defaultType": self._options["market_types"][0],
                "fetchMarkets": {
                    "types": market_types_option(self.exchange_id, self._options["market_types"])
                },
            },
        }
        if settings.api_key:
            config["apiKey"] = settings.api_key.get()
        if settings.secret:
            config["secret"] = settings.secret.get()
        config = _deep_merge(config, self._options.get("ccxt") or {})
        for name in CCXT_CREDENTIALS:  # credentials given as ccxt options are secrets too
            value = config.get(name)
            if isinstance(value, Secret):
                config[name] = value = value.get()
            register_pair(value if isinstance(value, str) else None, None)
        register_pair(config.get("apiKey"), config.get("secret"))
        # every request of this client has a total deadline (connect + headers + body)
        config["session"] = DeadlineSession(settings.timeout)
        return config

    def _url_overrides(self) -> dict[str, Any]:
        if not self._settings.url:
            return {}
        from tradedata.adapters.ccxt_.urls import ccxt_url_overrides

        return ccxt_url_overrides(self.exchange_id, self._settings.url, self._settings.ws_url)

    def _build(self) -> Any:
        client = getattr(ccxt, self.exchange_id)(self._config())
        if self._settings.sandbox:
            try:
                client.set_sandbox_mode(True)
            except ccxt.NotSupported as exc:
                raise ConfigurationError(f"{self.exchange_id} has no sandbox in ccxt") from exc
        if self._urls:
            client.urls = _deep_merge(client.urls, self._urls)
        client.enableLastJsonResponse = True
        client.on_json_response = _strict_json(client.on_json_response)
        client.on_rest_response = self._hook()
        with self._lock:
            self._clients.add(client)
        return client

    def _hook(self) -> Callable[..., str]:
        local, on_body = self._local, self._on_body

        def on_rest_response(
            code: int, reason: str, url: str, method: str, headers: Any, body: str, *_: Any
        ) -> str:
            local.status, local.headers = int(code), headers
            if on_body is not None and 200 <= int(code) < 300:
                on_body(url, body)
            return body.strip()

        return on_rest_response

    def client(self) -> Any:
        """This thread's client, with the shared markets once they are loaded."""
        local = self._local
        client = local.client
        if client is None:
            client = local.client = self._build()
        source = self._source
        if source is not None and client is not source and client.markets is None:
            client.set_markets_from_exchange(source)
        return client

    @property
    def markets_loaded(self) -> bool:
        """True once :meth:`load_markets` succeeded."""
        return self._source is not None

    def load_markets(self) -> dict[str, Any]:
        """Load the markets once (this thread's client becomes the shared source)."""
        with self._markets_lock:
            if self._source is None:
                client = self.client()
                self.run(lambda c: c.load_markets(), expect_json=False)
                self._source = client
            return dict(self._source.markets)

    def run(self, fn: Callable[[Any], T], *, expect_json: bool = True) -> T:
        """Call ``fn(client)``, translating ccxt's errors into tradedata's.

        With ``expect_json`` a response body that was not JSON is an
        :class:`~tradedata.errors.InvalidResponseError` even if ccxt let it through.
        """
        client = self.client()
        local = self._local
        self.cooldown.wait()
        local.status, local.headers = None, None
        client.last_json_response = None
        error: ProviderError | None = None
        try:
            result = fn(client)
        except TradeDataError:
            raise
        except Exception as exc:
            error = translate(
                exc,
                provider=self.exchange_id,
                status=local.status,
                headers=local.headers,
                secrets=self.secrets(),
            )
            cause = upstream(exc)
        if error is not None:
            if isinstance(error, RateLimitError) and error.retry_after:
                self.cooldown.block(error.retry_after)
            # raised outside the handler: ccxt's exception and the requests/urllib3 ones it
            # chains (full URL, request headers inside) stay behind; a redacted summary does not
            raise error from cause
        if expect_json and client.last_json_response is None:
            raise InvalidResponseError(
                f"{self.exchange_id} answered with a body that is not JSON (HTTP {local.status})",
                provider=self.exchange_id,
            )
        return result

    def close(self) -> None:
        """Close the HTTP sessions of every client still alive."""
        with self._lock:
            clients = list(self._clients)
        for client in clients:
            session = getattr(client, "session", None)
            if session is not None:
                session.close()
