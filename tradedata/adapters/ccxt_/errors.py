"""Translate ccxt's exceptions into the tradedata tree (one pure function, no network).

============================================  ===========================================
ccxt (or the transport)                        tradedata
============================================  ===========================================
RateLimitExceeded, DDoSProtection (429/418)    RateLimitError, ``retry_after`` from headers
RequestTimeout, ExchangeNotAvailable, other    TemporaryProviderError
NetworkError, OperationFailed, 5xx
BadResponse, NullResponse, non-JSON body,      InvalidResponseError (retried)
rows of the wrong shape
BadSymbol                                      SymbolNotFoundError
AuthenticationError, PermissionDenied          AuthenticationError
NotSupported, BadRequest                       UnsupportedError
any other ExchangeError                        ProviderError
============================================  ===========================================

``retry_after`` comes from ``Retry-After`` (seconds or an HTTP date) or Bybit's
``X-Bapi-Limit-Reset-Timestamp`` (epoch ms). Messages never carry the API key or secret.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from email.utils import parsedate_to_datetime

import ccxt

from tradedata.errors import (
    AuthenticationError,
    InvalidResponseError,
    ProviderError,
    RateLimitError,
    SymbolNotFoundError,
    TemporaryProviderError,
    UnsupportedError,
)
from tradedata.redact import redact

__all__ = ["retry_after_seconds", "scrub", "translate"]

#: Waited when a rate-limit answer says nothing about how long (seconds).
DEFAULT_RATE_LIMIT_WAIT = 1.0
_MAX_MESSAGE = 300


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if str(k).lower() == lowered), None)
    return None if value is None else str(value)


def retry_after_seconds(
    headers: Mapping[str, str] | None, now: float | None = None
) -> float | None:
    """Seconds the server asked us to wait, from ``Retry-After`` or a reset timestamp."""
    now = time.time() if now is None else now
    raw = _header(headers, "Retry-After")
    if raw is not None:
        try:
            return max(0.0, float(raw))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(raw).timestamp() - now)
            except (TypeError, ValueError, IndexError):
                pass
    reset = _header(headers, "X-Bapi-Limit-Reset-Timestamp")
    if reset is not None:
        try:
            return max(0.0, float(reset) / 1000.0 - now)
        except ValueError:
            return None
    return None


def scrub(text: str, secrets: Iterable[str], limit: int | None = _MAX_MESSAGE) -> str:
    """``text`` with every secret masked (:func:`~tradedata.redact.redact`), then cut."""
    text = redact(text, secrets)
    if limit is None:
        return text
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _rate_limited(
    exc: BaseException, name: str, status: int | None, headers: Mapping[str, str] | None, msg: str
) -> RateLimitError:
    wait = retry_after_seconds(headers)
    if status == 418:
        text = f"{name} banned this IP for {wait or 0:.0f}s after too many requests: {msg}"
    else:
        text = f"{name} rate limit hit (retry after {wait or 0:.0f}s): {msg}"
    return RateLimitError(text, provider=name, retry_after=wait or DEFAULT_RATE_LIMIT_WAIT)


def translate(
    exc: BaseException,
    *,
    provider: str,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
    secrets: Iterable[str] = (),
) -> ProviderError:
    """The tradedata error for ``exc`` raised by a ccxt call to ``provider``.

    ``status`` and ``headers`` are those of the last HTTP response, when one arrived.
    """
    msg = scrub(f"{type(exc).__name__}: {exc}", secrets)
    name = provider
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, (ccxt.RateLimitExceeded, ccxt.DDoSProtection)) or status in (418, 429):
        return _rate_limited(exc, name, status, headers, msg)
    if isinstance(exc, ccxt.BadResponse):
        return InvalidResponseError(f"{name} sent an unusable response: {msg}", provider=name)
    if isinstance(exc, ccxt.OperationFailed) or (status is not None and status >= 500):
        return TemporaryProviderError(f"{name} is unreachable or failing: {msg}", provider=name)
    if isinstance(exc, ccxt.BadSymbol):
        return SymbolNotFoundError(f"{name} does not list this symbol: {msg}", provider=name)
    if isinstance(exc, ccxt.AuthenticationError):
        return AuthenticationError(f"{name} rejected the credentials: {msg}", provider=name)
    if isinstance(exc, (ccxt.NotSupported, ccxt.BadRequest)):
        return UnsupportedError(f"{name} cannot serve this request: {msg}", provider=name)
    if isinstance(exc, ccxt.ExchangeError):
        if status is None or status < 300:
            return InvalidResponseError(f"{name} sent an unusable response: {msg}", provider=name)
        return ProviderError(f"{name} refused the request: {msg}", provider=name)
    if isinstance(exc, (ValueError, TypeError, KeyError, IndexError, AttributeError)):
        return InvalidResponseError(f"{name} sent an unusable response: {msg}", provider=name)
    return ProviderError(f"{name} failed: {msg}", provider=name)
