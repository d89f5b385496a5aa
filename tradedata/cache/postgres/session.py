"""One process's connection to the PostgreSQL store, and the errors it may raise.

:class:`Session` opens connections with the password kept apart from the URL, runs a function
in one transaction on the process's connection (reopened after a fork: a child never uses, nor
closes, its parent's session), and turns every database error into one scrubbed
:class:`~tradedata.errors.CacheError`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from tradedata.cache.postgres.dsn import redact, secrets_of, store_error, strip_password
from tradedata.errors import CacheError
from tradedata.redact import Secret

__all__ = ["Session"]

#: connections a forked child inherited (never closed by the child: they are the parent's)
_INHERITED: list[Any] = []


class Session:
    """Connections to one database: ``url`` (its password is taken out), ``password``."""

    def __init__(self, url: str, password: str | Secret | None = None) -> None:
        self._url, in_url = strip_password(url)
        given = password.get() if isinstance(password, Secret) else password
        plain = given or in_url
        self._secrets = secrets_of(url, plain)
        # registered: every log record and error chain of the process masks it from now on
        self._password = Secret(plain) if plain else None
        #: the URL as shown to people: any password replaced by ``***``
        self.location = redact(url)
        self._lock = threading.RLock()
        self._conn: Any = None
        self._pid = 0

    def connect(self) -> Any:
        """A new autocommit connection (the caller closes it)."""
        try:
            import psycopg
        except ImportError as exc:
            raise CacheError(
                "the PostgreSQL store needs psycopg: pip install 'tradedata[postgresql]'"
            ) from exc
        kwargs: dict[str, Any] = {"autocommit": True, "application_name": "tradedata"}
        if self._password:
            kwargs["password"] = self._password.get()
        return psycopg.connect(self._url, **kwargs)

    def connection(self) -> Any:
        """This process's connection (opened on first use, and after a fork)."""
        if self._conn is not None and self._pid != os.getpid():
            _INHERITED.append(self._conn)
            self._conn = None
        if self._conn is None or self._conn.closed:
            self._conn = self.connect()
            self._pid = os.getpid()
        return self._conn

    @contextmanager
    def guard(self, what: str) -> Iterator[None]:
        """Database errors as one scrubbed :class:`CacheError` (no password, no chain)."""
        try:
            import psycopg
        except ImportError:
            yield
            return
        try:
            yield
        except psycopg.Error as exc:
            error = store_error(what, exc, self.location, self._secrets)
        else:
            return
        if self._conn is not None and self._conn.closed:
            self._conn = None
        raise error

    def run(self, fn: Callable[[Any], Any], what: str = "query") -> Any:
        """``fn(cursor)`` inside one transaction."""
        with self._lock, self.guard(what):
            conn = self.connection()
            with conn.transaction(), conn.cursor() as cur:
                return fn(cur)

    @contextmanager
    def advisory_lock(self, key: str, span: str) -> Iterator[None]:
        """A session advisory lock on ``(key, span)`` held on a connection of its own (so the
        holder's own transactions commit while it holds it); the server releases it if the
        holder dies."""
        with self.guard("taking a fetch lock"):
            conn = self.connect()
        try:
            with self.guard("taking a fetch lock"):
                conn.execute("SELECT pg_advisory_lock(hashtext(%s), hashtext(%s))", (key, span))
            yield
        finally:
            conn.close()  # closing the session releases its advisory locks

    def close(self) -> None:
        """Close this process's connection."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                with suppress(Exception):
                    self._conn.close()
            self._conn = None
