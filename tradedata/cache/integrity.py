"""Damage handling: quarantine of bad partitions, ``verify()``, garbage collection, eviction.

A damaged partition (bad checksum, bad gzip stream, unreadable metadata, missing file) is moved
to ``<cache>/quarantine/SYMBOL/TF/`` with its metadata and the reason, removed from the store
with its coverage (so it is fetched again), and reported with a :class:`CacheCorruptionWarning`
and a log record. The user never gets a traceback from it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from tradedata.cache.backend import Backend
from tradedata.cache.catalog import Catalog
from tradedata.cache.layout import (
    CacheCorruptionWarning,
    Damage,
    dumps,
    file_safe,
    iso,
    timeframe_dir,
)
from tradedata.cache.partitions import Rows

#: Reads every row of a partition (symbol, timeframe, year, metadata); quarantines on damage.
LoadRows = Callable[[str, str, int, dict], Rows | None]

__all__ = ["Integrity", "Quarantine"]

log = logging.getLogger("tradedata.cache")


def _split_key(key: str) -> tuple[str, str, int] | None:
    parts = key.split("|")
    if len(parts) < 4:
        return None
    try:
        return parts[1], parts[2], int(parts[3])
    except ValueError:
        return None


class Quarantine:
    """The quarantine folder: damaged partitions are moved there and removed from the store."""

    def __init__(self, db: Backend, catalog: Catalog, directory: Path) -> None:
        self._db = db
        self._catalog = catalog
        self.directory = directory

    def quarantine(
        self, symbol: str, tf: str, year: int, seen: dict | None, reason: str
    ) -> Damage | None:
        """Move a damaged partition aside; None if it was replaced meanwhile (not damaged)."""
        db = self._db
        meta_key = db.meta_key(symbol, tf, year)
        seen_gen = (seen or {}).get("generation")
        with db.transact():
            if self._catalog.generation(meta_key) != seen_gen:
                return None
            raw_meta = db.dc.get(meta_key)
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"-{time.time_ns() % 10**9:09d}"
            folder = self.directory / file_safe(symbol) / timeframe_dir(tf)
            folder.mkdir(parents=True, exist_ok=True)
            base = folder / f"{year}-{stamp}"
            kept = self._move_data(db, symbol, tf, year, seen_gen, base.with_suffix(".gz"))
            record = {
                "symbol": symbol,
                "timeframe": tf,
                "year": year,
                "reason": reason,
                "detected_at": iso(time.time_ns()),
                "data_file": kept.name if kept else None,
                "metadata": seen if seen and seen_gen else raw_meta,
            }
            (folder / f"{year}-{stamp}.metadata.json").write_text(dumps(record))
            stale = self._catalog.drop_partition(symbol, tf, year, uncover=True)
            if stale:
                db.delete(stale)
        message = (
            f"cache partition {symbol} {tf} {year} is damaged ({reason}); moved to "
            f"{folder}, it will be fetched again"
        )
        log.warning(message)
        warnings.warn(message, CacheCorruptionWarning, stacklevel=5)
        return Damage(symbol, tf, year, reason, kept, pd.Timestamp(record["detected_at"]))

    @staticmethod
    def _move_data(
        db: Backend, symbol: str, tf: str, year: int, gen: Any, dest: Path
    ) -> Path | None:
        if not isinstance(gen, str):
            return None
        handle = db.open_data(db.data_key(symbol, tf, year, gen))
        if handle is None:
            return None
        if isinstance(handle, bytes):
            dest.write_bytes(handle)
            return dest
        source = handle.name
        handle.close()
        try:
            os.replace(source, dest)
        except OSError:
            return None
        return dest

    def quarantined(self) -> list[Damage]:
        """Everything moved to the quarantine folder so far, oldest first."""
        out = []
        for path in sorted(self.directory.glob("*/*/*.metadata.json")):
            try:
                rec = json.loads(path.read_text())
                data = rec.get("data_file")
                out.append(
                    Damage(
                        str(rec["symbol"]),
                        str(rec["timeframe"]),
                        int(rec["year"]),
                        str(rec.get("reason", "")),
                        path.parent / data if data else None,
                        pd.Timestamp(rec["detected_at"]),
                    )
                )
            except (OSError, ValueError, KeyError, TypeError):
                log.warning("unreadable quarantine record %s", path)
        return sorted(out, key=lambda d: d.detected_at)

    def clear(self) -> int:
        """Delete everything in the quarantine folder; returns the records removed."""
        count = len(self.quarantined())
        shutil.rmtree(self.directory, ignore_errors=True)
        return count


class Integrity:
    """Verification, garbage collection and size-limit eviction of a cache's partitions."""

    def __init__(
        self,
        db: Backend,
        catalog: Catalog,
        quarantine: Quarantine,
        load_rows: LoadRows,
        max_size_bytes: int,
    ) -> None:
        self._db = db
        self._catalog = catalog
        self._quarantine = quarantine
        self._load_rows = load_rows
        self.max_size_bytes = max_size_bytes

    def verify(
        self, progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None
    ) -> list[Damage]:
        """Check every partition fully; quarantine damaged ones; clean up leftovers.

        Returns every quarantined item (those found now and earlier), oldest first. Leftovers
        of interrupted writes (unreferenced data files) are removed. ``progress`` wraps the
        iteration over partitions (e.g. ``tqdm``).
        """
        keys = list(self._db.keys("p|"))
        for key in progress(keys) if progress else keys:
            found = _split_key(key)
            if found is None:
                self._db.delete(key)
                continue
            symbol, tf, year = found
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CacheCorruptionWarning)
                self._check_partition(symbol, tf, year)
        self.collect_garbage()
        return self._quarantine.quarantined()

    def _check_partition(self, symbol: str, tf: str, year: int) -> None:
        with self._db.transact():
            meta_key = self._db.meta_key(symbol, tf, year)
            try:
                meta = self._db.get_json(meta_key)
            except ValueError as exc:
                self._quarantine.quarantine(symbol, tf, year, None, f"unreadable metadata ({exc})")
                return
            if meta is None:
                return
            if not isinstance(meta, dict) or not isinstance(meta.get("generation"), str):
                self._quarantine.quarantine(symbol, tf, year, None, "unreadable metadata")
                return
            self._load_rows(symbol, tf, year, meta)  # quarantines on damage

    def collect_garbage(self) -> int:
        """Remove data generations and access records no metadata refers to; fix the index."""
        db = self._db
        removed = 0
        with db.transact():
            live: dict[tuple[str, str, int], str] = {}
            for key in list(db.keys("p|")):
                found = _split_key(key)
                try:
                    gen = (db.get_json(key) or {}).get("generation")
                except (ValueError, AttributeError):
                    continue
                if found and isinstance(gen, str):
                    live[found] = gen
            for key in list(db.keys("d|")) + list(db.keys("a|")):
                found = _split_key(key)
                gen = key.split("|")[4] if key.startswith("d|") and key.count("|") == 4 else None
                if found is None or found not in live or (gen is not None and live[found] != gen):
                    db.delete(key)
                    removed += 1
            self._fix_index(live)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            db.dc.check(fix=True, retry=True)  # files left by writers killed mid-transaction
        return removed

    def _fix_index(self, live: dict[tuple[str, str, int], str]) -> None:
        db = self._db
        wanted: dict[tuple[str, str], set[int]] = {}
        for symbol, tf, year in live:
            wanted.setdefault((symbol, tf), set()).add(year)
        for key in list(db.keys("s|")):
            _, symbol, tf = key.split("|", 2)
            if (symbol, tf) not in wanted:
                db.delete(key)
        for (symbol, tf), years in wanted.items():
            try:
                record = db.get_json(db.series_key(symbol, tf)) or {}
                stored = set(record.get("years", []))
            except (ValueError, AttributeError):
                stored = set()
            if stored != years:
                self._catalog.index_years(
                    symbol, tf, add=sorted(years), remove=sorted(stored - years)
                )

    def enforce_limit(self, keep: set[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
        """Evict least-recently-used partitions (never those in ``keep``) until under the limit."""
        db = self._db
        if db.used_bytes() <= self.max_size_bytes:
            return []
        atimes: dict[tuple[str, str, int], float] = {}
        for key in list(db.keys("p|")):
            found = _split_key(key)
            if found is not None and found not in keep:
                atimes[found] = 0.0
        for key in list(db.keys("a|")):
            found = _split_key(key)
            if found in atimes:
                stamp = db.dc.get(key)
                atimes[found] = float(stamp) if isinstance(stamp, (int, float)) else 0.0
        evicted = []
        for part, _ in sorted(atimes.items(), key=lambda item: item[1]):
            if db.used_bytes() <= self.max_size_bytes:
                break
            with db.transact():
                stale = self._catalog.drop_partition(*part, uncover=True)
            if stale:
                db.delete(stale)
            evicted.append(part)
            log.info("cache full: evicted %s %s %s", *part)
        return evicted
