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

Secrets never reach a message, a log record or an exception chain (:mod:`tradedata.redact`):
the response is redacted as a whole (text, parsed JSON, headers) before a classifier, a message
or a cut sees it; errors carry the request path without its query; transport errors are raised
outside the library's handler, chained to a redacted stand-in.

Each request has a total deadline (connect + headers + body): ``timeout`` seconds, or less when
the caller's overall deadline ends sooner (:mod:`tradedata.adapters.transport`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import requests
from requests.structures import CaseInsensitiveDict

from tradedata.adapters.base import Provider, ProviderSettings
from tradedata.adapters.rest_common import (
    Continuations,
    bars_frame,
    fetch_windows,
    local_to_utc,
    session_labels,
)
from tradedata.adapters.transport import DeadlineSession, TotalTimeout
from tradedata.errors import (
    AuthenticationError,
    InvalidResponseError,
    ProviderError,
    RateLimitError,
    SymbolNotFoundError,
    TemporaryProviderError,
    UnsupportedError,
)
from tradedata.redact import UpstreamError, redact, register_secret, upstream

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
        self.session = DeadlineSession(timeout, pool_size=pool_size)
        self.session.headers.update(
            {"User-Agent": USER_AGENT, "Accept": "application/json", "Accept-Encoding": "gzip"}
        )
        self.session.headers.update(dict(headers or {}))
        self.requests = 0

    def __repr__(self) -> str:
        return f"<HttpClient {self.provider} {self.base_url}>"

    def redact(self, text: str) -> str:
        """``text`` with this client's (and every registered) secret removed."""
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
        except requests.RequestException as exc:
            failure: ProviderError = self._transport_error(exc, shown)
            cause = upstream(exc)
        else:
            return self._interpret(resp, shown)
        # raised outside the handler: the library's exception (full URL inside) is not chained
        raise failure from cause

    def _transport_error(self, exc: requests.RequestException, shown: str) -> ProviderError:
        if isinstance(exc, requests.Timeout):
            text = f"request to {shown} timed out after {self.timeout:g}s"
            if isinstance(exc, TotalTimeout):
                text += " (the limit for connect, headers and body together)"
        elif isinstance(exc, requests.TooManyRedirects):
            text = f"request to {shown} was redirected too often"
        else:
            text = f"cannot reach {shown} ({type(exc).__name__})"
        return TemporaryProviderError(f"{self.provider}: {text}", provider=self.provider)

    def _interpret(self, resp: requests.Response, shown: str) -> Any:
        answer, bad_json = _redacted_answer(resp, shown)
        if self.classify is not None:
            err = self.classify(answer)
            if err is not None:
                raise err
        text, data = answer.text, answer.data
        detail = _detail(data, text)
        err = error_for_status(
            self.provider, resp.status_code, f"{shown}: {detail}".rstrip(": "),
            retry_after=answer.retry_after,
        )  # fmt: skip
        if err is not None:
            raise err
        if bad_json is not None or not isinstance(data, _JSON_TYPES):
            raise InvalidResponseError(
                f"{self.provider}: {shown} did not answer with JSON "
                f"({len(text)} bytes: {text[:60]!r})",
                provider=self.provider,
            ) from bad_json
        return data

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()


def _redacted_answer(
    resp: requests.Response, shown: str
) -> tuple[HttpResponse, UpstreamError | None]:
    """The response with every secret masked (text, JSON, headers), and a JSON error if any.

    The whole body is redacted before anything reads or cuts it; when a secret was masked the
    JSON is parsed again from the redacted text, so classifiers never see the original.
    """
    text = redact(resp.text)
    data: Any = None
    bad_json: UpstreamError | None = None
    try:
        data = json.loads(text) if text.strip() else None
    except ValueError as exc:  # the decode error keeps the whole body in .doc: not chained
        bad_json = UpstreamError(f"{type(exc).__name__}: {exc.args[0] if exc.args else ''}")
    headers = CaseInsensitiveDict({k: redact(v) for k, v in resp.headers.items()})
    return HttpResponse(resp.status_code, headers, data, text, shown), bad_json


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
