"""The one place secrets are removed from text, log records and exception chains.

Every credential tradedata reads is registered here as soon as it is wrapped in
:class:`~tradedata.adapters.base.Secret` (or handed to :func:`register_secret`). From then on:

* :func:`redact` replaces it with ``***`` in any text, in every encoding a key takes on its way
  through a URL, a header or a body and back in an echo: raw, percent-encoded (``quote`` with and
  without ``/`` kept, ``quote_plus``; upper- or lower-case hex), JSON-escaped (also with ``\\/``),
  HTML-escaped, base64 (standard and URL-safe, with and without padding) and, for a key and
  secret registered as a pair, base64 of ``key:secret`` (HTTP basic auth).
* Every log record created anywhere in the process is redacted when it is made (a wrapper around
  the log record factory, installed with the first secret), traceback text included.
* :func:`upstream` turns a library exception (requests', urllib3's, ccxt's, yfinance's) into a
  :class:`UpstreamError` stand-in that holds only a redacted one-line summary: translated errors
  chain to it instead of the original, whose attributes (``PreparedRequest.url``, urllib3's
  ``ReadTimeoutError.url``, request headers) carry the key. :func:`scrub_chain` enforces that on
  an error already built: every link of ``__cause__``/``__context__`` that is not ours is
  replaced by its stand-in, and every message is redacted.

Redact first, then cut: callers shorten text only after :func:`redact` ran on all of it.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = [
    "CCXT_CREDENTIALS",
    "MASK",
    "Secret",
    "UpstreamError",
    "connection_refused",
    "redact",
    "redact_data",
    "register_pair",
    "register_secret",
    "scrub_chain",
    "upstream",
]

MASK = "***"
#: ccxt's credential fields (``Exchange.requiredCredentials``): secrets when given as options
CCXT_CREDENTIALS = frozenset(
    {"apiKey", "secret", "uid", "accountId", "login", "password", "twofa", "privateKey",
     "walletAddress", "token"}
)  # fmt: skip
#: shorter values are not treated as secrets (they would mask ordinary text)
MIN_LENGTH = 4
_SUMMARY_LIMIT = 300

_LOCK = threading.Lock()
_SECRETS: set[str] = set()
_PATTERN: re.Pattern[str] | None = None
_factory_installed = False
_HEX = re.compile(r"%[0-9A-Fa-f]{2}")


class Secret:
    """A credential that never shows itself in ``str``, ``repr``, logs or tracebacks.

    Its value is registered (:func:`register_secret`) when it is wrapped, so that every message,
    log record and error chain masks it from then on, in any encoding.
    (Also importable as ``tradedata.adapters.base.Secret``.)
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register_secret(value)

    def get(self) -> str:
        """The actual secret value; pass it only to the client that needs it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class UpstreamError(Exception):
    """Stand-in for a library exception: only its redacted type and message, nothing else.

    ``refused`` says whether the original chain held a refused TCP connection (nothing listens
    there), so retry policies can still tell that apart once the original is gone.
    """

    refused: bool = False


def connection_refused(error: BaseException) -> bool:
    """True when ``error``'s chain shows a refused TCP connection (nothing listens there)."""
    seen: BaseException | None = error
    for _ in range(12):
        if seen is None:
            return False
        if isinstance(seen, ConnectionRefusedError) or getattr(seen, "refused", False) is True:
            return True
        if "connection refused" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _pct_insensitive(form: str) -> str:
    """A regex for ``form`` whose ``%XX`` escapes match upper- and lower-case hex."""
    out: list[str] = []
    i = 0
    while i < len(form):
        if _HEX.match(form, i):
            hexes = form[i + 1 : i + 3]
            out.append(
                "%" + "".join(f"[{h.upper()}{h.lower()}]" if h.isalpha() else h for h in hexes)
            )
            i += 3
        else:
            out.append(re.escape(form[i]))
            i += 1
    return "".join(out)


def _b64_forms(raw: str) -> set[str]:
    data = raw.encode()
    forms = set()
    for encoded in (base64.b64encode(data).decode(), base64.urlsafe_b64encode(data).decode()):
        forms.add(encoded)
        forms.add(encoded.rstrip("="))
    return {f for f in forms if len(f) >= MIN_LENGTH}


def _forms(secret: str) -> set[str]:
    """Every spelling of ``secret`` a URL, header, body or echo of them may contain."""
    forms = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        quote_plus(secret, safe="/"),
        html.escape(secret),
    }
    for ascii_only in (True, False):
        escaped = json.dumps(secret, ensure_ascii=ascii_only)[1:-1]
        forms.update({escaped, escaped.replace("/", "\\/")})
    forms.update(_b64_forms(secret))
    return {f for f in forms if f}


def _compile(secrets: Iterable[str]) -> re.Pattern[str] | None:
    forms = {form for secret in secrets for form in _forms(secret)}
    if not forms:
        return None
    ordered = sorted(forms, key=len, reverse=True)  # the longest spelling wins
    return re.compile("|".join(_pct_insensitive(f) for f in ordered))


def register_secret(value: str | None) -> None:
    """Remember ``value`` so that no text, log record or error chain shows it from now on."""
    global _PATTERN
    if not isinstance(value, str) or len(value) < MIN_LENGTH:
        return
    with _LOCK:
        if value in _SECRETS:
            return
        _SECRETS.add(value)
        _PATTERN = _compile(_SECRETS)
    _install_record_factory()


def register_pair(key: str | None, secret: str | None) -> None:
    """Register a key and secret, and their HTTP basic-auth form ``base64(key:secret)``."""
    register_secret(key)
    register_secret(secret)
    if key and secret:
        global _PATTERN
        forms = _b64_forms(f"{key}:{secret}")
        with _LOCK:
            _SECRETS.update(forms)
            _PATTERN = _compile(_SECRETS)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every registered secret (and each of ``secrets``) in any encoding masked."""
    extra = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_LENGTH}
    known = _snapshot() if extra else set()
    pattern = _PATTERN if extra <= known else _compile(known | extra)
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)


def _snapshot() -> set[str]:
    with _LOCK:
        return set(_SECRETS)


def redact_data(value: Any) -> Any:
    """``value`` (parsed JSON: dicts, lists, strings) with secrets masked in every string."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {
            redact(str(k)) if isinstance(k, str) else k: redact_data(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_data(v) for v in value]
    return value


def summary(exc: BaseException, limit: int = _SUMMARY_LIMIT) -> str:
    """``Type: message`` of ``exc``, redacted, on one line, then cut to ``limit`` characters."""
    text = " ".join(redact(f"{type(exc).__name__}: {exc}").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def upstream(exc: BaseException) -> UpstreamError:
    """A stand-in for ``exc`` carrying only :func:`summary` (chain translated errors to it)."""
    stand_in = UpstreamError(summary(exc))
    stand_in.refused = connection_refused(exc)  # a yes/no: nothing secret in it
    stand_in.__suppress_context__ = True
    return stand_in


def _is_ours(exc: BaseException) -> bool:
    from tradedata.errors import TradeDataError

    return isinstance(exc, (TradeDataError, UpstreamError))


def _clean_args(exc: BaseException) -> None:
    if any(isinstance(a, str) for a in exc.args):
        cleaned = tuple(redact(a) if isinstance(a, str) else a for a in exc.args)
        if cleaned != exc.args:
            exc.args = cleaned


def scrub_chain(exc: BaseException) -> BaseException:
    """Make ``exc``'s whole chain safe to show, in place; returns ``exc``.

    Messages of our errors are redacted; every ``__cause__``/``__context__`` link that is not one
    of ours is replaced by its :func:`upstream` stand-in (which ends the chain there). Errors
    grouped inside ours (``AllProvidersFailedError.errors``) are scrubbed too.
    """
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        _clean_args(current)
        for attr in ("__cause__", "__context__"):
            link = getattr(current, attr)
            if link is None:
                continue
            if not _is_ours(link):
                link = upstream(link)
                setattr(current, attr, link)
            todo.append(link)
        nested = getattr(current, "errors", None)
        if isinstance(nested, dict):
            todo.extend(e for e in nested.values() if isinstance(e, BaseException) and _is_ours(e))
    return exc


# -- log records ----------------------------------------------------------------------------------
def _install_record_factory() -> None:
    """Wrap the log record factory once, so that every record is redacted when it is created."""
    global _factory_installed
    with _LOCK:
        if _factory_installed:
            return
        _factory_installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _redact_record(record)
        return record

    logging.setLogRecordFactory(factory)


def _redact_record(record: logging.LogRecord) -> None:
    if _PATTERN is None:
        return
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: leave it to logging to report
        return
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[1] is not None:
        text = logging.Formatter().formatException(record.exc_info)
        clean_text = redact(text)
        if clean_text != text:
            record.exc_text = clean_text
            scrub_chain(record.exc_info[1])
            record.exc_info = None
