"""The catalogue of a cache: which series and years are stored, and each partition's metadata.

Series records (``s|SYMBOL|TF``) list the years stored; partition metadata (``p|...``) names
the data generation in use. :class:`Catalog` reads and updates both; removing a partition
also removes its coverage (through :class:`~tradedata.cache.coverage.Coverage`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from tradedata.cache.backend import Backend
from tradedata.cache.coverage import Coverage
from tradedata.cache.layout import SeriesInfo, split_store_name
from tradedata.model import parse_timeframe

__all__ = ["Catalog"]

_INTERNAL = ("generation", "members")


class Catalog:
    """Stored series, their years and partition metadata (owned by the cache)."""

    def __init__(self, db: Backend, coverage: Coverage) -> None:
        self._db = db
        self._coverage = coverage

    def years(self, symbol: str, timeframe: str) -> list[int]:
        """The years stored for a series, ascending."""
        tf = parse_timeframe(timeframe).name
        try:
            record = self._db.get_json(self._db.series_key(symbol, tf)) or {}
            return sorted(int(y) for y in record.get("years", []))
        except (ValueError, AttributeError, TypeError):
            return []

    def metadata(self, symbol: str, timeframe: str, year: int) -> dict | None:
        """The metadata of one partition (None when it is not stored)."""
        tf = parse_timeframe(timeframe).name
        try:
            meta = self._db.get_json(self._db.meta_key(symbol, tf, int(year)))
        except ValueError:
            return None
        if meta is None:
            return None
        return {k: v for k, v in meta.items() if k not in _INTERNAL}

    def generation(self, meta_key: str) -> str | None:
        """The data generation a partition's metadata names (None if missing or unreadable)."""
        try:
            meta = self._db.get_json(meta_key)
        except ValueError:
            return None
        return meta.get("generation") if isinstance(meta, dict) else None

    def series(self) -> list[SeriesInfo]:
        """Every stored series with its range, bars, size, score, providers and years."""
        out = []
        for key in list(self._db.keys("s|")):
            _, symbol, tf = key.split("|", 2)
            metas = [m for y in self.years(symbol, tf) if (m := self.metadata(symbol, tf, y))]
            if metas:
                out.append(_summary(symbol, tf, metas))
        return out

    def sources(self, symbol: str, timeframe: str | None = None) -> list[str]:
        """The sources with partitions or coverage of ``symbol`` (at ``timeframe``) stored."""
        tf = parse_timeframe(timeframe).name if timeframe else None
        found = set()
        for prefix in ("s|", "c|"):
            for key in self._db.keys(f"{prefix}{symbol}"):
                _, name, key_tf = key.split("|", 2)
                source, plain = split_store_name(name)
                if plain == symbol and (tf is None or key_tf == tf):
                    found.add(source)
        return sorted(found)

    def timeframes(self, symbol: str) -> list[str]:
        """The timeframes of ``symbol`` with partitions or coverage stored."""
        found = set()
        for prefix in ("s|", "c|"):
            for key in self._db.keys(f"{prefix}{symbol}|"):
                found.add(key.split("|")[2])
        return sorted(found)

    def index_years(
        self, symbol: str, tf: str, add: Sequence[int] = (), remove: Sequence[int] = ()
    ) -> None:
        """Inside a transaction: update the series' list of years."""
        key = self._db.series_key(symbol, tf)
        try:
            current = set((self._db.get_json(key) or {}).get("years", []))
        except (ValueError, AttributeError):
            current = set()
        years = sorted((current | set(add)) - set(remove))
        if years:
            self._db.set_json(key, {"symbol": symbol, "timeframe": tf, "years": years})
        else:
            self._db.delete(key)

    def drop_partition(self, symbol: str, tf: str, year: int, *, uncover: bool) -> str | None:
        """Inside a transaction: remove a partition's keys; returns its data key to delete."""
        db = self._db
        try:
            gen = (db.get_json(db.meta_key(symbol, tf, year)) or {}).get("generation")
        except (ValueError, AttributeError):
            gen = None
        db.delete(db.meta_key(symbol, tf, year), db.atime_key(symbol, tf, year))
        self.index_years(symbol, tf, remove=[year])
        if uncover:
            self._coverage.uncover_year(symbol, tf, year)
        return db.data_key(symbol, tf, year, gen) if isinstance(gen, str) else None


def _summary(name: str, tf: str, metas: list[dict]) -> SeriesInfo:
    source, symbol = split_store_name(name)
    bars = sum(int(m.get("bars", 0)) for m in metas)
    scored = [
        (m["data_quality"]["score"], int(m.get("bars", 0)))
        for m in metas
        if isinstance(m.get("data_quality"), dict)
        and isinstance(m["data_quality"].get("score"), (int, float))
    ]
    weight = sum(w for _, w in scored)
    score = sum(s * w for s, w in scored) / weight if weight else None
    providers = sorted({p["provider"] for m in metas for p in m.get("providers", [])})
    return SeriesInfo(
        symbol=symbol,
        timeframe=tf,
        first=pd.Timestamp(metas[0]["first"]),
        last=pd.Timestamp(metas[-1]["last"]),
        bars=bars,
        bytes=sum(int(m.get("bytes", 0)) for m in metas),
        score=score,
        providers=tuple(providers),
        years=tuple(int(m["year"]) for m in metas),
        source=source,
    )
