"""Store URLs without their secrets: redaction for reprs, logs and errors.

A ``postgresql://user:secret@host/db`` URL is shown as ``postgresql://user:***@host/db``;
a ``password=`` query parameter likewise. :func:`store_error` turns a psycopg exception (whose
text can quote the connection string) into a :class:`~tradedata.errors.CacheError` with every
known secret removed and no chained cause.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from tradedata.errors import CacheError

__all__ = ["redact", "secrets_of", "store_error", "strip_password"]

_MASK = "***"


def secrets_of(url: str, extra: str | None = None) -> list[str]:
    """Every password spelled in ``url`` (user-info and ``password=``), plus ``extra``."""
    found: list[str] = [extra] if extra else []
    parts = urlsplit(url)
    if parts.password:
        found += [parts.password, unquote(parts.password)]
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.lower() == "password" and value:
            found.append(value)
    return [s for s in dict.fromkeys(found) if s]


def strip_password(url: str) -> tuple[str, str | None]:
    """``url`` without its password, and the password (None when there was none)."""
    parts = urlsplit(url)
    password = unquote(parts.password) if parts.password else None
    netloc = parts.netloc.rsplit("@", 1)
    host = netloc[-1]
    if len(netloc) == 2:
        user = netloc[0].split(":", 1)[0]
        host = f"{user}@{host}"
    query = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.lower() == "password":
            password = password or value
        else:
            query.append((key, value))
    clean = urlunsplit((parts.scheme, host, parts.path, urlencode(query), parts.fragment))
    return clean, password


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***`` (safe to print)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}:{_MASK}@{host}"
    query = [
        (k, _MASK if k.lower() == "password" else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(
        (parts.scheme, netloc, parts.path, urlencode(query, safe="*"), parts.fragment)
    )


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with every secret and every ``password=...`` setting masked."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, _MASK)
    return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", rf"\g<1>{_MASK}", text, flags=re.I)


def store_error(what: str, exc: BaseException, location: str, secrets: list[str]) -> CacheError:
    """A :class:`CacheError` for ``exc`` naming ``location``; secrets removed, no cause kept."""
    said = scrub(str(exc).strip() or type(exc).__name__, secrets)
    error = CacheError(f"PostgreSQL store {location}: {what}: {said}")
    error.__suppress_context__ = True
    return error
