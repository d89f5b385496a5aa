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
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from tradedata.cache.backend import Backend
from tradedata.cache.catalog import Catalog
from tradedata.cache.layout import (
    CacheCorruptionWarning,
    CacheLimitWarning,
    Damage,
    display_name,
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


def _announce(message: str) -> None:
    log.warning(message)
    warnings.warn(message, CacheCorruptionWarning, stacklevel=6)


def _stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"-{time.time_ns() % 10**9:09d}"


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
        #: Damage found through this object, newest last (``verify`` reports it even when the
        #: quarantine folder could not take its record).
        self.found: list[Damage] = []

    def quarantine(
        self, symbol: str, tf: str, year: int, seen: dict | None, reason: str
    ) -> Damage | None:
        """Move a damaged partition aside; None if it was replaced meanwhile (not damaged).

        The partition leaves the store with its coverage, so it is fetched again. When the
        quarantine folder cannot be written (it is a file, the disk is full), the damaged data
        is dropped all the same and a log record says why it was not kept. On a cache opened
        for reading only nothing moves: the damage is reported and the partition left out.
        """
        db = self._db
        shown = display_name(symbol)  # "BYBIT:BTC/USDT" for another source than the default
        if db.read_only is not None:
            _announce(f"cache partition {shown} {tf} {year} is damaged ({reason}); the cache "
                      "can only be read, so it stays as it is and is left out")  # fmt: skip
            return self._note(Damage(shown, tf, year, reason, None, pd.Timestamp.now(tz="UTC")))
        meta_key = db.meta_key(symbol, tf, year)
        seen_gen = (seen or {}).get("generation")
        with db.transact():
            if self._catalog.generation(meta_key) != seen_gen:
                return None
            raw_meta = db.dc.get(meta_key)
            stamp = _stamp()
            folder = self.directory / file_safe(symbol) / timeframe_dir(tf)
            base = folder / f"{year}-{stamp}"
            orphans = [] if isinstance(seen_gen, str) else list(db.keys(f"d|{symbol}|{tf}|{year}|"))
            kept = None
            try:
                folder.mkdir(parents=True, exist_ok=True)
                kept = self._move_data(db, symbol, tf, year, seen_gen, base.with_suffix(".gz"))
                for key in orphans if kept is None else ():  # data left by a lost metadata row
                    kept = self._move_data(
                        db, symbol, tf, year, key.split("|")[4], base.with_suffix(".gz")
                    )
            except OSError as exc:
                log.warning("cannot keep damaged data in %s (%s); it is dropped", folder, exc)
            record = {
                "symbol": shown,
                "timeframe": tf,
                "year": year,
                "reason": reason,
                "detected_at": iso(time.time_ns()),
                "data_file": kept.name if kept else None,
                "metadata": seen if seen and seen_gen else raw_meta,
            }
            self._write_record(folder, f"{year}-{stamp}", record)
            stale = self._catalog.drop_partition(symbol, tf, year, uncover=True)
            db.delete(*([stale] if stale else []), *orphans)
        _announce(
            f"cache partition {shown} {tf} {year} is damaged ({reason}); moved to "
            f"{folder}, it will be fetched again"
        )
        return self._note(
            Damage(shown, tf, year, reason, kept, pd.Timestamp(record["detected_at"]))
        )

    def _note(self, damage: Damage) -> Damage:
        self.found.append(damage)
        del self.found[:-1000]
        return damage

    def _write_record(self, folder: Path, name: str, record: dict) -> None:
        """Write a quarantine record; a quarantine folder that cannot be written is logged."""
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{name}.metadata.json").write_text(dumps(record))
        except OSError as exc:
            log.warning("cannot write the quarantine record in %s: %s", folder, exc)

    def repair_index(self, symbol: str, tf: str) -> list[int]:
        """Make the series index (``s|``) agree with the partitions' metadata rows (``p|``).

        A year the index lists without a metadata row lost its partition: it is quarantined
        (its data file kept, its coverage removed, so it is fetched again). A metadata row
        the index does not list (an unreadable or incomplete index) is put back, and recorded
        in the quarantine folder as found. Returns the years whose bars were lost.
        """
        db = self._db
        key = db.series_key(symbol, tf)
        with db.transact():
            try:
                record = db.get_json(key)
                indexed = {int(y) for y in (record or {}).get("years", [])}
            except (ValueError, AttributeError, TypeError):
                indexed, record = set(), {"unreadable": str(db.dc.get(key))[:200]}
            stored = set(db.partition_years(symbol, tf))
            if indexed == stored and (record is None) == (not stored):
                return []
            lost = sorted(indexed - stored)
            for year in lost:
                self.quarantine(symbol, tf, year, None, "its metadata row is missing")
            for year in sorted(stored - indexed):
                reason = "missing from the series index; the index was rebuilt, no bars lost"
                self._write_record(
                    self.directory / file_safe(symbol) / timeframe_dir(tf),
                    f"{year}-{_stamp()}",
                    {"symbol": display_name(symbol), "timeframe": tf, "year": year,
                     "reason": reason, "detected_at": iso(time.time_ns()), "data_file": None,
                     "metadata": record},
                )  # fmt: skip
                _announce(
                    f"cache series index of {display_name(symbol)} {tf} did not list {year}; "
                    "rebuilt"
                )
            db.delete(key)
            self._catalog.index_years(symbol, tf, add=sorted(stored))
        return lost

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
        out: list[Damage] = []
        if not self.directory.is_dir():  # missing, or a file where the folder should be
            return out
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
        if self.directory.is_dir():
            shutil.rmtree(self.directory, ignore_errors=True)
        elif self.directory.exists():
            self.directory.unlink()
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
        self._pins: list[tuple[str, str, int, int]] = []
        self._pins_lock = threading.Lock()

    @contextmanager
    def pinned(self, symbol: str, tf: str, first_year: int, last_year: int) -> Iterator[None]:
        """Inside the block, eviction never removes a partition of the series in those years."""
        pin = (symbol, tf, first_year, last_year)
        with self._pins_lock:
            self._pins.append(pin)
        try:
            yield
        finally:
            with self._pins_lock:
                self._pins.remove(pin)

    def _is_pinned(self, part: tuple[str, str, int]) -> bool:
        symbol, tf, year = part
        with self._pins_lock:
            return any(p[0] == symbol and p[1] == tf and p[2] <= year <= p[3] for p in self._pins)

    def verify(
        self, progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None
    ) -> list[Damage]:
        """Check every partition fully; quarantine damaged ones; clean up leftovers.

        Returns every quarantined item (those found now and earlier), oldest first. Leftovers
        of interrupted writes (unreferenced data files) are removed. ``progress`` wraps the
        iteration over partitions (e.g. ``tqdm``).
        """
        self._db.writable()
        mark = len(self._quarantine.found)
        keys = list(self._db.keys("p|"))
        series: set[tuple[str, str]] = set()
        for key in progress(keys) if progress else keys:
            found = _split_key(key)
            if found is None:
                self._db.delete(key)
                continue
            symbol, tf, year = found
            series.add((symbol, tf))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CacheCorruptionWarning)
                self._check_partition(symbol, tf, year)
        for key in list(self._db.keys("s|")):
            _, symbol, tf = key.split("|", 2)
            series.add((symbol, tf))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CacheCorruptionWarning)
            for symbol, tf in sorted(series):
                self._quarantine.repair_index(symbol, tf)
        self.collect_garbage()
        recorded = self._quarantine.quarantined()
        # found now, but the quarantine folder could not take the record: reported all the same
        found_now = self._quarantine.found[mark:] if mark <= len(self._quarantine.found) else []
        return recorded + [d for d in found_now if d not in recorded]

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
            if self._is_pinned(part):  # the current request needs it
                continue
            with db.transact():
                stale = self._catalog.drop_partition(*part, uncover=True)
            if stale:
                db.delete(stale)
            evicted.append(part)
            log.info("cache full: evicted %s %s %s", *part)
        used = db.used_bytes()
        if used > self.max_size_bytes:
            message = (
                f"the cache size limit ({self.max_size_bytes / 1e9:g} GB, CACHE_MAX_SIZE_GB) is "
                f"too small for this request: the partitions it needs take {used / 1e9:.3g} GB; "
                "they are kept and the limit is exceeded (raise the limit)"
            )
            log.warning(message)
            warnings.warn(message, CacheLimitWarning, stacklevel=4)
        return evicted
