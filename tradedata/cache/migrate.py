"""Opening a cache written before series had a source (tradedata up to issue 13).

Such a cache keys every series by ``(symbol, timeframe)`` alone. Those keys are exactly the
keys of the symbol's default source (:func:`tradedata.identity.default_source`), so it opens
as it is and every bar stays readable. :func:`migrate` then runs once per cache directory (a
marker key records it) and makes each old series say what it is:

- a series whose bars all came from providers of one *other* source (e.g. ``kraken`` for
  ``BTC/USDT``, ``alpaca``'s IEX feed for ``AAPL``) moves, bars, coverage and all, to that
  source's keys, so it is never continued with the default venue's bars;
- every partition's metadata gains ``source`` and the price ``basis`` of each provider whose
  basis is known (:data:`tradedata.identity.PROVIDER_BASIS`);
- a series that mixes sources (what failover used to do) stays the default source's, every
  bar kept, and its metadata lists the sources in ``mixed_sources`` so it can be told apart.

Nothing is deleted; a partition whose data cannot be read is left to the usual damage
handling (it is quarantined on read).
"""

from __future__ import annotations

import logging
import sqlite3
import time

import diskcache

from tradedata.cache.backend import Backend
from tradedata.cache.catalog import Catalog
from tradedata.cache.layout import identity_fields, store_name
from tradedata.identity import default_source, source_of_provider

__all__ = ["MARKER", "migrate"]

log = logging.getLogger("tradedata.cache")

#: Key recording that the cache's series carry their source.
MARKER = "v|series-identity"


def migrate(db: Backend, catalog: Catalog) -> int:
    """Give every pre-identity series its source (see the module text); returns series moved.

    Runs once per cache (a no-op when :data:`MARKER` is set or the store is read-only).
    """
    try:
        if db.dc.get(MARKER) is not None:
            return 0
        return _migrate_all(db, catalog)
    except (sqlite3.OperationalError, diskcache.Timeout, OSError) as exc:  # read-only, busy
        log.warning("cache: could not record the series' sources yet (%s)", exc)
        return 0


def _migrate_all(db: Backend, catalog: Catalog) -> int:
    moved = 0
    with db.transact():
        if db.dc.get(MARKER) is not None:
            return 0
        for key in list(db.keys("s|")):
            _, name, tf = key.split("|", 2)
            if "@" in name:
                continue
            moved += _migrate_series(db, catalog, name, tf)
        db.dc.set(MARKER, 1, retry=True)
    if moved:
        log.info("cache: %d series moved to the source their bars came from", moved)
    return moved


def _migrate_series(db: Backend, catalog: Catalog, symbol: str, tf: str) -> int:
    metas: dict[int, dict] = {}
    for year in catalog.years(symbol, tf):
        try:
            meta = db.get_json(db.meta_key(symbol, tf, year))
        except ValueError:
            continue
        if isinstance(meta, dict):
            metas[year] = meta
    providers = sorted(
        {p["provider"] for m in metas.values() for p in m.get("providers", []) if "provider" in p}
    )
    sources = sorted({source_of_provider(p, symbol, tf) for p in providers})
    target = sources[0] if len(sources) == 1 else default_source(symbol)
    name = store_name(symbol, target)
    for year, meta in metas.items():
        meta.update(identity_fields(name, providers, meta))
        if len(sources) > 1:
            meta["mixed_sources"] = sources
        if name == symbol:
            db.set_json(db.meta_key(symbol, tf, year), meta)
    if name == symbol:
        return 0
    _move(db, catalog, symbol, name, tf, metas)
    return 1


def _move(
    db: Backend, catalog: Catalog, old: str, new: str, tf: str, metas: dict[int, dict]
) -> None:
    """Inside the transaction: copy a series' partitions and coverage to ``new``'s keys."""
    for year, meta in metas.items():
        gen = meta.get("generation")
        handle = db.open_data(db.data_key(old, tf, year, gen)) if isinstance(gen, str) else None
        if handle is None:
            continue
        blob = handle if isinstance(handle, bytes) else handle.read()
        if not isinstance(handle, bytes):
            handle.close()
        db.put_data(db.data_key(new, tf, year, gen), blob)  # type: ignore[arg-type]
        db.set_json(db.meta_key(new, tf, year), meta)
        db.dc.set(db.atime_key(new, tf, year), time.time(), retry=True)
        catalog.index_years(new, tf, add=[year])
        db.delete(db.meta_key(old, tf, year), db.atime_key(old, tf, year))
        db.delete(db.data_key(old, tf, year, gen))  # type: ignore[arg-type]
    spans = db.get_json(db.coverage_key(old, tf))
    if spans is not None:
        db.set_json(db.coverage_key(new, tf), spans)
    db.delete(db.series_key(old, tf), db.coverage_key(old, tf))
