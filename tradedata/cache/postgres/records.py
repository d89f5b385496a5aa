"""Coverage spans and fundamentals entries in PostgreSQL (the span algebra is the cache's).

Coverage of a series is rewritten whole under the series row's lock (``SELECT ... FOR
UPDATE``), with :mod:`tradedata.cache.coverage`'s pure functions deciding the new spans, so
concurrent writers from many machines merge exactly as in the embedded store.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from tradedata.cache.coverage import Grid, Span, add_span, remove_span
from tradedata.cache.layout import check_name, dumps
from tradedata.cache.postgres.schema import SCHEMA
from tradedata.errors import InputError
from tradedata.model import Timeframe

__all__ = ["Actions", "Fundamentals", "load_spans", "save_spans", "update_spans"]


def load_spans(cur: Any, series_id: int) -> list[Span]:
    """The stored spans of a series, oldest first."""
    cur.execute(
        f"SELECT start_ns, end_ns, provider, fetched_at_ns FROM {SCHEMA}.coverage"
        " WHERE series_id = %s ORDER BY start_ns",
        (series_id,),
    )
    return [(int(s), int(e), str(p), int(f)) for s, e, p, f in cur.fetchall()]


def save_spans(cur: Any, series_id: int, spans: list[Span]) -> None:
    """Replace the series' spans (inside a transaction)."""
    cur.execute(f"DELETE FROM {SCHEMA}.coverage WHERE series_id = %s", (series_id,))
    if spans:
        cur.executemany(
            f"INSERT INTO {SCHEMA}.coverage (series_id, start_ns, end_ns, provider,"
            " fetched_at_ns) VALUES (%s, %s, %s, %s, %s)",
            [(series_id, *span) for span in spans],
        )


def update_spans(
    cur: Any,
    series_id: int,
    tf: Timeframe,
    lo: int,
    hi: int,
    provider: str | None,
    fetched_at: int | None = None,
) -> None:
    """Add (``provider`` given) or remove ``[lo, hi]`` (the series row must be locked)."""
    spans = load_spans(cur, series_id)
    if provider is None:
        new = remove_span(spans, lo, hi, Grid(tf))
    else:
        when = time.time_ns() if fetched_at is None else fetched_at
        new = add_span(spans, lo, hi, provider, when, Grid(tf))
    if new != spans:
        save_spans(cur, series_id, new)


def _check_ttl(ttl: Any) -> None:
    if ttl is not None and (
        isinstance(ttl, bool)
        or not isinstance(ttl, (int, float))
        or not math.isfinite(ttl)
        or ttl <= 0
    ):
        raise InputError(f"ttl must be a positive number of seconds, got {ttl!r}")


class Fundamentals:
    """Fundamentals entries: JSON text with an expiry (epoch seconds, NULL = never)."""

    def __init__(self, run: Any) -> None:
        self._run = run  # run(fn) calls fn(cursor) inside a transaction

    def get(self, key: str) -> dict | None:
        """The stored dict for ``key``, or None when missing or expired."""
        check_name(key, "fundamentals key")

        def fetch(cur: Any) -> Any:
            cur.execute(
                f"SELECT value FROM {SCHEMA}.fundamentals WHERE key = %s"
                " AND (expires_at IS NULL OR expires_at > %s)",
                (key, time.time()),
            )
            return cur.fetchone()

        row = self._run(fetch)
        if row is None:
            return None
        try:
            value = json.loads(row[0])
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def set(self, key: str, value: dict, ttl: float | None) -> None:
        """Store ``value`` for ``ttl`` seconds (None: until deleted)."""
        check_name(key, "fundamentals key")
        if not isinstance(value, dict):
            raise InputError(f"fundamentals must be a dict, got {type(value).__name__}")
        _check_ttl(ttl)
        try:
            text = dumps(value)
        except (TypeError, ValueError) as exc:
            raise InputError(f"fundamentals for {key!r} are not JSON-serialisable: {exc}") from exc
        expires = None if ttl is None else time.time() + float(ttl)

        def put(cur: Any) -> None:
            cur.execute(f"DELETE FROM {SCHEMA}.fundamentals WHERE expires_at <= %s", (time.time(),))
            cur.execute(
                f"INSERT INTO {SCHEMA}.fundamentals (key, value, expires_at) VALUES (%s, %s, %s)"
                " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value,"
                " expires_at = EXCLUDED.expires_at",
                (key, text, expires),
            )

        self._run(put)

    def expiry(self, key: str) -> float | None:
        """Epoch seconds when ``key`` expires (None: never, or not stored)."""

        def fetch(cur: Any) -> Any:
            cur.execute(
                f"SELECT expires_at FROM {SCHEMA}.fundamentals WHERE key = %s"
                " AND (expires_at IS NULL OR expires_at > %s)",
                (key, time.time()),
            )
            return cur.fetchone()

        row = self._run(fetch)
        return None if row is None or row[0] is None else float(row[0])

    def delete(self, key: str) -> bool:
        """Remove ``key``; True if it was stored."""

        def drop(cur: Any) -> int:
            cur.execute(f"DELETE FROM {SCHEMA}.fundamentals WHERE key = %s", (key,))
            return int(cur.rowcount)

        return bool(self._run(drop))

    def keys(self) -> list[str]:
        """Keys of every valid entry, sorted."""

        def fetch(cur: Any) -> list[Any]:
            cur.execute(
                f"SELECT key FROM {SCHEMA}.fundamentals WHERE expires_at IS NULL"
                " OR expires_at > %s ORDER BY key",
                (time.time(),),
            )
            return list(cur.fetchall())

        return [str(r[0]) for r in self._run(fetch)]


class Actions:
    """Corporate-actions records: one JSON record of splits and dividends per symbol.

    The record is :class:`tradedata.actions.CorporateActions` in its ``to_json`` form, as the
    embedded store keeps it; an unreadable record is dropped (and so fetched again).
    """

    def __init__(self, run: Any) -> None:
        self._run = run

    @staticmethod
    def _model() -> Any:
        from importlib import import_module

        return import_module("tradedata.actions").CorporateActions

    def get(self, symbol: str) -> Any:
        """The record of ``symbol`` (None when none is stored or it is unreadable)."""
        check_name(symbol, "symbol")

        def fetch(cur: Any) -> Any:
            cur.execute(
                f"SELECT record FROM {SCHEMA}.actions WHERE source = '' AND symbol = %s",
                (symbol,),
            )
            return cur.fetchone()

        row = self._run(fetch)
        if row is None:
            return None
        try:
            return self._model().from_json(row[0])
        except (ValueError, TypeError, KeyError):
            self.delete(symbol)
            return None

    def set(self, symbol: str, actions: Any) -> None:
        """Replace the record of ``symbol``."""
        check_name(symbol, "symbol")
        text = dumps(actions.to_json())

        def put(cur: Any) -> None:
            cur.execute(
                f"INSERT INTO {SCHEMA}.actions (symbol, record) VALUES (%s, %s::jsonb)"
                " ON CONFLICT (source, symbol) DO UPDATE SET record = EXCLUDED.record,"
                " updated_at = now()",
                (symbol, text),
            )

        self._run(put)

    def delete(self, symbol: str) -> bool:
        """Remove the record of ``symbol``; True if there was one."""

        def drop(cur: Any) -> int:
            cur.execute(
                f"DELETE FROM {SCHEMA}.actions WHERE source = '' AND symbol = %s", (symbol,)
            )
            return int(cur.rowcount)

        return bool(self._run(drop))

    def symbols(self) -> list[str]:
        """Every symbol with a record, sorted."""

        def fetch(cur: Any) -> list[Any]:
            cur.execute(f"SELECT symbol FROM {SCHEMA}.actions WHERE source = '' ORDER BY symbol")
            return list(cur.fetchall())

        return [str(r[0]) for r in self._run(fetch)]
