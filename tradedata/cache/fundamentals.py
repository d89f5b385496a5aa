"""Fundamentals entries of :class:`~tradedata.cache.Cache`: JSON dicts with a time to live."""

from __future__ import annotations

import json
import math

from tradedata.cache.backend import Backend
from tradedata.cache.layout import check_name, dumps
from tradedata.errors import InputError

__all__ = ["FundamentalsStore"]


class FundamentalsStore:
    """Company fundamentals cached as JSON with an expiry (diskcache ``expire=``, ``f|`` keys).

    :class:`~tradedata.cache.Cache` owns one and exposes its public methods.
    """

    def __init__(self, db: Backend) -> None:
        self._db = db

    def get(self, key: str) -> dict | None:
        """The stored dict for ``key``, or None when missing or expired."""
        check_name(key, "fundamentals key")
        try:
            value = self._db.get_json(self._db.fundamentals_key(key))
        except ValueError:
            self._db.delete(self._db.fundamentals_key(key))
            return None
        return value if isinstance(value, dict) else None

    def set(self, key: str, value: dict, ttl: float | None) -> None:
        """Store ``value`` (JSON-able: numpy scalars and timestamps are converted) for ``ttl`` s.

        ``ttl=None`` keeps it until deleted. Raises :class:`InputError` for a bad ``ttl`` or a
        value that cannot be stored as JSON.
        """
        check_name(key, "fundamentals key")
        if not isinstance(value, dict):
            raise InputError(f"fundamentals must be a dict, got {type(value).__name__}")
        if ttl is not None and (
            isinstance(ttl, bool)
            or not isinstance(ttl, (int, float))
            or not math.isfinite(ttl)
            or ttl <= 0
        ):
            raise InputError(f"ttl must be a positive number of seconds, got {ttl!r}")
        try:
            text = dumps(value)
        except (TypeError, ValueError) as exc:
            raise InputError(f"fundamentals for {key!r} are not JSON-serialisable: {exc}") from exc
        with self._db.transact():
            self._db.dc.expire()
            self._db.dc.set(self._db.fundamentals_key(key), text, expire=ttl, retry=True)

    def expiry(self, key: str) -> float | None:
        """Epoch seconds when ``key`` expires (None: never, or not stored)."""
        found = self._db.dc.get(self._db.fundamentals_key(key), expire_time=True)
        return found[1] if found[0] is not None else None

    def delete(self, key: str) -> bool:
        """Remove ``key``; True if it was stored."""
        return bool(self._db.dc.delete(self._db.fundamentals_key(key), retry=True))

    def keys(self) -> list[str]:
        """The keys of every fundamentals entry still valid, sorted."""
        out = []
        for key in self._db.keys("f|"):
            if key in self._db.dc:  # membership skips expired entries
                out.append(key[2:])
        return sorted(out)

    def items(self) -> list[tuple[str, dict, float | None]]:
        """Every valid entry as ``(key, value, expires_at)``."""
        out = []
        for name in self.keys():
            text, expires = self._db.dc.get(self._db.fundamentals_key(name), expire_time=True)
            if text is None:
                continue
            try:
                value = json.loads(text)
            except ValueError:
                continue
            if isinstance(value, dict):
                out.append((name, value, expires))
        return out
