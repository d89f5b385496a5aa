"""Corporate-actions records of :class:`~tradedata.cache.Cache`: one per symbol (``x|`` keys).

A record holds a symbol's splits and cash dividends (ex-date, ratio or as-traded amount), when
a provider last confirmed them and which one (:class:`~tradedata.actions.CorporateActions`).
Bars are stored as traded; these records are what adjusts them on read. In the plain-file
tree they are ``actions/SYMBOL.json`` (``{"symbol", "splits", "dividends", "checked_at",
"source", "since"}``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tradedata.actions import CorporateActions
from tradedata.cache.backend import Backend
from tradedata.cache.layout import check_name, dumps, file_safe
from tradedata.errors import CacheError

__all__ = ["ActionsStore"]


class ActionsStore:
    """Splits and dividends per symbol; :class:`~tradedata.cache.Cache` owns one."""

    def __init__(self, db: Backend) -> None:
        self._db = db

    def get(self, symbol: str) -> CorporateActions | None:
        """The record of ``symbol`` (None when none is stored or it is unreadable)."""
        check_name(symbol, "symbol")
        key = self._db.actions_key(symbol)
        try:
            data = self._db.get_json(key)
            return None if not isinstance(data, dict) else CorporateActions.from_json(data)
        except (ValueError, TypeError, KeyError):
            self._db.delete(key)  # a damaged record is fetched again
            return None

    def set(self, symbol: str, actions: CorporateActions) -> None:
        """Replace the record of ``symbol``."""
        check_name(symbol, "symbol")
        self._db.set_json(self._db.actions_key(symbol), actions.to_json())

    def delete(self, symbol: str) -> bool:
        """Remove the record of ``symbol``; True if there was one."""
        return bool(self._db.dc.delete(self._db.actions_key(symbol), retry=True))

    def symbols(self) -> list[str]:
        """Every symbol with a record, sorted."""
        return sorted(key[2:] for key in self._db.keys("x|"))

    # -- the plain-file tree -------------------------------------------------------------------
    def export(self, folder: Path, write: Callable[[Path, bytes], None]) -> None:
        """Write every record as ``folder/SYMBOL.json`` with ``write(path, data)``."""
        used: set[str] = set()
        for symbol in self.symbols():
            record = self.get(symbol)
            if record is None:
                continue
            name = file_safe(symbol)
            while name in used:
                name += "_"
            used.add(name)
            write(folder / f"{name}.json", dumps({"symbol": symbol, **record.to_json()}).encode())

    @staticmethod
    def check_tree(folder: Path) -> list[tuple[str, CorporateActions]]:
        """Parse every ``folder/*.json`` record; :class:`CacheError` names a malformed one."""
        out = []
        for path in sorted(folder.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                symbol = data["symbol"]
                check_name(symbol, "symbol")
                out.append((symbol, CorporateActions.from_json(data)))
            except (OSError, ValueError, TypeError, KeyError) as exc:
                raise CacheError(f"malformed tree file {path}: {exc}") from exc
        return out
