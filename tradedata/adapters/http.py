"""The HTTP piece every REST provider shares.

* :class:`HttpClient`: one pooled ``requests.Session`` per provider (keep-alive, gzip), one call
  per request, HTTP status and transport errors mapped into :mod:`tradedata.errors`
  (401/403 auth, 404 symbol not found, 429 rate limit with ``Retry-After``, 5xx temporary,
  malformed JSON invalid response), and secrets redacted from every message.
* :class:`RestProvider`: a :class:`~tradedata.adapters.base.Provider` holding an
  :class:`HttpClient` built from its settings; retries, rate limits and the circuit breaker stay
  in :meth:`Provider.call`.
* Re-exported from :mod:`tradedata.adapters.rest_common`: helpers for providers that page by
  cursor (:class:`Continuations`) or by time window (:func:`fetch_windows`), and the time and
  frame helpers (:func:`local_to_utc`, :func:`session_labels`, :func:`bars_frame`).

Secrets never reach a message, a log record or an exception chain: errors carry the request path
without its query, library exceptions are replaced by a redacted stand-in before chaining, and a
log filter on ``urllib3.connectionpool`` strips registered secrets from its debug lines (which
print full URLs, query string included).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

import pandas as pd
import requests
from requests.adapters import HTTPAdapter

from tradedata.adapters.base import Provider, ProviderSettings
from tradedata.adapters.rest_common import (
    Continuations,
    bars_frame,
    fetch_windows,
    local_to_utc,
    session_labels,
)
from tradedata.errors import (
    AuthenticationError,
    InvalidResponseError,
    ProviderError,
    RateLimitError,
    SymbolNotFoundError,
    TemporaryProviderError,
    UnsupportedError,
)

__all__ = [
    "Continuations",
    "HttpClient",
    "HttpResponse",
    "RestProvider",
    "UpstreamError",
    "bars_frame",
    "error_for_status",
    "fetch_windows",
    "local_to_utc",
    "parse_retry_after",
    "redact",
    "register_secret",
    "session_labels",
]

USER_AGENT = "tradedata/0.1 (+https://pypi.org/project/tradedata)"
_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()


class UpstreamError(Exception):
    """Stand-in for a library exception whose text was redacted before chaining."""


def register_secret(value: str | None) -> None:
    """Remember ``value`` so that log records and messages never show it."""
    if value and len(value) >= 4:
        with _SECRETS_LOCK:
            _SECRETS.add(value)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret (and its URL-encoded forms) replaced by ``***``."""
    with _SECRETS_LOCK:
        known = set(_SECRETS)
    for secret in {*known, *(s for s in secrets if s)}:
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            text = text.replace(form, "***")
    return text


class _RedactFilter(logging.Filter):
    """Rewrites log records so that registered secrets never reach a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        with _SECRETS_LOCK:
            if not _SECRETS:
                return True
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_FILTER = _RedactFilter()
for _name in ("urllib3.connectionpool", "urllib3.util.retry", "requests"):
    _logger = logging.getLogger(_name)
    if _FILTER not in _logger.filters:
        _logger.addFilter(_FILTER)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    delta = pd.Timestamp(when).tz_convert("UTC") - pd.Timestamp.now(tz="UTC")
    return max(0.0, delta.total_seconds())


def error_for_status(
    provider: str, status: int, detail: str, *, retry_after: float | None = None
) -> ProviderError | None:
    """The error for an HTTP status (None for 2xx/3xx). ``detail`` must already be redacted."""
    if status < 400:
        return None
    text = f"{provider}: HTTP {status}" + (f" ({detail})" if detail else "")
    if status in (401, 403):
        return AuthenticationError(f"{text}: check the API key", provider=provider)
    if status == 404:
        return SymbolNotFoundError(text, provider=provider)
    if status == 429:
        return RateLimitError(text, provider=provider, retry_after=retry_after)
    if status in (408, 425) or status >= 500:
        return TemporaryProviderError(text, provider=provider)
    if status in (400, 405, 409, 410, 413, 414, 422):
        return UnsupportedError(f"{text}: the request was rejected", provider=provider)
    return ProviderError(text, provider=provider)


class HttpResponse:
    """What a classifier sees: status, headers, parsed JSON (None if not JSON) and text."""

    __slots__ = ("data", "headers", "path", "status", "text")

    def __init__(
        self, status: int, headers: Mapping[str, str], data: Any, text: str, path: str
    ) -> None:
        self.status = status
        self.headers = headers
        self.data = data
        self.text = text
        self.path = path

    @property
    def body(self) -> dict[str, Any]:
        """The parsed JSON when it is an object (where providers put error fields), else ``{}``."""
        return self.data if isinstance(self.data, dict) else {}

    @property
    def retry_after(self) -> float | None:
        """The ``Retry-After`` header in seconds, if any."""
        return parse_retry_after(self.headers.get("Retry-After"))


#: A provider hook that turns a response into an error (or None to accept it as data).
Classifier = Callable[[HttpResponse], ProviderError | None]
_JSON_TYPES = (dict, list)


class HttpClient:
    """A pooled HTTP session for one provider that returns JSON or raises our errors."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        *,
        timeout: float = 30.0,
        headers: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
        classify: Classifier | None = None,
        pool_size: int = 8,
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.classify = classify
        self._secrets = tuple(s for s in secrets if s)
        for secret in self._secrets:
            register_secret(secret)
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update(
            {"User-Agent": USER_AGENT, "Accept": "application/json", "Accept-Encoding": "gzip"}
        )
        self.session.headers.update(dict(headers or {}))
        self.requests = 0

    def __repr__(self) -> str:
        return f"<HttpClient {self.provider} {self.base_url}>"

    def redact(self, text: str) -> str:
        """``text`` with this client's secrets removed."""
        return redact(text, self._secrets)

    def url(self, path: str) -> str:
        """An absolute URL for ``path`` (absolute URLs are returned unchanged)."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def rebase(self, url: str) -> str:
        """``url`` moved onto this client's base URL (for cursors a provider hands out)."""
        parts, base = urlsplit(url), urlsplit(self.base_url)
        if parts.netloc == base.netloc and parts.scheme == base.scheme:
            return url
        path = base.path.rstrip("/") + parts.path
        return urlunsplit((base.scheme, base.netloc, path, parts.query, ""))

    def get_json(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """GET ``path`` and return its JSON body; raise a :mod:`tradedata.errors` error."""
        url = self.url(path)
        shown = urlsplit(url).path or "/"
        self.requests += 1
        try:
            resp = self.session.get(url, params=params, headers=headers, timeout=self.timeout)
        except requests.Timeout as exc:
            raise TemporaryProviderError(
                f"{self.provider}: request to {shown} timed out after {self.timeout:g}s",
                provider=self.provider,
            ) from UpstreamError(self.redact(f"{type(exc).__name__}: {exc}"))
        except requests.RequestException as exc:
            raise TemporaryProviderError(
                f"{self.provider}: cannot reach {shown} ({type(exc).__name__})",
                provider=self.provider,
            ) from UpstreamError(self.redact(f"{type(exc).__name__}: {exc}"))
        return self._interpret(resp, shown)

    def _interpret(self, resp: requests.Response, shown: str) -> Any:
        text = resp.text
        data: Any = None
        bad_json: ValueError | None = None
        try:
            data = resp.json() if text.strip() else None
        except ValueError as exc:
            bad_json = exc
        answer = HttpResponse(resp.status_code, resp.headers, data, text, shown)
        if self.classify is not None:
            err = self.classify(answer)
            if err is not None:
                raise err
        detail = self.redact(_detail(data, text))
        err = error_for_status(
            self.provider, resp.status_code, f"{shown}: {detail}".rstrip(": "),
            retry_after=answer.retry_after,
        )  # fmt: skip
        if err is not None:
            raise err
        if bad_json is not None or not isinstance(data, _JSON_TYPES):
            raise InvalidResponseError(
                f"{self.provider}: {shown} did not answer with JSON "
                f"({len(text)} bytes: {self.redact(text[:60])!r})",
                provider=self.provider,
            ) from (UpstreamError(self.redact(str(bad_json))) if bad_json else None)
        return data

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()


def _detail(data: Any, text: str) -> str:
    """A short error description from a JSON error body (or the start of the text)."""
    if isinstance(data, dict):
        for key in ("message", "error", "Error Message", "detail", "msg", "status"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return value[:200]
            if isinstance(value, dict) and value.get("description"):
                return str(value["description"])[:200]
    return " ".join(text.split())[:120]


class RestProvider(Provider):
    """A provider talking to a REST API through one :class:`HttpClient`."""

    #: the provider's public endpoint, used unless ``settings.url`` says otherwise
    default_url: ClassVar[str] = ""

    def __init__(self, settings: ProviderSettings | None = None) -> None:
        super().__init__(settings)
        self.http = HttpClient(
            self.name,
            self.settings.url or self.default_url,
            timeout=self.settings.timeout,
            headers=self.auth_headers(),
            secrets=self.secret_values(),
            classify=self.classify_response,
        )
        self.continuations = Continuations()

    def secret_values(self) -> list[str]:
        """The credentials to keep out of messages and logs."""
        return [s.get() for s in (self.settings.api_key, self.settings.secret) if s]

    def api_key(self) -> str:
        """The API key's value ('' when none is configured)."""
        return self.settings.api_key.get() if self.settings.api_key else ""

    def auth_headers(self) -> dict[str, str]:
        """Headers carrying credentials (providers that take keys in headers override this)."""
        return {}

    def classify_response(self, response: HttpResponse) -> ProviderError | None:
        """Provider-specific error bodies (the generic status mapping runs after this)."""
        return None

    def close(self) -> None:
        """Close the HTTP session."""
        self.http.close()
