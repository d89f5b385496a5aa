"""The plumbing between tradedata and yfinance.

yfinance talks to hard-coded hosts (``query1``/``query2.finance.yahoo.com``, ``fc.yahoo.com``,
``guce.yahoo.com`` ...) through one process-wide ``YfData`` singleton, and swallows HTTP
errors into log lines or generic exceptions. So:

* :class:`YahooSession` is the session class yfinance uses (curl_cffi's, impersonating Chrome,
  or requests' when yfinance runs without curl_cffi); it moves every Yahoo URL onto
  ``settings.url`` when one is given (a proxy or a fake server) and records each response's
  status, headers and start of body, so that errors can be classified from what Yahoo really
  answered.
* :func:`yfinance_call` serialises tradedata's use of yfinance (its singleton holds one
  session, cookie and crumb), installs the session for one operation and puts the previous
  one back, drops yfinance's in-process response cache (it would replay a failed answer on
  retry) and makes yfinance raise instead of logging.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from yfinance import _http as yf_http

from tradedata.adapters.transport import request_budget
from tradedata.redact import redact, upstream

__all__ = ["SeenResponse", "YahooSession", "yfinance_call"]

_LOCK = threading.RLock()
_BODY_KEPT = 4000


@dataclass
class SeenResponse:
    """One answer as the session received it (or the transport error instead)."""

    path: str
    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    text: str = ""
    error: BaseException | None = None


class YahooSession(yf_http.requests.Session):  # type: ignore[misc, name-defined]
    """yfinance's session class, optionally rebased onto another host, recording responses."""

    def __init__(self, base_url: str | None = None, timeout: float | None = None) -> None:
        kwargs: dict[str, Any] = {"impersonate": "chrome"} if yf_http.HAS_CURL_CFFI else {}
        super().__init__(**kwargs)
        if not yf_http.HAS_CURL_CFFI:
            self.headers.update({"User-Agent": yf_http._FALLBACK_USER_AGENT})
        self.base_url = base_url.rstrip("/") if base_url else None
        #: seconds one request may take in total (curl's timeout is total; see ``request``)
        self.timeout = timeout
        self.seen: list[SeenResponse] = []
        #: yfinance's (crumb, cookie, cookie strategy) obtained through this session
        self.yf_state: tuple[Any, Any, str] = (None, None, "basic")

    def __repr__(self) -> str:
        return f"<YahooSession base_url={self.base_url!r}>"

    def rewrite(self, url: str) -> str:
        """``url`` moved onto ``base_url`` when it points at a Yahoo host."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        if not self.base_url or not (host == "yahoo.com" or host.endswith(".yahoo.com")):
            return url
        base = urlsplit(self.base_url)
        path = base.path.rstrip("/") + (parts.path or "/")
        return urlunsplit((base.scheme, base.netloc, path, parts.query, ""))

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        """Send the request (rebased) and remember the answer (redacted, then cut).

        The timeout is at most ``timeout`` and what is left of the overall deadline; with
        curl_cffi (yfinance's default) a number is the limit for the whole transfer.
        """
        target = self.rewrite(url)
        path = urlsplit(target).path or "/"
        budget, _ = request_budget(self.timeout)
        if budget is not None:
            given = kwargs.get("timeout")
            kwargs["timeout"] = max(0.001, budget if given is None else min(float(given), budget))
        try:
            resp = super().request(method, target, *args, **kwargs)
        except Exception as exc:
            self.seen.append(SeenResponse(path, None, error=upstream(exc)))
            raise
        headers = {str(k): redact(str(v)) for k, v in resp.headers.items()}
        text = redact(resp.text)[:_BODY_KEPT]
        self.seen.append(SeenResponse(path, resp.status_code, headers, text))
        return resp

    def last(self, fragment: str) -> SeenResponse | None:
        """The most recent answer whose path contains ``fragment``."""
        for seen in reversed(self.seen):
            if fragment in seen.path:
                return seen
        return None


@contextmanager
def yfinance_call(session: YahooSession) -> Iterator[None]:
    """Hold yfinance for one operation through ``session`` (see the module docstring).

    The singleton's previous session, cookie and crumb are put back afterwards, so other users
    of yfinance in the process are not left with this session; this session's own cookie and
    crumb are kept on it for its next operation.
    """
    from yfinance.config import YfConfig
    from yfinance.data import YfData

    with _LOCK:
        data = YfData()
        saved = (data._session, data._crumb, data._cookie, data._cookie_strategy)
        data._set_session(session)
        data._crumb, data._cookie, data._cookie_strategy = session.yf_state
        YfData.cache_get.cache_clear()  # it would replay a failed answer on retry
        previous = YfConfig.debug.hide_exceptions
        YfConfig.debug.hide_exceptions = False
        session.seen.clear()
        try:
            yield
        finally:
            YfConfig.debug.hide_exceptions = previous
            session.yf_state = (data._crumb, data._cookie, data._cookie_strategy)
            data._set_session(saved[0])
            data._crumb, data._cookie, data._cookie_strategy = saved[1:]
            YfData.cache_get.cache_clear()
